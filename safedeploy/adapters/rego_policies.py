"""Team policies as code: Rego files under `policies/`, evaluated embedded with regopy.

Like conftest, each file contributes `deny` rules in `package safedeploy`; every message a
rule produces becomes a failed release rule named after its file. Each file runs in its own
interpreter so a denial is always attributed to the file that made it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from safedeploy.domain.catalog import Service
from safedeploy.domain.layout import POLICIES
from safedeploy.domain.policy import RuleResult, denial_rules, policy_input
from safedeploy.domain.slo import ServiceStatus
from safedeploy.errors import BadInputError

QUERY = "data.safedeploy.deny"


@dataclass(frozen=True)
class RegoPolicies:
    modules: tuple[tuple[str, str], ...]  # (display name, source)

    @classmethod
    def load(cls, state: Path) -> RegoPolicies:
        folder = state / POLICIES
        if not folder.is_dir():
            return cls(())
        modules = []
        for path in sorted(folder.glob("*.rego")):
            try:
                modules.append((f"{POLICIES}/{path.name}", path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                raise BadInputError(f"{POLICIES}/{path.name}: cannot read: {exc}") from None
        policies = cls(tuple(modules))
        policies.check()
        return policies

    def check(self) -> None:
        """Parse every module once up front, so a broken file fails before any decision."""
        for name, source in self.modules:
            self._interpreter(name, source)

    def rules_for(
        self, service: Service, status: ServiceStatus, freeze_until: datetime | None, at: datetime
    ) -> tuple[RuleResult, ...]:
        """The team's `deny` rules on one service's evaluation, as failed release rules."""
        return denial_rules(self.denials(policy_input(service, status, freeze_until, at)))

    def denials(self, document: Mapping[str, Any]) -> list[tuple[str, str]]:
        if not self.modules:
            return []
        from regopy import RegoError

        term = json.dumps(document, allow_nan=False)
        found: list[tuple[str, str]] = []
        for name, source in self.modules:
            interpreter = self._interpreter(name, source)
            interpreter.set_input_term(term)
            try:
                output = interpreter.query(QUERY)
            except RegoError as exc:
                raise BadInputError(f"{name}: evaluation failed: {_first_line(exc)}") from None
            found.extend((name, message) for message in _messages(output))
        return found

    @staticmethod
    def _interpreter(name: str, source: str) -> Any:
        from regopy import Interpreter, RegoError

        interpreter = Interpreter()
        try:
            interpreter.add_module(name, source)
        except RegoError as exc:
            raise BadInputError(f"{name}: invalid Rego: {_first_line(exc)}") from None
        return interpreter


def _messages(output: Any) -> list[str]:
    try:
        data = json.loads(str(output))
    except ValueError:
        return [f"unreadable policy output: {str(output)[:200]}"]
    messages: list[str] = []
    for expression in data.get("expressions", []) if isinstance(data, dict) else []:
        items = expression if isinstance(expression, list) else [expression]
        messages.extend(str(item) for item in items if item not in (None, False))
    return sorted(set(messages))


def _first_line(exc: Exception) -> str:
    text = str(exc)
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("(errormsg"):
            return stripped.removeprefix("(errormsg").strip(" )").split(":", 1)[-1]
    return " ".join(text.split())[:200]

"""`safedeploy validate --env-repo`: every service's target file, checked as it is now.

For each service the environment repository is read at its default branch: the version
must be found, an edit of it must touch that one value and nothing else, and a Rollout
must take a pause. What fails is named in one line (file, line, field), as reconcile and
approve would name it, but before anything burns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safedeploy.adapters.target_edits import check_target
from safedeploy.domain.catalog import Catalog
from safedeploy.domain.versions import TargetCheck
from safedeploy.errors import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_DECIDE,
    EXIT_OK,
    BadInputError,
    SafedeployError,
)
from safedeploy.usecases.catalog import validate
from safedeploy.usecases.context import Context


@dataclass(frozen=True)
class TargetReport:
    service: str
    check: TargetCheck | None = None
    error: str | None = None
    # The repo could not be read: nothing is known about the file (exit 3, not 2).
    unreachable: bool = False


@dataclass(frozen=True)
class TargetValidation:
    catalog: Catalog
    reports: tuple[TargetReport, ...]

    @property
    def exit_code(self) -> int:
        if any(r.error and not r.unreachable for r in self.reports):
            return EXIT_BAD_INPUT
        return EXIT_CANNOT_DECIDE if any(r.unreachable for r in self.reports) else EXIT_OK

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.exit_code == EXIT_OK,
            "targets": [
                {
                    "service": r.service,
                    "ok": r.error is None,
                    "error": r.error,
                    **(r.check.model_dump() if r.check else {}),
                }
                for r in self.reports
            ],
        }


def validate_targets(ctx: Context, paths: Sequence[Path] = ()) -> TargetValidation:
    """The catalog, then each service's target file in its environment repo, now."""
    catalog = validate(ctx, paths)
    reports: list[TargetReport] = []
    for service in catalog.services:
        try:
            check = check_target(service.spec.target, ctx.env_repos.synced(service).read_file)
        except BadInputError as exc:  # no repo configured, or the file refuses
            reports.append(TargetReport(service.name, error=_without_name(exc, service.name)))
        except SafedeployError as exc:
            why = _without_name(exc, service.name)
            reports.append(TargetReport(service.name, error=why, unreachable=True))
        else:
            reports.append(TargetReport(service.name, check=check))
    return TargetValidation(catalog, tuple(reports))


def _without_name(exc: SafedeployError, service: str) -> str:
    """The reason; the report names the service once, and some reasons start with it."""
    return str(exc).removeprefix(f"{service}: ")

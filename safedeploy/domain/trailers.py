"""The Git vocabulary safedeploy writes and reads back: trailers and branch names.

Commits in the state repository and in environment repositories carry these trailers so
that `history` can list decisions and a retried approval finds its earlier push; one
definition keeps the writer and every reader in step.
"""

from __future__ import annotations

import re
from typing import Final

RUN: Final = "Safedeploy-Run"
SERVICE: Final = "Safedeploy-Service"
PROPOSAL: Final = "Safedeploy-Proposal"
INCIDENT: Final = "Safedeploy-Incident"
RELEASE: Final = "Safedeploy-Release"

BRANCH_PREFIX: Final = "safedeploy/"


def trailer(name: str, value: str) -> str:
    return f"{name}: {value}"


def values(message: str, name: str) -> tuple[str, ...]:
    """Every value of trailer `name` in `message`, each a whole line of its own."""
    pattern = re.compile(rf"^{re.escape(name)}:[ \t]*(?P<value>\S+)[ \t]*$", re.MULTILINE)
    return tuple(m.group("value") for m in pattern.finditer(message))


def grep_pattern(name: str, value: str | None = None) -> str:
    """A `git log --grep` pattern for the trailer (any value when `value` is None).

    Values are file-name-safe ids (lowercase letters, digits, '-'), which mean themselves in
    git's basic regular expressions, so they go in as they are.
    """
    return f"^{name}: {value}$" if value is not None else f"^{name}:"


def branch_for(proposal_id: str) -> str:
    """`safedeploy/<proposal-id>`: the environment-repo branch of one proposal."""
    return f"{BRANCH_PREFIX}{proposal_id}"


def proposal_of_branch(branch: str) -> str | None:
    proposal_id = branch.removeprefix(BRANCH_PREFIX)
    return proposal_id if branch.startswith(BRANCH_PREFIX) and proposal_id else None

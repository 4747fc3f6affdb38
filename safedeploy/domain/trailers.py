"""The Git vocabulary safedeploy writes and reads back: trailers and branch names.

Commits in the state repository and in environment repositories carry these trailers so
that `history` can list decisions, a retried approval finds its earlier push and `audit
verify` knows what each state commit recorded of the audit log; one definition keeps the
writer and every reader in step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from safedeploy.domain.audit_anchors import AuditHead
from safedeploy.domain.one_line import one_line
from safedeploy.errors import BadInputError

RUN: Final = "Safedeploy-Run"
SERVICE: Final = "Safedeploy-Service"
PROPOSAL: Final = "Safedeploy-Proposal"
INCIDENT: Final = "Safedeploy-Incident"
RELEASE: Final = "Safedeploy-Release"

BRANCH_PREFIX: Final = "safedeploy/"
# Any line that starts like one of ours, whatever the name: `history` greps for these.
_OURS: Final = re.compile(r"^\s*safedeploy-[A-Za-z-]*\s*:", re.IGNORECASE)


def trailer(name: str, value: str) -> str:
    return f"{name}: {one_line(value, f'{name} trailer')}"


def message(subject: str, body: Sequence[str], fields: Sequence[tuple[str, str]]) -> str:
    """A commit message: the subject, the body lines, then one trailer per (name, value).

    The commands refuse control characters in names and reasons where they are typed; this
    is the last guard before git, so that no text given to a commit can add a line of its
    own or pass for one of the trailers `history` reads back.
    """
    for line in (subject, *body):
        one_line(line, "commit message")
        if _OURS.match(line):
            raise BadInputError(
                f"commit message: {line[:60]!r} would read as a trailer; "
                "names and reasons may not start with 'Safedeploy-...:'"
            )
    lines = [trailer(name, value) for name, value in fields]
    return "\n".join([subject, "", *body, "", *lines, ""])


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


# --- the audit heads a state commit records (see domain/audit_anchors.py) --------------

AUDIT: Final = "Safedeploy-Audit"
_HEAD = re.compile(
    rf"^{AUDIT}:[ \t]*(?P<stream>[a-z]+) lines=(?P<lines>[0-9]+) bytes=(?P<size>[0-9]+) "
    r"sha256=(?P<hash>[0-9a-f]{64})[ \t]*$",
    re.MULTILINE,
)


def audit_head(head: AuditHead) -> str:
    return trailer(AUDIT, f"{head.stream} lines={head.lines} bytes={head.size} sha256={head.hash}")


def audit_heads(message: str) -> tuple[AuditHead, ...]:
    """The heads recorded in the message's trailer block, its last paragraph: a line that
    only looks like a trailer higher up in the body records nothing."""
    block = message.rstrip().rsplit("\n\n", 1)[-1]
    return tuple(
        AuditHead(m["stream"], int(m["lines"]), int(m["size"]), m["hash"])
        for m in _HEAD.finditer(block)
    )


def with_audit_heads(message: str, heads: Sequence[AuditHead]) -> str:
    """`message` with its recorded heads replaced by `heads`, in its trailer block.

    Replaced, not added: a commit replayed onto a concurrent push records the heads of the
    combined logs, never those of the commits it was made from.
    """
    kept = [line for line in message.rstrip("\n").split("\n") if not line.startswith(f"{AUDIT}:")]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, *(audit_head(h) for h in heads), ""])

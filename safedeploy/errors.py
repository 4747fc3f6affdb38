"""One error family for everything a user can cause or the world can refuse.

The CLI is the only place that catches these; it prints the message on one line and exits
with the code DESIGN.md documents. Library code raises, it never exits.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_BLOCKED = 1
EXIT_BAD_INPUT = 2
EXIT_CANNOT_DECIDE = 3


class SafedeployError(Exception):
    """Root of every expected failure."""

    exit_code = EXIT_BAD_INPUT


class BadInputError(SafedeployError):
    """Invalid file, argument or configuration: exit 2, nothing written."""

    exit_code = EXIT_BAD_INPUT


class CatalogError(BadInputError):
    """One or more services/*.yaml violations, each `file:line: field.path: message`."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__("\n".join(violations))


class StateFileError(BadInputError):
    """A file of the state directory that cannot be read or is not what its name says.

    `relative` is the file, relative to the state directory, so a caller can tell whose
    file it is without reading the message.
    """

    def __init__(self, relative: str, message: str) -> None:
        self.relative = relative
        super().__init__(message)


class NotAuthorizedError(BadInputError):
    """Someone who is not an approver for the service tried to approve."""


class IllegalTransitionError(BadInputError):
    """An incident or proposal was asked to move along an edge the state machine lacks."""


class StateLockedError(SafedeployError):
    """Another run holds the state directory lock past the wait bound."""

    exit_code = EXIT_CANNOT_DECIDE


class CannotDecideError(SafedeployError):
    """The data needed for a decision is missing or its source failed: exit 3."""

    exit_code = EXIT_CANNOT_DECIDE


class GitError(SafedeployError):
    """The environment repository refused or could not be reached."""

    exit_code = EXIT_CANNOT_DECIDE


class GitHubError(SafedeployError):
    """The GitHub API refused or failed."""

    exit_code = EXIT_CANNOT_DECIDE


class StateWriteError(SafedeployError):
    """The disk refused a write (full, read-only, not permitted): exit 3, old file kept."""

    exit_code = EXIT_CANNOT_DECIDE


# What the disk, not the program, causes: mapped to StateWriteError wherever it surfaces.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def disk_fault(exc: OSError, path: object = None) -> StateWriteError | None:
    """The one-line StateWriteError for a disk refusal; None for any other OSError."""
    if exc.errno not in DISK_ERRNOS:
        return None
    where = path if path is not None else exc.filename
    name = errno.errorcode.get(exc.errno or 0, "")
    return StateWriteError(
        f"cannot write {where}: {exc.strerror} ({name}); nothing was replaced, "
        "the state is as before this run"
    )

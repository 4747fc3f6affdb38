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
from typing import TYPE_CHECKING

from safedeploy.domain.catalog import Catalog
from safedeploy.errors import (
    EXIT_BAD_INPUT,
    EXIT_CANNOT_DECIDE,
    EXIT_OK,
    BadInputError,
    SafedeployError,
)

if TYPE_CHECKING:
    from safedeploy.adapters.target_edits import TargetCheck


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


def validate_targets(state: Path, paths: Sequence[Path] = ()) -> TargetValidation:
    from safedeploy.adapters.settings import load_settings
    from safedeploy.adapters.target_edits import check_target
    from safedeploy.adapters.target_versions import EnvRepos
    from safedeploy.usecases.catalog import validate

    catalog = validate(state, paths)
    repos = EnvRepos(load_settings(state), state)
    reports: list[TargetReport] = []
    for service in catalog.services:
        try:
            check = check_target(service.spec.target, repos.synced(service).read_file)
        except BadInputError as exc:  # no repo configured, or the file refuses
            reports.append(TargetReport(service.name, error=str(exc)))
        except SafedeployError as exc:
            reports.append(TargetReport(service.name, error=str(exc), unreachable=True))
        else:
            reports.append(TargetReport(service.name, check=check))
    return TargetValidation(catalog, tuple(reports))

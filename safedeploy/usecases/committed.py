"""The record a person's decision is checked against: the state repository at HEAD.

Who may decide (the catalog's approvers and owners) and how identities are proven (the
`[approvals]` table) are read as committed, never from the work tree or the environment:
an uncommitted edit that made someone an approver, or a variable that turned
verification off, would leave no trace. Without a Git work tree there is no record, and
only declared identities (`approvals.identity = "declared"`) are possible.
"""

from __future__ import annotations

from dataclasses import dataclass

from safedeploy.adapters.settings import Settings, parse_settings
from safedeploy.domain import layout
from safedeploy.domain.catalog import Service
from safedeploy.errors import BadInputError
from safedeploy.usecases.context import Context


@dataclass(frozen=True)
class Record:
    """HEAD of the state repository (None when the state directory is not a Git work
    tree) and the settings its `safedeploy.toml` holds, without environment overrides."""

    head: str | None
    settings: Settings

    @property
    def declared(self) -> bool:
        return self.settings.approvals.identity == "declared"

    @property
    def where(self) -> str:
        return f"as committed at {self.head[:12]}" if self.head else "on disk"


def read_record(ctx: Context) -> Record:
    repo = ctx.state_repo
    if not repo.is_work_tree():
        # Nothing is committed: the file on disk (its [approvals] has no environment
        # overrides), and only declared identities.
        return Record(None, ctx.settings)
    head = repo.head()
    text = repo.committed_text(layout.CONFIG) if head else None
    origin = f"{layout.CONFIG} at {head[:12]}" if head else layout.CONFIG
    return Record(head, parse_settings(text, origin, {}))


def committed_service(ctx: Context, record: Record, name: str) -> Service:
    """The service's definition as the record holds it; refused when it holds none."""
    from safedeploy.adapters.catalog_files import load_catalog, load_service_text

    files = layout.service_files(name)
    if record.head is None:
        for relative in files:
            found = ctx.store.resolve(relative)
            if found.is_file():
                service = load_catalog([found]).get(name)
                if service is not None:
                    return service
        raise BadInputError(f"service {name!r} has no {files[0]}")
    repo = ctx.state_repo
    for relative in files:
        text = repo.committed_text(relative)
        if text is not None:
            return load_service_text(text, f"{relative} {record.where}")
    raise BadInputError(
        f"service {name!r} has no {files[0]} {record.where} in the state repository"
        + (" (it is only in the work tree: commit it)" if repo.differs_from_head(files[0]) else "")
    )


def committed_text(ctx: Context, record: Record, relative: str) -> str | None:
    """A file of the state directory as the record holds it."""
    if record.head is None:
        path = ctx.store.resolve(relative)
        return path.read_text(encoding="utf-8") if path.is_file() else None
    return ctx.state_repo.committed_text(relative)


def uncommitted_note(ctx: Context, record: Record, name: str) -> str:
    """`; services/x.yaml has uncommitted changes, which do not count`, when it has."""
    if record.head is None:
        return ""
    relative = layout.service_files(name)[0]
    if not ctx.state_repo.differs_from_head(relative):
        return ""
    return f"; {relative} has uncommitted changes, which do not count"

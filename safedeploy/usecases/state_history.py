"""The state directory's own Git history: commit each run's decisions, push, list them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safedeploy.adapters.state_repo import DecisionCommit, StateRepo
from safedeploy.domain import layout
from safedeploy.errors import BadInputError


@dataclass(frozen=True)
class StateCommit:
    sha: str | None
    pushed: str | None
    note: str | None = None

    def line(self) -> str:
        if self.note:
            return self.note
        done = f"state committed as {self.sha[:12]}" if self.sha else "no state change to commit"
        return f"{done}; {self.pushed}" if self.pushed else done


def record_run(state: Path, message: str, *, commit: bool, push: bool, remote: str) -> StateCommit:
    """Commit what this run (or an interrupted earlier one) left; push when asked."""
    if not commit:
        return StateCommit(None, None, "state not committed (--no-commit)")
    repo = StateRepo(state)
    if not repo.is_work_tree():
        if push:
            raise BadInputError(f"--push: {state} is not a Git work tree")
        return StateCommit(None, None, None)
    sha = repo.commit(message)
    pushed = repo.push(remote, lambda: _combined_problems(state)) if push else None
    return StateCommit(sha, pushed)


def _combined_problems(state: Path) -> list[str]:
    """What two runs' state, put together, must never be: a broken chain, two incidents."""
    from safedeploy.adapters.store import StateStore
    from safedeploy.domain.incidents import is_active
    from safedeploy.usecases.audit_replay import verify

    problems = [
        f"{layout.audit_file(r.stream)}:{r.line}: {r.problem}" for r in verify(state) if not r.ok
    ]
    active: dict[str, list[str]] = {}
    for incident in StateStore(state).load_incidents().items:
        if is_active(incident):
            active.setdefault(incident.service, []).append(incident.id)
    problems += [
        f"two active incidents for {service}: {', '.join(ids)}"
        for service, ids in sorted(active.items())
        if len(ids) > 1
    ]
    return problems


def history(state: Path, service: str | None) -> list[DecisionCommit]:
    repo = StateRepo(state)
    if not repo.is_work_tree():
        raise BadInputError(f"{state} is not a Git work tree; its decisions have no history")
    return repo.decisions(service)


def evidence_permalink(state: Path, web_url: str | None, folder: str) -> str | None:
    """`<web_url>/blob/<sha>/<folder>README.md` for the commit that holds the evidence."""
    if not web_url:
        return None
    repo = StateRepo(state)
    if not repo.is_work_tree():
        return None
    sha = repo.head_of(folder)
    if sha is None:
        return None
    return f"{web_url.rstrip('/')}/blob/{sha}/{folder.rstrip('/')}/README.md"

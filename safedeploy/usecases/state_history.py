"""The state directory's own Git history: commit each run's decisions, push, list them."""

from __future__ import annotations

from dataclasses import dataclass

from safedeploy.adapters.audit import STREAMS
from safedeploy.domain import layout
from safedeploy.domain.state_commits import DecisionCommit
from safedeploy.errors import EXIT_OK, BadInputError
from safedeploy.usecases.context import Context


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


def record_run(
    ctx: Context, message: str, *, commit: bool, push: bool, sign: bool = False
) -> StateCommit:
    """Commit what this run (or an interrupted earlier one) left; push when asked.

    `commit` and `push` are the command's flags; `state.commit = false` and
    `state.push = true` in the configuration have the last word. `sign`: the commit is
    signed with the key of the person deciding (see usecases/identity.py).
    """
    config = ctx.settings.state
    push = push or config.push
    if not (commit and config.commit):
        return StateCommit(None, None, "state not committed (--no-commit)")
    repo = ctx.state_repo
    if not repo.is_work_tree():
        if push:
            raise BadInputError(f"--push: {ctx.state} is not a Git work tree")
        return StateCommit(
            None, None, f"{ctx.store.root} is not a Git work tree: nothing committed"
        )
    check_anchored(ctx)
    sha = repo.commit(message, sign=sign)
    pushed = repo.push(config.remote, lambda: _combined_problems(ctx)) if push else None
    return StateCommit(sha, pushed)


def check_anchored(ctx: Context) -> None:
    """Refuse to write on a log that no longer extends what HEAD recorded of it.

    Called under the lock by every command that writes, before it appends a line or rolls
    a logged change forward, and again before committing: a re-sealed or cut log is never
    built upon and never committed as the run's own. One short read per stream, so a run
    pays nothing for the length of the history; `audit verify` checks every commit. With
    the key, each stream's last line must carry its mac, Git or not.
    """
    log = ctx.store.audit_log
    for stream in STREAMS:
        problem = log.head_problem(stream)
        if problem is not None:
            raise BadInputError(
                f"{layout.audit_file(stream)}: last line: {problem}; nothing was changed, run "
                "safedeploy audit verify"
            )
    if not ctx.state_repo.is_work_tree():
        return
    for anchor in ctx.state_repo.anchors(limit=1):
        recorded = {head.stream: head for head in anchor.heads}
        for stream in STREAMS:
            head = recorded.get(stream)
            if head is None:
                continue
            now = log.head_at(stream, head.size)
            if now is None or (now.lines, now.hash) != (head.lines, head.hash):
                raise BadInputError(
                    f"{layout.audit_file(stream)}: not the log state commit "
                    f"{anchor.commit[:12]} recorded ({head.lines} lines, sha256 "
                    f"{head.hash[:12]}): cut or rewritten; nothing was changed, run "
                    "safedeploy audit verify"
                )


def check_recordable(ctx: Context, *, commit: bool, push: bool, sign: bool = False) -> None:
    """Refuse, before anything is pushed or written, what `record_run` would refuse after."""
    config = ctx.settings.state
    committing = commit and config.commit
    if (push or config.push) and committing and not ctx.state_repo.is_work_tree():
        raise BadInputError(f"--push: {ctx.state} is not a Git work tree; nothing was changed")
    if sign and not committing:
        raise BadInputError(
            "--no-commit (or state.commit = false): a signed decision is a signed commit of "
            "the state repository; nothing was changed"
        )


def _combined_problems(ctx: Context) -> list[str]:
    """What two runs' state, put together, must never be: a broken chain, two incidents.

    Read afresh from the files the combination left, not from anything cached before it.
    """
    from safedeploy.adapters.state_repo import StateRepo
    from safedeploy.adapters.store import StateStore
    from safedeploy.domain.incidents import is_active

    store = StateStore(ctx.state, audit_key=ctx.audit_key)
    problems = [
        f"{layout.audit_file(r.stream)}:{r.line}: {r.problem}"
        for r in store.audit_log.verify_all(StateRepo(ctx.state).anchors())
        if not r.ok
    ]
    active: dict[str, list[str]] = {}
    for incident in store.load_incidents().items:
        if is_active(incident):
            active.setdefault(incident.service, []).append(incident.id)
    problems += [
        f"two active incidents for {service}: {', '.join(ids)}"
        for service, ids in sorted(active.items())
        if len(ids) > 1
    ]
    return problems


@dataclass(frozen=True)
class History:
    commits: tuple[DecisionCommit, ...]
    exit_code: int = EXIT_OK


def history(ctx: Context, service: str | None) -> History:
    repo = ctx.state_repo
    if not repo.is_work_tree():
        raise BadInputError(f"{ctx.state} is not a Git work tree; its decisions have no history")
    return History(tuple(repo.decisions(service)))


def evidence_permalink(ctx: Context, folder: str) -> str | None:
    """`<web_url>/blob/<sha>/<folder>README.md` for the commit that holds the evidence."""
    web_url = ctx.settings.state.web_url
    if not web_url:
        return None
    repo = ctx.state_repo
    if not repo.is_work_tree():
        return None
    sha = repo.head_of(folder)
    if sha is None:
        return None
    return f"{web_url.rstrip('/')}/blob/{sha}/{folder.rstrip('/')}/README.md"

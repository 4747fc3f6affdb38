"""`safedeploy demo`: the whole loop on the embedded default, in a throwaway directory.

A catalog, a local environment repo (a bare Git remote with an Argo Rollouts manifest),
healthy traffic, a bad release, a reconcile that detects the fast burn, an incident and a
rollback proposal with evidence, an approval that pushes the rollback branch, and the
report. Each step is handed to `show` as it happens so a newcomer sees what and why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from safedeploy.demo import story
from safedeploy.domain import layout

CONFIG = """\
# Written by `safedeploy demo`: the embedded metrics source and a local environment repo.
[prometheus]
metrics_file = "metrics.om"

[environment]
repo = "env.git"

[approvals]
# No GitHub and no signing key here: who approves is taken as declared, and every record
# of the approval says "identity not verified".
identity = "declared"
"""


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    why: str
    payload: Any = None


def run_demo(directory: Path, show: Callable[[Step], None]) -> Path:
    from safedeploy.adapters.envrepo import EnvRepo, create_repository
    from safedeploy.adapters.store import atomic_write_bytes
    from safedeploy.adapters.templates import example_services
    from safedeploy.domain.layout import STATE_DIRS
    from safedeploy.usecases.approval import approve
    from safedeploy.usecases.catalog import validate
    from safedeploy.usecases.context import Context
    from safedeploy.usecases.reconcile import reconcile
    from safedeploy.usecases.report import report
    from safedeploy.usecases.state_queries import listing

    # Absolute: the environment repo's path is handed to git, which runs elsewhere.
    directory = directory.absolute()
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        from safedeploy.errors import BadInputError

        raise BadInputError(f"{directory}: not empty; the demo needs an empty directory")
    for sub in STATE_DIRS:
        (directory / sub).mkdir(parents=True, exist_ok=True)
    for name, text in example_services().items():
        atomic_write_bytes(directory / name, text.encode())
    atomic_write_bytes(directory / "safedeploy.toml", CONFIG.encode())
    atomic_write_bytes(directory / "metrics.om", "".join(story.openmetrics()).encode())
    create_repository(directory / "env.git", story.env_commits())
    # The demo's own environment: no GitHub, no actor from the shell it runs in.
    ctx = Context(directory, environ={})
    show(
        Step(
            1,
            "The catalog",
            "Three services say what healthy means: SLOs, owners, approvers, where a "
            "rollback lands. The structural policy checks every file.",
            validate(ctx),
        )
    )
    show(
        Step(
            2,
            f"Healthy traffic: reconcile at {_t(story.BEFORE_RELEASE)}",
            "Every SLO is inside its budget and no burn-rate alert fires: nothing to do.",
            reconcile(ctx, story.BEFORE_RELEASE, []),
        )
    )
    show(
        Step(
            3,
            f"A bad release: checkout {story.BAD} ships at {_t(story.RELEASE_AT)}",
            f"The environment repo moved checkout from {story.STABLE} to {story.BAD}; "
            "from then on one request in ten fails.",
        )
    )
    result = reconcile(ctx, story.END, [])
    show(
        Step(
            4,
            f"Reconcile at {_t(story.END)}: fast burn detected",
            "The 1h and 5m windows both burn the budget over 14.4 times too fast: an incident "
            "opens, a rollback to the last stable version from the environment repo's "
            "history is proposed, promotion is blocked, and the evidence is written.",
            result,
        )
    )
    incident = next(d.incident for d in result.decisions if d.service == "checkout")
    if incident is not None:
        readme = directory / layout.incident_evidence(incident.id) / layout.README_DOC
        charts = sorted(p.name for p in readme.parent.glob(layout.CHARTS))
        show(
            Step(
                5,
                f"The evidence a reviewer reads: {readme.relative_to(directory)}",
                f"Its charts are beside it ({', '.join(charts)}): GitHub shows them inline "
                "in the README; here, open them in a browser.",
                readme.read_text(),
            )
        )
    rollback = next(p for p in result.created_proposals if p.endswith("rollback-rollout"))
    approval = approve(ctx, rollback, "alice", story.END)
    diff = ""
    if approval.commit:
        env = EnvRepo(str(directory / "env.git"), directory / ".safedeploy-cache")
        env.sync()
        diff = env.show_commit(approval.commit)
    show(
        Step(
            6,
            f"alice approves {rollback}",
            "The only way a decision reaches production: a branch with one minimal commit "
            "in the environment repo (a pull request with the github provider). ArgoCD "
            "applies it once merged; Argo Rollouts runs it. The demo declares who "
            "approves, so the record says the identity is not verified.",
            (approval, diff),
        )
    )
    show(
        Step(
            7,
            "Where things stand: safedeploy report",
            "The incident records the rollback proposed on its branch; it becomes mitigated "
            "when reconcile sees the change on the environment repo's default branch. "
            "Promotion stays blocked while the burn rates are over the policy's limit; the "
            "block-promotion proposal waits for a human.",
            (report(ctx), listing(ctx)),
        )
    )
    return directory


def _t(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")

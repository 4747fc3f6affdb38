"""The service catalog: what "healthy" means for each service, as its owners write it.

The models are the structural policy. Every service has an owner, at least one SLO, a
rollback strategy and a canary deployment strategy; objectives are plausible ratios or
percents (`domain/objectives.py`); every number is finite and bounded, so that no value
turns detection off; names are safe identifiers. The JSON Schema published in
`safedeploy/schemas/service.schema.json` is generated from these classes.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from safedeploy.domain.durations import Duration, between, parse_duration
from safedeploy.domain.objectives import Objective
from safedeploy.domain.selectors import SelectorText
from safedeploy.errors import BadInputError, CatalogError

API_VERSION = "safedeploy.dev/v1"
_SAFE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# A user (a GitHub login, or a signer's principal such as alice@example.com) or a GitHub
# team as `@org/team-slug`.
_PERSON = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}"
    r"|@[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9][A-Za-z0-9._-]{0,99})$"
)
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_ALERT_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# Set by `generate rules` on every rule of an SLO (Sloth's names included), so a label of
# the same name in a service file would make two SLOs' series collide or lose their keys.
RULE_LABELS = frozenset(
    {"service", "slo", "owner", "sloth_id", "sloth_service", "sloth_slo", "sloth_window"}
)
ALERT_LABELS = frozenset({"sloth_severity"})
# A burn rate of 1000 spends a 30-day budget in 43 minutes, and is every request failing at
# 99.9%; below 0.1 a row fires while the budget would last ten periods.
MIN_FACTOR = 0.1
MAX_FACTOR = 1000.0
MAX_EVENTS = 1_000_000_000


def _safe_name(value: str) -> str:
    if not _SAFE_NAME.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a safe name: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (no '/', '..' or leading '.')"
        )
    return value


def _person(value: str) -> str:
    if not _PERSON.fullmatch(value):
        raise ValueError(f"{value!r} is not a user or team name (a login, or @org/team)")
    return value


def _relative_path(value: str) -> str:
    parts = value.split("/")
    if not value or value.startswith("/") or ".." in parts or "\\" in value or "\0" in value:
        raise ValueError(f"{value!r} must be a relative path inside the repository without '..'")
    return value


def _prometheus_name(value: str) -> str:
    if not _LABEL_NAME.fullmatch(value) or value.startswith("__"):
        raise ValueError(
            f"{value!r} is not a Prometheus label name: letters, digits and '_', "
            "not starting with a digit or '__'"
        )
    return value


def _rule_label(value: str) -> str:
    if _prometheus_name(value) in RULE_LABELS | ALERT_LABELS:
        raise ValueError(f"{value!r} is set by safedeploy on every generated rule")
    return value


def _alert_name(value: str) -> str:
    if not _ALERT_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not an alert name: letters, digits, '_' and ':'")
    return value


SafeName = Annotated[str, AfterValidator(_safe_name)]
LabelName = Annotated[str, AfterValidator(_rule_label)]
AnnotationName = Annotated[str, AfterValidator(_prometheus_name)]
AlertName = Annotated[str, AfterValidator(_alert_name)]
Person = Annotated[str, AfterValidator(_person)]
RepoPath = Annotated[str, AfterValidator(_relative_path)]


class _Model(BaseModel):
    # Defaults go through the same normalisation as user values (24h is stored as 1d).
    # No number is infinite or NaN: `.inf` as a factor or a margin would switch detection
    # off without a word, and NaN compares false with every threshold.
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )


class Metadata(_Model):
    name: SafeName
    owner: Person = Field(
        description="The team or person accountable for the service; may decide like an "
        "approver (a login, or a GitHub team as @org/team)."
    )
    approvers: tuple[Person, ...] = Field(
        default=(),
        description="Who may approve, reject and move incidents: logins, signer principals "
        "or GitHub teams (@org/team).",
    )
    labels: dict[str, str] = Field(default_factory=dict)


TargetKind = Literal["rollout", "deployment", "statefulset", "daemonset", "helm", "kustomize"]
# Only an Argo Rollout has a pause (spec.paused) that holds a promotion where it is.
PAUSABLE_TARGETS: frozenset[str] = frozenset({"rollout"})


class Target(_Model):
    """Where a decision lands in the environment repository, and where the version is."""

    repo: str | None = Field(
        default=None, description="Environment repo URL or path; default environment.repo."
    )
    path: RepoPath = Field(description="The manifest file inside the environment repo.")
    kind: TargetKind = Field(
        description=(
            "rollout, deployment, statefulset, daemonset: the image of a pod template's "
            "container; helm: a values file; kustomize: a kustomization's images."
        )
    )
    container: str | None = Field(
        default=None,
        description=(
            "rollout, deployment, statefulset, daemonset: the container (or init container) "
            "whose image is the version; may be left out when the pod has one container."
        ),
    )
    name: str | None = Field(
        default=None,
        description="The workload's metadata.name, when the file holds several of that kind.",
    )
    workload_path: RepoPath | None = Field(
        default=None,
        description=(
            "rollout with spec.workloadRef: the file holding the referenced Deployment, "
            "when it is not the Rollout's own file."
        ),
    )
    values_key: str = Field(
        default="image.tag",
        description=(
            "helm: the dotted key of the version: a tag (image.tag), an image string "
            "(image: repo:tag), a digest (image.digest) or a mapping holding tag."
        ),
    )
    image: str | None = Field(
        default=None,
        description=(
            "kustomize: the images[].name whose newTag (or digest, when pinned) is the version."
        ),
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Target:
        if self.kind == "kustomize" and not self.image:
            raise ValueError("a kustomize target needs 'image': the images[].name to edit")
        if self.workload_path is not None and self.kind != "rollout":
            raise ValueError("'workload_path' is for a rollout whose spec.workloadRef points there")
        return self

    @property
    def pausable(self) -> bool:
        """Whether block-promotion can write a pause into this target."""
        return self.kind in PAUSABLE_TARGETS


class Deployment(_Model):
    strategy: Literal["canary"] = Field(
        description="Only canary deliveries can be judged before they reach everyone."
    )
    steps: tuple[Annotated[int, Field(gt=0, le=100)], ...] = (20, 50, 100)
    canary_label: str = Field(
        default="version",
        description="Label whose value is the release version on every series (canary vs stable).",
    )
    canary_analysis: bool = Field(
        default=False,
        description="Judge a canary in progress on its own SLIs and propose its promotion.",
    )
    canary_window: Annotated[Duration, between("1m", "1d")] = Field(
        default="10m", description="How much recent traffic judges the canary (1m to 1d)."
    )

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if not steps:
            raise ValueError("a canary needs at least one step")
        if list(steps) != sorted(set(steps)):
            raise ValueError("canary steps must strictly increase")
        if steps[-1] != 100:
            raise ValueError("the last canary step must be 100")
        return steps


class Rollback(_Model):
    strategy: Literal["revert-image"] = Field(
        description="revert-image: set the image back to the last stable version."
    )


class SLI(_Model):
    """Availability (errors over total) or latency (histogram under a threshold)."""

    errors: SelectorText | None = None
    total: SelectorText | None = None
    histogram: SelectorText | None = Field(
        default=None, description="The histogram's base name (without _bucket) and labels."
    )
    threshold: float | None = Field(
        default=None,
        gt=0,
        le=86400,
        description="Seconds (at most a day); must be one of the histogram's bucket bounds.",
    )
    # +Inf is every histogram's last bucket, so a copied list may end with it.
    buckets: tuple[Annotated[float, Field(gt=0, allow_inf_nan=True)], ...] | None = Field(
        default=None, description="The histogram's bucket bounds, to check the threshold."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> SLI:
        availability = self.errors is not None or self.total is not None
        latency = self.histogram is not None or self.threshold is not None
        if availability == latency:
            raise ValueError(
                "give either 'errors' and 'total' (availability) "
                "or 'histogram' and 'threshold' (latency)"
            )
        if availability and (self.errors is None or self.total is None):
            raise ValueError("an availability SLI needs both 'errors' and 'total'")
        if latency and (self.histogram is None or self.threshold is None):
            raise ValueError("a latency SLI needs both 'histogram' and 'threshold'")
        if self.histogram is not None and self.histogram.metric.endswith("_bucket"):
            raise ValueError("'histogram' names the base metric, without the _bucket suffix")
        if self.buckets is not None and self.threshold not in self.buckets:
            raise ValueError(f"threshold {self.threshold} is not a bucket bound {self.buckets}")
        return self

    @property
    def kind(self) -> Literal["availability", "latency"]:
        return "availability" if self.errors is not None else "latency"


class BurnRateAlert(_Model):
    """One row of the multiwindow, multi-burn-rate table."""

    severity: Literal["fast-burn", "slow-burn"]
    long: Annotated[Duration, between("5m", "90d")]
    short: Annotated[Duration, between("1m", "30d")]
    factor: float = Field(
        ge=MIN_FACTOR,
        le=MAX_FACTOR,
        description="The burn rate both windows must exceed (0.1 to 1000, and below what "
        "the objective allows: 1000 at 99.9%).",
    )

    @model_validator(mode="after")
    def _short_inside_long(self) -> BurnRateAlert:
        if parse_duration(self.short) >= parse_duration(self.long):
            raise ValueError("the short window must be shorter than the long one")
        return self


class AlertRoute(_Model):
    """The alerts of one severity: `page` (fast burn) or `ticket` (slow burn)."""

    disable: bool = Field(default=False, description="Generate no alert of this severity.")
    labels: dict[LabelName, str] = Field(
        default_factory=dict, description="Routing labels, over the SLO's alerting labels."
    )
    annotations: dict[AnnotationName, str] = Field(default_factory=dict)


class Alerting(_Model):
    """How the generated alerts of an SLO are named and routed (Sloth's `alerting`)."""

    name: AlertName | None = Field(
        default=None,
        description="One alert name for both severities (default ErrorBudgetFastBurn and "
        "ErrorBudgetSlowBurn); sloth_severity tells them apart.",
    )
    labels: dict[LabelName, str] = Field(
        default_factory=dict, description="Labels on both severities' alerts."
    )
    annotations: dict[AnnotationName, str] = Field(
        default_factory=dict, description="Annotations over the generated ones."
    )
    page: AlertRoute = AlertRoute()
    ticket: AlertRoute = AlertRoute()


class SLO(_Model):
    name: SafeName
    objective: Objective
    period: Duration = "30d"
    min_events: int = Field(
        default=100,
        ge=1,
        le=MAX_EVENTS,
        description="Fewer events than this in a window make it unknown (1 to 1e9).",
    )
    sli: SLI
    alerts: tuple[BurnRateAlert, ...] | None = Field(
        default=None, description="Override the default burn-rate windows and factors."
    )
    labels: dict[LabelName, str] = Field(
        default_factory=dict, description="Copied onto every generated rule of this SLO."
    )
    alerting: Alerting = Alerting()

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if not parse_duration("1d") <= parse_duration(value) <= parse_duration("90d"):
            raise ValueError("the SLO period must be between 1d and 90d (usually 28d or 30d)")
        return value

    @property
    def highest_burn_rate(self) -> float:
        """The burn rate of every event failing: no window can burn faster."""
        return 1 / (1 - self.objective)

    def reachable(self, burn_rate: float) -> bool:
        """Whether some window could burn faster than `burn_rate` (with a rounding margin)."""
        return burn_rate * (1 - self.objective) < 1 - 1e-9

    @model_validator(mode="after")
    def _alerts_can_fire(self) -> SLO:
        for number, row in enumerate(self.alerts or ()):
            where = f"alerts[{number}]"
            if parse_duration(row.long) > parse_duration(self.period):
                raise ValueError(f"{where}.long {row.long} is longer than the period {self.period}")
            if not self.reachable(row.factor):
                raise ValueError(
                    f"{where}.factor {row.factor:g} can never be exceeded: at an objective of "
                    f"{self.objective * 100:g}% every event failing is a burn rate of "
                    f"{self.highest_burn_rate:g}, so the row would never fire"
                )
        return self


class Policy(_Model):
    max_burn_rate: float = Field(
        default=2.0,
        gt=0,
        le=MAX_FACTOR,
        description="Block promotion when a burn rate exceeds this (above 0, at most 1000, "
        "and below what every objective allows).",
    )
    budget_safety_margin: float = Field(
        default=0.1, ge=0, lt=1, description="Block promotion under this budget remaining."
    )
    freeze: Annotated[Duration, between("1m", "90d")] = Field(
        default="24h", description="Freeze length once exhausted (1m to 90d)."
    )
    canary_max_error_ratio: float = Field(default=0.02, gt=0, lt=1)
    stable_period: Annotated[Duration, between("1m", "30d")] = Field(
        default="1h",
        description="All SLOs normal this long resolves a mitigated incident (1m to 30d).",
    )
    mitigation_timeout: Annotated[Duration, between("1m", "7d")] = Field(
        default="30m",
        description="A merged rollback with a fast burn still firing this long escalates "
        "(1m to 7d).",
    )


class ServiceSpec(_Model):
    target: Target
    deployment: Deployment
    rollback: Rollback
    slos: tuple[SLO, ...] = Field(min_length=1)
    policy: Policy = Policy()

    @field_validator("slos")
    @classmethod
    def _unique_slo_names(cls, slos: tuple[SLO, ...]) -> tuple[SLO, ...]:
        seen: set[str] = set()
        for slo in slos:
            if slo.name in seen:
                raise ValueError(f"SLO name {slo.name!r} is used twice")
            seen.add(slo.name)
        return slos

    @model_validator(mode="after")
    def _policy_can_block(self) -> ServiceSpec:
        rate = self.policy.max_burn_rate
        for slo in self.slos:
            if not slo.reachable(rate):
                raise ValueError(
                    f"policy.max_burn_rate {rate:g} can never be exceeded by SLO {slo.name!r}: "
                    f"at {slo.objective * 100:g}% every event failing is a burn rate of "
                    f"{slo.highest_burn_rate:g}, so promotion would never be blocked"
                )
        return self


class Service(_Model):
    """One `services/<name>.yaml` file."""

    apiVersion: Literal["safedeploy.dev/v1"]  # noqa: N815 - the Kubernetes spelling users write
    kind: Literal["Service"]
    metadata: Metadata
    spec: ServiceSpec

    @property
    def name(self) -> str:
        return self.metadata.name


class BrokenService(_Model):
    """A service file that did not load: the service its file is named for, and why, one
    `file:line: field.path: message` per violation."""

    name: str
    violations: tuple[str, ...]


class Catalog(_Model):
    services: tuple[Service, ...]
    # One team's typo breaks its own service, not the catalog: the commands that decide
    # per service carry on with the rest and report these.
    broken: tuple[BrokenService, ...] = ()

    def get(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    @property
    def names(self) -> frozenset[str]:
        """Every service the catalog names, broken ones included."""
        return frozenset({s.name for s in self.services} | {b.name for b in self.broken})

    def broken_among(self, names: list[str]) -> tuple[BrokenService, ...]:
        """The broken services among `names` (all of them when `names` is empty)."""
        return tuple(b for b in self.broken if not names or b.name in names)


def whole(catalog: Catalog) -> Catalog:
    """The catalog when every file loaded; CatalogError listing every violation otherwise."""
    if catalog.broken:
        raise CatalogError([v for b in catalog.broken for v in b.violations])
    return catalog


def select(catalog: Catalog, names: list[str], *, partial: bool = False) -> list[Service]:
    """The services named (all when `names` is empty), in catalog order; an unknown name is
    bad input, never silently skipped. A broken one among them is CatalogError, unless
    `partial`: then it is left out, for the caller to report (`Catalog.broken_among`)."""
    broken = catalog.broken_among(names)
    if broken and not partial:
        raise CatalogError([v for b in broken for v in b.violations])
    if not names:
        return list(catalog.services)
    unknown = [n for n in names if n not in catalog.names]
    if unknown:
        raise BadInputError(f"unknown service {unknown[0]!r}; see services/")
    wanted = set(names)
    return [s for s in catalog.services if s.name in wanted]

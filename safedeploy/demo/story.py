"""The demo's world: three services, an environment repo, and a month of traffic.

Healthy traffic until a release of checkout 1.5.0 an hour before the end; from then on one
request in ten fails. Counts are exact integers per minute (no randomness), so every run
tells the same story with the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RELEASE_AT = END - timedelta(hours=1)
BEFORE_RELEASE = END - timedelta(minutes=90)
# A full SLO period of history, so the budget is measured over 30 days of traffic; samples
# every 5 minutes until the last day, then every minute for the short windows.
HISTORY = timedelta(days=31)
COARSE, FINE = 300, 60
STABLE, BAD = "1.4.2", "1.5.0"
BUCKETS = ("0.05", "0.1", "0.3", "0.5", "1", "+Inf")

# (service, requests per minute, 5xx share, slow share) before and after the release.
TRAFFIC = {
    "checkout": (600, 0.0004, 0.004),
    "payments": (300, 0.0002, 0.003),
    "search": (900, 0.0003, 0.005),
}
AFTER_RELEASE = {"checkout": (600, 0.10, 0.006)}

ROLLOUT = """\
# checkout: canary with a human gate after the first step.
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: checkout
  namespace: shop
spec:
  replicas: 6
  selector:
    matchLabels:
      app: checkout
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {{}}          # look at the dashboards first
        - setWeight: 50
        - pause: {{duration: 10m}}
        - setWeight: 100
  template:
    metadata:
      labels:
        app: checkout
    spec:
      containers:
        - name: checkout
          # Bumped by the release pipeline; rolled back by safedeploy.
          image: registry.example.com/checkout:{version}
          ports:
            - containerPort: 8080
"""

HELM_VALUES = """\
# payments gateway
image:
  repository: registry.example.com/payments
  tag: "2.1.1"
replicaCount: 3
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: search
    newName: registry.example.com/search
    newTag: 1.0.1
"""


def env_commits() -> list[tuple[str, dict[str, str], datetime]]:
    """The environment repo's history: what ArgoCD has been applying."""
    start = END - HISTORY
    return [
        (
            "Initial environment",
            {
                "apps/checkout/rollout.yaml": ROLLOUT.format(version="1.3.0"),
                "apps/payments/values.yaml": HELM_VALUES,
                "apps/search/kustomization.yaml": KUSTOMIZATION,
            },
            start,
        ),
        (
            f"checkout {STABLE}",
            {"apps/checkout/rollout.yaml": ROLLOUT.format(version=STABLE)},
            start + timedelta(hours=1),
        ),
        (
            f"checkout {BAD}",
            {"apps/checkout/rollout.yaml": ROLLOUT.format(version=BAD)},
            RELEASE_AT,
        ),
    ]


def openmetrics() -> Iterator[str]:
    """Counter history in the format `promtool tsdb create-blocks-from openmetrics` reads."""
    start = int((END - HISTORY).timestamp())
    end = int(END.timestamp())
    fine_from = end - 86_400
    release = int(RELEASE_AT.timestamp())
    times = [*range(start, fine_from, COARSE), *range(fine_from, end + 1, FINE)]
    yield "# TYPE http_requests counter\n"
    for service in TRAFFIC:
        for code in ("200", "404", "500"):
            labels = f'service="{service}",code="{code}"'
            yield from _series(
                "http_requests_total", labels, service, times=times, release=release, part=code
            )
    yield "# TYPE http_request_duration_seconds histogram\n"
    for service in TRAFFIC:
        for le in BUCKETS:
            labels = f'service="{service}",le="{le}"'
            yield from _series(
                "http_request_duration_seconds_bucket",
                labels,
                service,
                times=times,
                release=release,
                part=le,
            )
        labels = f'service="{service}"'
        yield from _series(
            "http_request_duration_seconds_count",
            labels,
            service,
            times=times,
            release=release,
            part="+Inf",
        )
    yield "# EOF\n"


def _series(
    metric: str, labels: str, service: str, *, times: list[int], release: int, part: str
) -> Iterator[str]:
    # Floored running totals: integer counters whose long-run shares are exact.
    exact = 0.0
    lines = []
    previous = times[0] - FINE
    for t in times:
        after = t > release and service in AFTER_RELEASE
        rate, errors, slow = AFTER_RELEASE[service] if after else TRAFFIC[service]
        exact += _per_minute(rate, errors, slow, part) * (t - previous) / FINE
        previous = t
        lines.append(f"{metric}{{{labels}}} {math.floor(exact + 1e-9)} {t}\n")
    yield "".join(lines)


def _per_minute(rate: int, errors: float, slow: float, part: str) -> float:
    not_found = rate * 0.02
    failed = rate * errors
    if part == "500":
        return failed
    if part == "404":
        return not_found
    if part == "200":
        return rate - failed - not_found
    # Histogram buckets are cumulative: requests at or under each bound.
    fast = rate * (1 - slow)
    share = {"0.05": 0.6, "0.1": 0.85, "0.3": 1.0}
    if part in share:
        return fast * share[part]
    return float(rate)

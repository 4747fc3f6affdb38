"""Builders for the test inputs many tests share: service definitions first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safedeploy.domain.catalog import Service

VALID_SERVICE = """\
apiVersion: safedeploy.dev/v1
kind: Service
metadata:
  name: {name}
  owner: team-{name}
  approvers: [alice]
spec:
  target:
    path: apps/{name}/rollout.yaml
    kind: rollout
    container: {name}
  deployment:
    strategy: canary
    steps: [20, 50, 100]
  rollback:
    strategy: revert-image
  slos:
    - name: availability
      objective: 0.999
      period: 30d
      sli:
        errors: http_requests_total{{service="{name}", code=~"5.."}}
        total: http_requests_total{{service="{name}"}}
    - name: latency
      objective: 99
      sli:
        histogram: http_request_duration_seconds{{service="{name}"}}
        threshold: 0.3
"""


def service_yaml(name: str = "checkout") -> str:
    return VALID_SERVICE.format(name=name)


def write_service(folder: Path, name: str = "checkout", text: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(service_yaml(name) if text is None else text, encoding="utf-8")
    return path


AVAILABILITY_SLO = {
    "name": "availability",
    "objective": 0.999,
    "sli": {
        "errors": 'http_requests_total{service="checkout", code=~"5.."}',
        "total": 'http_requests_total{service="checkout"}',
    },
}
LATENCY_SLO = {
    "name": "latency",
    "objective": 0.99,
    "sli": {
        "histogram": 'http_request_duration_seconds{service="checkout"}',
        "threshold": 0.3,
    },
}


def checkout_service(*, latency: bool = False, **policy: Any) -> Service:
    """checkout as a model: availability (and latency) SLOs, the given policy knobs."""
    return Service.model_validate(
        {
            "apiVersion": "safedeploy.dev/v1",
            "kind": "Service",
            "metadata": {"name": "checkout", "owner": "team-payments", "approvers": ["alice"]},
            "spec": {
                "target": {"path": "apps/checkout/rollout.yaml", "kind": "rollout"},
                "deployment": {"strategy": "canary"},
                "rollback": {"strategy": "revert-image"},
                "slos": [AVAILABILITY_SLO, LATENCY_SLO] if latency else [AVAILABILITY_SLO],
                "policy": policy,
            },
        }
    )


def story_state(root: Path) -> Path:
    """A state directory of the example catalog over the demo story's embedded metrics."""
    from safedeploy.adapters.templates import example_services
    from safedeploy.demo import story

    for name, text in example_services().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "metrics.om").write_text("".join(story.openmetrics()))
    (root / "safedeploy.toml").write_text('[prometheus]\nmetrics_file = "metrics.om"\n')
    return root

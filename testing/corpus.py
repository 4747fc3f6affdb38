"""The manifest corpus: real files from public repositories, and what each one runs.

`tests/data/manifests/<source>/<path>` holds every file verbatim (see its SOURCES.md).
Each case names the target a service would point at, the version the file runs and the
line that holds it, as read by a person from the file itself; tests/adapters/
test_manifest_corpus.py and bench/manifests.py revert every file from a later version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "manifests"


@dataclass(frozen=True)
class Case:
    """A corpus file and the service target that points at its version."""

    file: str
    kind: str
    version: str
    line: int
    container: str | None = None
    values_key: str = "image.tag"
    image: str | None = None
    name: str | None = None
    workload_path: str | None = None
    repo: str | None = None

    @property
    def path(self) -> str:
        return self.file

    @property
    def source(self) -> str:
        return self.file.split("/", 1)[0]

    def text(self) -> str:
        return (CORPUS / self.file).read_text(encoding="utf-8")

    def target(self) -> dict[str, str]:
        """The `spec.target` of a service definition pointing at this file."""
        fields = {"path": self.file, "kind": self.kind}
        for key in ("container", "image", "name"):
            if getattr(self, key) is not None:
                fields[key] = getattr(self, key)
        if self.kind == "helm":
            fields["values_key"] = self.values_key
        return fields


CASES: tuple[Case, ...] = (
    Case(
        "argo-rollouts/examples/rollout-canary.yaml",
        "rollout",
        "blue",
        21,
        container="rollouts-demo",
    ),
    Case("argo-rollouts/examples/rollout-bluegreen.yaml", "rollout", "blue", 20),
    Case("argo-rollouts/examples/rollout-analysis-step.yaml", "rollout", "blue", 23),
    Case(
        "argo-rollouts/examples/rollout-experiment-step.yaml",
        "rollout",
        "blue",
        27,
        container="rollouts-demo",
    ),
    Case("argo-rollouts/examples/rollout-secret.yaml", "rollout", "blue", 23),
    Case("argo-rollouts/examples/rollout-baseline-vs-canary.yaml", "rollout", "blue", 22),
    Case("argo-rollouts/examples/rollout-template-ref.yaml", "rollout", "blue", 19),
    Case(
        "argo-rollouts/examples/workload-ref/workload-ref.yaml",
        "rollout",
        "blue",
        17,
        container="rollouts-demo",
    ),
    Case("argo-rollouts/examples/istio/istio-subset-split.yaml", "rollout", "1.19-alpine", 81),
    Case("argo-rollouts/examples/appmesh/canary-rollout.yaml", "rollout", "blue", 39),
    Case(
        "argo-rollouts/examples/appmesh/canary-service.yaml",
        "deployment",
        "latest",
        182,
        name="wrk-tester",
    ),
    Case("argo-rollouts/examples/helm-blue-green/values.yaml", "helm", "0.1", 9),
    Case("argo-rollouts/examples/notifications/rollout-canary.yaml", "rollout", "blue", 60),
    Case("argo-rollouts/examples/traffic-management/rollout-linkerd.yaml", "rollout", "blue", 27),
    Case(
        "argo-rollouts/test/kustomize/rollout/kustomization.yaml",
        "kustomize",
        "v2",
        43,
        image="guestbook",
    ),
    Case(
        "argo-rollouts/docs/features/kustomize/example/kustomization.yaml",
        "kustomize",
        "green",
        39,
        image="argoproj/rollouts-demo",
    ),
    Case("argo-rollouts/test/e2e/functional/rollout-basic.yaml", "rollout", "1.19-alpine", 21),
    Case("argo-rollouts/test/e2e/appmesh/appmesh-canary-rollout.yaml", "rollout", "blue", 143),
    Case(
        "argo-rollouts/test/e2e/functional/rollout-canary-with-pause.yaml",
        "rollout",
        "1.19-alpine",
        61,
    ),
    Case(
        "microservices-demo/release/kubernetes-manifests.yaml",
        "deployment",
        "v0.10.6",
        635,
        name="checkoutservice",
        container="server",
    ),
    Case(
        "microservices-demo/kubernetes-manifests/loadgenerator.yaml",
        "deployment",
        "1.38.0@sha256:fd8d9aa63ba2f0982b5304e1ee8d3b90a210bc1ffb5314d980eb6962f1a9715d",
        67,
        container="frontend-check",
    ),
    Case(
        "microservices-demo/kustomize/components/google-cloud-operations/otel-collector.yaml",
        "deployment",
        "0.157.0@sha256:f2f01157055a9b2aab9df7118e1f1c9abf345e99b23bc7a2bc791db374a7d0f6",
        71,
        container="otel-gateway",
    ),
    Case(
        "microservices-demo/kubernetes-manifests/cartservice.yaml",
        "deployment",
        "alpine",
        118,
        name="redis-cart",
    ),
    Case(
        "microservices-demo/kustomize/base/checkoutservice.yaml",
        "deployment",
        "v0.10.6",
        45,
        container="server",
    ),
    Case(
        "microservices-demo/kustomize/components/container-images-tag/kustomization.yaml",
        "kustomize",
        "CONTAINER_IMAGES_TAG",
        29,
        image="us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/frontend",
    ),
    Case("podinfo/charts/podinfo/values.yaml", "helm", "6.14.1", 11),
    Case("podinfo/deploy/bases/database/statefulset-primary.yaml", "statefulset", "6.14.1", 25),
    Case(
        "podinfo/deploy/bases/cache/deployment.yaml", "deployment", "8.8.0", 16, container="redis"
    ),
    Case("podinfo/kustomize/deployment.yaml", "deployment", "6.14.1", 26),
    Case("podinfo/deploy/secure/frontend/deployment.yaml", "deployment", "secure-port", 32),
    Case("podinfo/deploy/bases/database/deployment-replica.yaml", "deployment", "6.14.1", 28),
    Case(
        "prometheus-community-helm-charts/charts/prometheus-couchdb-exporter/values.yaml",
        "helm",
        "16",
        21,
    ),
    Case(
        "prometheus-community-helm-charts/charts/prometheus-modbus-exporter/values.yaml",
        "helm",
        "20230617_a144551",
        103,
    ),
    Case(
        "prometheus-community-helm-charts/charts/kube-prometheus-stack/values.yaml",
        "helm",
        "v3.14.0-distroless",
        4347,
        values_key="prometheus.prometheusSpec.image.tag",
    ),
    Case(
        "prometheus-community-helm-charts/charts/prometheus/values.yaml",
        "helm",
        "v0.93.1",
        60,
        values_key="configmapReload.prometheus.image.tag",
    ),
    Case(
        "prometheus-community-helm-charts/charts/prometheus-druid-exporter/values.yaml",
        "helm",
        "v0.11",
        6,
    ),
    Case(
        "prometheus-community-helm-charts/charts/prometheus-blackbox-exporter/values.yaml",
        "helm",
        "v0.93.1",
        511,
        values_key="configReloader.image.tag",
    ),
    Case(
        "prometheus-community-helm-charts/charts/alertmanager/values.yaml",
        "helm",
        "v0.93.1",
        410,
        values_key="configmapReload.image.tag",
    ),
    Case(
        "prometheus-community-helm-charts/charts/prometheus-mysql-exporter/values.yaml",
        "helm",
        "2.14.0",
        210,
        values_key="cloudsqlproxy.image.tag",
    ),
    Case("bitnami-charts/bitnami/nginx/values.yaml", "helm", "1.29.1-debian-12-r0", 89),
    Case(
        "bitnami-charts/bitnami/redis/values.yaml",
        "helm",
        "8.2.1-debian-12-r0",
        1189,
        values_key="sentinel.image.tag",
    ),
    Case(
        "bitnami-charts/bitnami/postgresql/values.yaml",
        "helm",
        "0.17.1-debian-12-r16",
        1724,
        values_key="metrics.image.tag",
    ),
    Case(
        "bitnami-charts/bitnami/kafka/values.yaml",
        "helm",
        "12-debian-12-r51",
        491,
        values_key="defaultInitContainers.volumePermissions.image.tag",
    ),
    Case(
        "kubeflow-manifests/applications/pipeline/upstream/env/dev/kustomization.yaml",
        "kustomize",
        "master",
        15,
        image="ghcr.io/kubeflow/kfp-frontend",
    ),
    Case(
        "kubeflow-manifests/applications/katib/upstream/installs/katib-standalone/kustomization.yaml",
        "kustomize",
        "v0.19.0",
        29,
        image="ghcr.io/kubeflow/katib/katib-ui",
    ),
    Case(
        "kubeflow-manifests/applications/trainer/upstream/overlays/runtimes/kustomization.yaml",
        "kustomize",
        "v2.2.0",
        15,
        image="ghcr.io/kubeflow/trainer/mlx-runtime",
    ),
    Case(
        "kubeflow-manifests/common/knative/knative-serving/base/upstream/net-istio.yaml",
        "deployment",
        "sha256:4d9c50245aeafb269876d05ddb95d235372abfe2b2ac1c9d8c7cd3a2ccf2d6b7",
        328,
        name="net-istio-webhook",
    ),
    Case(
        "kubeflow-manifests/common/istio/istio-install/components/ambient-mode/ztunnel.yaml",
        "daemonset",
        "1.29.1",
        93,
    ),
    Case("kustomize/examples/helloWorld/deployment.yaml", "deployment", "1", 17),
    Case("kustomize/examples/wordpress/wordpress/deployment.yaml", "deployment", "4.8-apache", 19),
    Case("kustomize/examples/ldap/base/deployment.yaml", "deployment", "1.1.11", 19),
    Case("kustomize/examples/mySql/deployment.yaml", "deployment", "5.6", 19),
    Case(
        "argo-cd/gitops-engine/pkg/health/testdata/daemonset-ondelete.yaml",
        "daemonset",
        "v2.5.1",
        26,
    ),
    Case(
        "argo-cd/gitops-engine/pkg/health/testdata/statefulset.yaml",
        "statefulset",
        "4.0.10-debian-9",
        50,
    ),
    Case(
        "argo-cd/gitops-engine/pkg/health/testdata/deployment-suspended.yaml",
        "deployment",
        "0.3",
        38,
    ),
    Case(
        "argo-cd/hack/gen-resources/examples/values.yaml",
        "helm",
        "v1.23.3-k3s1",
        2,
        values_key="vcluster.image",
    ),
    Case(
        "argo-cd/manifests/base/kustomization.yaml",
        "kustomize",
        "latest",
        8,
        image="quay.io/argoproj/argocd",
    ),
)


@dataclass(frozen=True)
class Refused:
    """A corpus file whose version safedeploy cannot move, and the line it says so on."""

    case: Case
    message: str


REFUSED: tuple[Refused, ...] = (
    Refused(
        Case("argo-rollouts/examples/ambassador/rollout.yaml", "rollout", "", 15),
        "spec.template.spec.containers[echo-v1].image: image 'hashicorp/http-echo' has "
        "neither a tag nor a digest",
    ),
    Refused(
        Case("microservices-demo/kubernetes-manifests/frontend.yaml", "deployment", "", 47),
        "image 'frontend' has neither a tag nor a digest",
    ),
    Refused(
        Case(
            "kustomize/examples/transformerconfigs/images/kustomization.yaml",
            "kustomize",
            "",
            19,
            image="docker",
        ),
        "images[docker].digest: 'sha256:25a0d4' is not an image tag or digest",
    ),
    Refused(
        Case("microservices-demo/helm-chart/values.yaml", "helm", "", 22, values_key="images.tag"),
        "images.tag: empty",
    ),
)

_DIGITS = re.compile(r"[0-9]+")
_HEX = str.maketrans("0123456789abcdefABCDEF", "1234567890bcdefaBCDEFA")


def later(version: str) -> str:
    """A different version of the same shape, written as YAML reads the original.

    The last run of digits goes up by one (1.9 -> 1.10, 20240101 -> 20240102); a digest's
    last character changes; a tag without digits gets a suffix. So a plain number stays a
    plain number and text stays text, as a release pipeline would write the next one.
    """
    if ":" in version:  # a digest, alone or after a tag
        return version[:-1] + version[-1].translate(_HEX)
    tag = version
    runs = list(_DIGITS.finditer(tag))
    if not runs:
        return f"{tag}-next"
    last = runs[-1]
    digits = f"{int(last.group()) + 1:0{len(last.group())}d}"
    return f"{tag[: last.start()]}{digits}{tag[last.end() :]}"


def before_and_after(case: Case) -> tuple[str, str]:
    """The file as it was (A) and after a release moved its version (B), made by hand.

    B is A with the version's text replaced on its line, without the YAML parser: the
    edit under test must find its way back to A on its own.
    """
    before = case.text()
    lines = before.splitlines(keepends=True)
    line = lines[case.line - 1]
    if line.count(case.version) != 1:
        raise AssertionError(f"{case.file}:{case.line}: {case.version!r} is not once on the line")
    lines[case.line - 1] = line.replace(case.version, later(case.version))
    return before, "".join(lines)


def service_name(number: int) -> str:
    return f"corpus-{number:02d}"


def service_definition(number: int, case: Case) -> str:
    """A service on the demo story's checkout traffic whose target is the corpus file."""
    service = {
        "apiVersion": "safedeploy.dev/v1",
        "kind": "Service",
        "metadata": {"name": service_name(number), "owner": "team-corpus", "approvers": ["alice"]},
        "spec": {
            "target": case.target(),
            "deployment": {"strategy": "canary"},
            "rollback": {"strategy": "revert-image"},
            "slos": [
                {
                    "name": "availability",
                    "objective": 0.999,
                    "sli": {
                        "errors": 'http_requests_total{service="checkout", code=~"5.."}',
                        "total": 'http_requests_total{service="checkout"}',
                    },
                }
            ],
        },
    }
    return json.dumps(service, indent=2) + "\n"  # JSON is YAML


@dataclass(frozen=True)
class CorpusWorld:
    """A state directory with a service per corpus case and an environment repository in
    which every corpus file went from A to B."""

    state: Path
    env: Path
    cases: tuple[Case, ...]


def build_corpus_world(base: Path, cases: tuple[Case, ...], metrics: str) -> CorpusWorld:
    return build_world(base, [(case, *before_and_after(case)) for case in cases], metrics)


Commits = list[tuple[str, dict[str, str], datetime]]


def build_world(
    base: Path, files: list[tuple[Case, str, str]], metrics: str, history: Commits | None = None
) -> CorpusWorld:
    """`files`: each case with the text it had (A) and the text a release gave it (B);
    `history`, when given, is the environment repo's commits instead of A then B."""
    from safedeploy.adapters.envrepo import create_repository

    released = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    broken = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)  # the demo story's bad release
    create_repository(
        base / "env.git",
        history
        or [
            ("Every file as it was", {c.file: a for c, a, _ in files}, released),
            ("A release of every file", {c.file: b for c, _, b in files}, broken),
        ],
    )
    state = base / "state"
    (state / "services").mkdir(parents=True)
    for number, (case, _, _) in enumerate(files):
        (state / "services" / f"{service_name(number)}.yaml").write_text(
            service_definition(number, case), encoding="utf-8"
        )
    (base / "metrics.om").write_text(metrics, encoding="utf-8")
    (state / "safedeploy.toml").write_text(
        '[prometheus]\nmetrics_file = "../metrics.om"\n'
        '[environment]\nrepo = "../env.git"\ncache = "../cache"\n'
        # Not a Git work tree: who approves is declared (tests/usecases/test_identity.py
        # proves identities).
        '[approvals]\nidentity = "declared"\n',
        encoding="utf-8",
    )
    return CorpusWorld(state, base / "env.git", tuple(case for case, _, _ in files))

"""Picks the metrics source the configuration names: Prometheus, or the embedded file."""

from __future__ import annotations

from pathlib import Path

from safedeploy.adapters.settings import Settings
from safedeploy.errors import BadInputError
from safedeploy.ports import MetricsSource, SLOCountsSource


def open_source(settings: Settings, state: Path) -> MetricsSource | SLOCountsSource:
    config = settings.prometheus
    if config.url:
        from safedeploy.adapters.prometheus_http import PrometheusClient

        # One client for the run: every query, canary judgement included, shares its
        # connections and its one deadline.
        client = PrometheusClient(
            config.url, timeout=config.timeout, retries=config.retries, deadline=config.deadline
        )
        if config.read == "recorded":
            from safedeploy.adapters.recorded_source import RecordedSource

            return RecordedSource(client)
        from safedeploy.adapters.prometheus import PrometheusSource

        return PrometheusSource(config.url, client=client, service_label=config.service_label)
    if config.metrics_file:
        from safedeploy.adapters.embedded_source import EmbeddedSource

        path = Path(config.metrics_file)
        if not path.is_absolute():
            path = state / path
        if not path.is_file():
            raise BadInputError(f"{path}: prometheus.metrics_file does not exist")
        return EmbeddedSource.from_file(path)
    raise BadInputError(
        f"{state / 'safedeploy.toml'}: no metrics source: set prometheus.url "
        "(SAFEDEPLOY_PROMETHEUS_URL) or prometheus.metrics_file (SAFEDEPLOY_METRICS_FILE)"
    )

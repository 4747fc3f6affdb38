"""A real Prometheus holding raw history plus the recordings of `generate rules`, backfilled.

Loaded as a pytest plugin by tests/conftest.py: the `recorded_prometheus` fixture holds
the recordings of the example catalog (`services/`) over the `prometheus` fixture's history.

`promtool tsdb create-blocks-from rules` evaluates each rule against a running server, so a
rule over another rule's series (a burn rate over a recorded ratio) finds nothing unless
that series is already there. Rules are therefore backfilled in levels: first the rules
over raw series, then, against a server that holds those, the rules over them, and so on.
Alerting rules are not backfilled (promtool does not); `promtool test rules` covers them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from testing.history import T_END_SECONDS
from testing.prometheus import PROMTOOL, RunningPrometheus, serve

BACKFILL_SECONDS = 300


def rule_levels(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The recording rules of a rule file as one rule file per level, lowest first: a
    rule's level is one more than the highest level of the recordings its expression uses."""
    rules = [(g["name"], r) for g in document["groups"] for r in g["rules"] if "record" in r]
    names = {r["record"] for _, r in rules}
    uses = {
        name: {
            other
            for _, r in rules
            if r["record"] == name
            for other in names
            if re.search(re.escape(other) + r"(?![0-9A-Za-z_:])", r["expr"])
        }
        for name in names
    }
    level: dict[str, int] = {}
    while len(level) < len(names):
        for name in names - level.keys():
            if uses[name] <= level.keys():
                level[name] = 1 + max((level[u] for u in uses[name]), default=-1)
    files = []
    for depth in range(max(level.values()) + 1):
        groups: dict[str, list[dict[str, Any]]] = {}
        for group, rule in rules:
            if level[rule["record"]] == depth:
                groups.setdefault(group, []).append(rule)
        files.append({"groups": [{"name": g, "rules": r} for g, r in groups.items()]})
    return files


def backfill(url: str, rules: Path, out: Path) -> None:
    """Evaluate `rules` against `url` over the last minutes of history, T_END included."""
    done = subprocess.run(
        [
            str(PROMTOOL), "tsdb", "create-blocks-from", "rules", "--quiet",
            f"--url={url}",
            f"--start={T_END_SECONDS - BACKFILL_SECONDS}",
            f"--end={T_END_SECONDS}",
            "--eval-interval=60s",
            f"--output-dir={out}",
            str(rules),
        ],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr or done.stdout


def _copy_blocks(source: Path, data: Path) -> None:
    # Blocks are immutable directories with a meta.json: safe to copy while served.
    for block in source.iterdir():
        if (block / "meta.json").exists():
            shutil.copytree(block, data / block.name)


@contextmanager
def prometheus_with_recordings(
    source: RunningPrometheus, rules_text: str, work: Path
) -> Iterator[RunningPrometheus]:
    """A second server over `source`'s raw history plus every recording of `rules_text`."""
    yaml = YAML(typ="safe")
    data = work / "data"
    data.mkdir(parents=True)
    _copy_blocks(source.data_dir, data)
    for depth, level in enumerate(rule_levels(yaml.load(rules_text))):
        rules, blocks = work / f"level-{depth}.yaml", work / f"level-{depth}-blocks"
        with rules.open("w") as handle:
            yaml.dump(level, handle)
        if depth == 0:
            backfill(source.url, rules, blocks)
        else:
            with serve(data, source.history) as partial:
                backfill(partial.url, rules, blocks)
        _copy_blocks(blocks, data)
    with serve(data, source.history) as running:
        yield running


@pytest.fixture(scope="session")
def recorded_prometheus(
    prometheus: RunningPrometheus, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningPrometheus]:
    """The default history plus the backfilled recordings of the example catalog."""
    from safedeploy.adapters.catalog_files import load_catalog
    from safedeploy.generators.rules import render_rules
    from testing.cli import REPO_ROOT

    rules = render_rules(list(load_catalog([REPO_ROOT / "services"]).services))
    with prometheus_with_recordings(prometheus, rules, tmp_path_factory.mktemp("recorded")) as up:
        yield up

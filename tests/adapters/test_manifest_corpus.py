"""Every real manifest of the corpus: read, moved forward, and reverted byte for byte."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from safedeploy.adapters import manifests, rollout_pause
from safedeploy.errors import BadInputError
from testing.corpus import CASES, CORPUS, REFUSED, Case, Refused, before_and_after, later
from testing.manifests import changed_lines

SOURCES = CORPUS / "SOURCES.md"
_ROW = re.compile(
    r"^\| `(?P<file>[^`]+)` \| \[(?P<repo>[^]]+)\]\([^)]+\) "
    r"\| `(?P<sha>[0-9a-f]{40})` \| `(?P<path>[^`]+)` \| (?P<licence>[^|]+) \|$"
)


def _sources() -> dict[str, dict[str, str]]:
    rows = [_ROW.match(line) for line in SOURCES.read_text(encoding="utf-8").splitlines()]
    return {m["file"]: m.groupdict() for m in rows if m}


def test_the_corpus_is_forty_real_files_from_five_repositories_each_with_its_source() -> None:
    files = {str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file()} - {"SOURCES.md"}
    sources = _sources()
    assert set(sources) == files
    for file, row in sources.items():
        assert file == f"{file.split('/', 1)[0]}/{row['path']}"
        assert row["licence"].strip() == "Apache-2.0"
    assert len({row["repo"] for row in sources.values()}) >= 5
    assert {c.file for c in CASES} | {r.case.file for r in REFUSED} == files
    assert len(CASES) >= 40
    kinds = Counter(c.kind for c in CASES)
    assert set(kinds) == {"rollout", "deployment", "statefulset", "daemonset", "helm", "kustomize"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_reads_the_version_the_file_runs_on_its_line(case: Case) -> None:
    _, found = manifests.locate(case.text(), case)
    assert manifests.version_of(found, case) == case.version
    assert int(found.node.start_mark.line) + 1 == case.line


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_a_release_and_its_rollback_touch_only_the_version(case: Case) -> None:
    before, after = before_and_after(case)
    assert manifests.read_version(after, case) == later(case.version)
    assert manifests.set_version(before, case, later(case.version)) == after
    reverted = manifests.set_version(after, case, case.version)
    assert reverted.encode() == before.encode()


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "rollout"], ids=lambda c: c.file)
def test_a_pause_is_one_new_line_and_lifting_it_restores_the_file(case: Case) -> None:
    before = case.text()
    paused = rollout_pause.pause(before, case)
    assert [(ln[0], ln[1:].strip()) for ln in changed_lines(before, paused)] == [
        ("+", "paused: true")
    ]
    assert rollout_pause.lift_pause(paused, case) == before


@pytest.mark.parametrize("refused", REFUSED, ids=lambda r: r.case.file)
def test_what_cannot_be_moved_is_named_in_one_line(refused: Refused) -> None:
    with pytest.raises(BadInputError) as caught:
        manifests.read_version(refused.case.text(), refused.case)
    message = str(caught.value)
    assert message.startswith(f"{refused.case.file}:{refused.case.line}: "), message
    assert refused.message in message
    assert "\n" not in message

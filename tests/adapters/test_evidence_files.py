"""Evidence folders: what reconcile and approve write reads back as the same documents."""

from __future__ import annotations

import json
from pathlib import Path

from safedeploy.adapters.evidence_files import read_folder, write_documents
from safedeploy.adapters.store import StateStore
from safedeploy.demo import story
from safedeploy.domain import layout
from safedeploy.domain.evidence import DOCUMENTS, document_text
from safedeploy.usecases.context import Context
from safedeploy.usecases.reconcile import reconcile
from testing.builders import story_state


def test_every_document_reconcile_writes_reads_back_byte_for_byte(tmp_path: Path) -> None:
    """The models hold every field: a lenient reader that dropped one would fail here."""
    state = story_state(tmp_path)
    reconcile(Context(state), story.END, [], commit=False)
    store = StateStore(state)
    folders = sorted(p for p in (state / layout.EVIDENCE).iterdir() if p.is_dir())
    assert folders, "the story opens an incident, so reconcile writes evidence"
    compared = 0
    for directory in folders:
        evidence = read_folder(store, f"{layout.EVIDENCE}/{directory.name}")
        assert evidence.problems == ()
        assert evidence.readme == (directory / layout.README_DOC).read_text()
        for name in evidence.documents:
            parsed = getattr(evidence, name.removesuffix(".json"))
            assert document_text(parsed) == (directory / name).read_text(), name
            compared += 1
    assert compared >= len(layout.RECONCILE_DOCS)


def test_broken_and_foreign_documents_are_named_and_the_rest_is_read(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    folder = "evidence/incident-checkout-20261101t0000z"
    (tmp_path / folder).mkdir(parents=True)
    (tmp_path / folder / "decision.json").write_text("{not json")
    (tmp_path / folder / "slo.json").write_text(json.dumps({"slos": "not a list"}))
    (tmp_path / folder / "budget.json").write_text(
        json.dumps({"slos": [{"slo": "availability", "remaining": 0.25}], "added": "later"})
    )
    evidence = read_folder(store, folder)
    assert [(p.name, p.reason) for p in evidence.problems] == [
        ("decision.json", "not valid JSON"),
        ("slo.json", "not a valid document"),
    ]
    assert "slos" in evidence.problems[1].detail
    assert evidence.documents == ("budget.json",)
    assert evidence.budget_remaining() == (("availability", 0.25),)
    assert evidence.folder == f"{folder}/"


def test_a_missing_folder_reads_as_missing(tmp_path: Path) -> None:
    evidence = read_folder(StateStore(tmp_path), "evidence/release-x-release-1-0")
    assert (evidence.exists, evidence.documents, evidence.files) == (False, (), ())


def test_documents_are_written_only_when_their_bytes_change(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    folder = "evidence/incident-checkout-20261101t0000z"
    readme = {layout.README_DOC: "# hello\n"}
    with store.lock():
        assert write_documents(store, folder, readme) == [layout.README_DOC]
        assert write_documents(store, folder, readme) == []
    assert set(DOCUMENTS) >= set(layout.RECONCILE_DOCS)

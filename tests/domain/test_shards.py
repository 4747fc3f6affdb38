"""Shards: the partition of the catalog, `I/N`, and summary files read together."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain.shards import (
    WHOLE,
    Shard,
    combined,
    parse_label,
    parse_shard,
    shard_of,
    shard_view,
)
from safedeploy.domain.summary import ServiceSummary, Summary
from safedeploy.errors import BadInputError

AT = datetime(2026, 11, 1, 12, tzinfo=UTC)
names = st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True)
catalogs = st.lists(names, unique=True, max_size=60)
counts = st.integers(min_value=1, max_value=64)


@given(catalogs, counts)
def test_every_service_is_in_exactly_one_shard(catalog: list[str], count: int) -> None:
    shards = [Shard(index=i, count=count) for i in range(count)]
    for name in catalog:
        assert [s.index for s in shards if s.owns(name)] == [shard_of(name, count)]
    parts = [s.among(catalog) for s in shards]
    assert sum(len(p) for p in parts) == len(catalog)
    assert frozenset().union(*parts) == frozenset(catalog)


@given(catalogs, counts, st.randoms(use_true_random=False))
def test_the_partition_does_not_depend_on_order(
    catalog: list[str], count: int, rnd: random.Random
) -> None:
    shuffled = list(catalog)
    rnd.shuffle(shuffled)
    for index in range(count):
        shard = Shard(index=index, count=count)
        assert shard.among(catalog) == shard.among(shuffled)


@given(names, counts)
def test_the_hash_is_sha256_of_the_name_not_the_process(name: str, count: int) -> None:
    # Python's hash() of a str changes with every process; sha256 never does.
    digest = hashlib.sha256(name.encode()).digest()
    assert shard_of(name, count) == int.from_bytes(digest[:8], "big") % count


def test_shards_are_pinned_across_releases() -> None:
    """A service must never move shard because safedeploy was upgraded."""
    assert [shard_of(n, 4) for n in ("checkout", "payments", "search")] == [1, 0, 3]
    assert [shard_of(n, 3) for n in ("checkout", "payments", "search")] == [2, 0, 2]
    assert all(WHOLE.owns(n) for n in ("checkout", "payments", "search"))


@pytest.mark.parametrize(
    ("text", "index", "count"), [("0/1", 0, 1), ("3/4", 3, 4), (" 0/16", 0, 16)]
)
def test_parse_shard(text: str, index: int, count: int) -> None:
    assert parse_shard(text) == Shard(index=index, count=count)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("4/4", "numbered from 0 to 3"),
        ("1/0", "at least 1"),
        ("0/0", "at least 1"),
        ("-1/4", "is not I/N"),
        ("1", "is not I/N"),
        ("a/b", "is not I/N"),
        ("1/2/3", "is not I/N"),
        ("", "is not I/N"),
    ],
)
def test_bad_shards_are_bad_input(text: str, why: str) -> None:
    with pytest.raises(BadInputError, match=why) as caught:
        parse_shard(text)
    assert str(caught.value).startswith("--shard: ")


def test_labels_round_trip_and_refuse_what_no_shard_writes() -> None:
    assert parse_label(Shard(index=2, count=5).label) == Shard(index=2, count=5)
    assert parse_label("5-of-5") is None
    assert parse_label("x-of-2") is None


def entry(service: str, at: datetime = AT, severity: str = "normal") -> ServiceSummary:
    return ServiceSummary.model_validate(
        {
            "service": service,
            "owner": "team",
            "at": at,
            "severity": severity,
            "reason": "",
            "decision": "GREEN",
            "decision_reason": "",
            "budget_remaining": None,
            "incident": None,
            "incident_state": None,
            "proposals": (),
            "freeze_until": None,
            "slos": (),
        }
    )


def split(summary: Summary, count: int) -> list[tuple[Shard, Summary]]:
    files = []
    for index in range(count):
        shard = Shard(index=index, count=count)
        view = shard_view(summary, shard)
        if view is not None:
            files.append((shard, Summary(at=summary.at, services=view.services)))
    return files


@given(catalogs, counts)
def test_shard_files_together_are_the_whole_summary(catalog: list[str], count: int) -> None:
    whole = Summary(at=AT, services=tuple(entry(n) for n in sorted(catalog)))
    files = split(whole, count)
    assert combined(files) == (whole if files else None)
    # However the files are listed.
    assert combined(list(reversed(files))) == (whole if files else None)


@given(catalogs, st.integers(min_value=2, max_value=8))
def test_a_newer_layout_speaks_for_its_services(catalog: list[str], count: int) -> None:
    """After an unsharded run, shards: a shard's file wins over the old summary, and a
    service it no longer lists (removed from the catalog) drops out."""
    old = Summary(at=AT, services=tuple(entry(n, severity="fast-burn") for n in sorted(catalog)))
    later = AT + timedelta(minutes=1)
    removed = set(catalog[:1])
    kept = Summary(
        at=later, services=tuple(entry(n, later) for n in sorted(catalog) if n not in removed)
    )
    shards = split(kept, count)
    present = {shard.index for shard, _ in shards}
    result = combined([(WHOLE, old), *shards])
    assert result is not None
    by_name = {e.service: e for e in result.services}
    for name in catalog:
        if shard_of(name, count) not in present:
            # No file of the new layout yet: the old entry stands in.
            assert by_name[name].severity == "fast-burn"
        elif name in removed:
            assert name not in by_name
        else:
            assert by_name[name].at == later


def test_the_newest_entry_stands_in_while_a_layout_fills() -> None:
    later = AT + timedelta(minutes=1)
    first = Shard(index=shard_of("checkout", 2), count=2)
    files = [
        (WHOLE, Summary(at=AT, services=(entry("checkout"), entry("payments")))),
        (first, Summary(at=later, services=(entry("checkout", later),))),
    ]
    assert shard_of("payments", 2) != first.index
    result = combined(files)
    assert result is not None and result.at == later
    assert [(e.service, e.at) for e in result.services] == [("checkout", later), ("payments", AT)]


def test_a_shards_view_is_its_services_and_their_latest_instant() -> None:
    later = AT + timedelta(minutes=5)
    summary = Summary(at=later, services=(entry("checkout", AT), entry("payments", later)))
    mine = Shard(index=shard_of("checkout", 2), count=2)
    view = shard_view(summary, mine)
    assert view is not None and view.at == AT
    assert [e.service for e in view.services] == ["checkout"]
    assert shard_view(summary, WHOLE) is summary
    assert shard_view(None, mine) is None

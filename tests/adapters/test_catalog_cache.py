"""What each service file parsed to is kept by content, and only ever saves a parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from safedeploy.adapters import catalog_files
from safedeploy.adapters.catalog_cache import CACHE_FILE, ParsedServices
from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.domain.catalog import Catalog
from testing.builders import service_yaml, write_service


def cached(services: Path, cache: Path) -> Catalog:
    """The catalog loaded through the cache, which is then saved."""
    parsed = ParsedServices.open(cache)
    catalog = load_catalog([services], partial=True, parsed=parsed)
    parsed.save()
    return catalog


def test_an_unchanged_catalog_is_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("checkout", "payments"):
        write_service(tmp_path / "services", name)
    first = cached(tmp_path / "services", tmp_path / "cache")
    assert (tmp_path / "cache" / CACHE_FILE).is_file()

    def no_parse(text: str) -> None:
        raise AssertionError("parsed a file the cache holds")

    monkeypatch.setattr(catalog_files, "_fast_data", no_parse)
    assert cached(tmp_path / "services", tmp_path / "cache") == first


def test_a_changed_file_is_read_from_its_new_bytes(tmp_path: Path) -> None:
    services, cache = tmp_path / "services", tmp_path / "cache"
    write_service(services, "checkout")
    cached(services, cache)
    write_service(services, "checkout", service_yaml().replace("team-checkout", "team-new"))
    (service,) = cached(services, cache).services
    assert service.metadata.owner == "team-new"


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"schema_version": 1, "services": 3}'])
def test_a_damaged_cache_costs_a_parse_not_a_wrong_catalog(tmp_path: Path, content: bytes) -> None:
    services, cache = tmp_path / "services", tmp_path / "cache"
    write_service(services, "checkout")
    expected = load_catalog([services])
    cache.mkdir()
    (cache / CACHE_FILE).write_bytes(content)
    assert cached(services, cache) == expected
    assert cached(services, cache) == expected  # and rewritten whole


def test_a_broken_file_is_reported_with_its_line_whatever_the_cache(tmp_path: Path) -> None:
    services, cache = tmp_path / "services", tmp_path / "cache"
    write_service(services, "checkout", service_yaml().replace("  owner: team-checkout\n", ""))
    runs = [cached(services, cache).broken for _ in range(2)]
    assert runs[0] == runs[1]
    (broken,) = runs[0]
    assert "owner" in broken.violations[0]
    assert not (cache / CACHE_FILE).exists() or b"checkout" not in (cache / CACHE_FILE).read_bytes()

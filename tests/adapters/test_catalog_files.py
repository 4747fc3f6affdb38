from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safedeploy.adapters.catalog_files import load_catalog
from safedeploy.errors import CatalogError
from testing.builders import service_yaml, write_service

LINE = re.compile(
    r'^(?P<file>[^:]+):(?P<line>\d+): (?P<path>(?:[^:"\s]|"(?:[^"\\]|\\.)*")+): (?P<msg>.+)$'
)


def _violations(folder: Path) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog([folder])
    for line in info.value.violations:
        assert LINE.match(line), line
        assert "\n" not in line
    return info.value.violations


def test_example_catalog_of_the_repository_is_valid() -> None:
    catalog = load_catalog([Path(__file__).parents[2] / "services"])
    assert {s.name for s in catalog.services} >= {"checkout", "payments", "search"}


def test_typo_is_reported_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    text = service_yaml().replace("      objective: 0.999", "      objectve: 0.999")
    write_service(tmp_path, text=text)
    missing, unknown = _violations(tmp_path)
    lineno = text.splitlines().index("      objectve: 0.999") + 1
    assert missing.endswith(": spec.slos[0].objective: this field is required")
    assert unknown.endswith(
        f":{lineno}: spec.slos[0].objectve: unknown field 'objectve' (did you mean 'objective'?)"
    )


def test_every_violation_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = (
        service_yaml()
        .replace("  owner: team-checkout\n", "")
        .replace("objective: 0.999", "objective: 150")
        .replace("strategy: canary", "strategy: bluegreen")
    )
    write_service(tmp_path, text=text)
    lines = _violations(tmp_path)
    paths = {LINE.match(x).group("path") for x in lines}  # type: ignore[union-attr]
    assert paths == {"metadata.owner", "spec.slos[0].objective", "spec.deployment.strategy"}
    assert any("every service needs an owner" in x for x in lines)


def test_errors_of_several_files_are_all_reported(tmp_path: Path) -> None:
    write_service(tmp_path, "aaa", service_yaml("aaa").replace("kind: rollout", "kind: nope"))
    write_service(tmp_path, "bbb", "apiVersion: [unclosed\n")
    lines = _violations(tmp_path)
    assert len(lines) == 2
    assert "aaa.yaml" in lines[0] and "bbb.yaml" in lines[1]


def test_same_service_in_two_files(tmp_path: Path) -> None:
    write_service(tmp_path, "checkout")
    (tmp_path / "sub").mkdir()
    other = write_service(tmp_path / "sub", "checkout")
    with pytest.raises(CatalogError) as info:
        load_catalog([tmp_path / "checkout.yaml", other])
    assert "also defined in" in info.value.violations[0]


def test_name_must_match_the_file(tmp_path: Path) -> None:
    write_service(tmp_path, "payments", service_yaml("checkout"))
    [line] = _violations(tmp_path)
    assert "must match the file name" in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"   \n\n", "the file is empty"),
        (b"a: [1, 2\n", "(yaml)"),
        (b"- just\n- a list\n", "expected a mapping"),
        (b"name: caf\xe9\n", "not valid UTF-8"),
        (b"a: 1\na: 2\n", "duplicate"),
        (b"a: 1\n---\nb: 2\n", "one YAML document"),
    ],
)
def test_malformed_files(tmp_path: Path, content: bytes, expected: str) -> None:
    (tmp_path / "checkout.yaml").write_bytes(content)
    [line] = _violations(tmp_path)
    assert expected in line


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(ord("b"), ord("j")):
        prev = chr(i - 1)
        lines.append(f"{chr(i)}: &{chr(i)} [" + ",".join([f"*{prev}"] * 9) + "]")
    (tmp_path / "checkout.yaml").write_text("\n".join(lines) + "\n")
    [line] = _violations(tmp_path)
    assert "aliases are expanded" in line


def test_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    (tmp_path / "checkout.yaml").write_bytes(b"# padding\n" * (1024 * 1024))
    [line] = _violations(tmp_path)
    assert "over the limit" in line


def test_label_value_breaking_out_of_selector(tmp_path: Path) -> None:
    text = service_yaml().replace(
        'total: http_requests_total{service="checkout"}',
        "total: 'http_requests_total{service=\"checkout\"} or vector(1)'",
    )
    write_service(tmp_path, text=text)
    [line] = _violations(tmp_path)
    assert "spec.slos[0].sli.total" in line


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_any_bytes_give_a_catalog_or_a_clean_error(tmp_path: Path, blob: bytes) -> None:
    (tmp_path / "checkout.yaml").write_bytes(blob)
    try:
        load_catalog([tmp_path])
    except CatalogError as exc:
        assert exc.violations
        assert all(LINE.match(v) for v in exc.violations)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_valid_file_gives_a_catalog_or_a_clean_error(
    tmp_path: Path, data: st.DataObject
) -> None:
    text = service_yaml().encode()
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start, min(len(text), start + 20)))
    junk = data.draw(st.binary(max_size=12))
    (tmp_path / "checkout.yaml").write_bytes(text[:start] + junk + text[end:])
    try:
        load_catalog([tmp_path])
    except CatalogError as exc:
        assert all(LINE.match(v) for v in exc.violations)


def test_a_partial_catalog_keeps_the_services_that_load(tmp_path: Path) -> None:
    folder = tmp_path / "services"
    write_service(folder, "checkout")
    write_service(folder, "payments", service_yaml("payments").replace("owner:", "ownr:"))
    write_service(folder, "search", service_yaml("checkout"))
    with pytest.raises(CatalogError) as whole:
        load_catalog([folder])
    catalog = load_catalog([folder], partial=True)
    assert [s.name for s in catalog.services] == ["checkout"]
    assert [b.name for b in catalog.broken] == ["payments", "search"]
    assert [v for b in catalog.broken for v in b.violations] == whole.value.violations
    assert catalog.names == {"checkout", "payments", "search"}

from __future__ import annotations

from pathlib import Path

import pytest

from safedeploy.adapters.rego_policies import RegoPolicies
from safedeploy.domain.policy import denial_rules
from safedeploy.errors import BadInputError

EXAMPLE = Path(__file__).parents[2] / "examples" / "policies" / "latency-budget-floor.rego"


def _document(owner: str, remaining: float | None) -> dict[str, object]:
    return {
        "service": "checkout",
        "owner": owner,
        "slos": [{"slo": "latency", "budget_remaining": remaining}],
    }


def _state(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "policies").mkdir()
    for name, text in files.items():
        (tmp_path / "policies" / name).write_text(text)
    return tmp_path


def test_no_policies_folder_denies_nothing(tmp_path: Path) -> None:
    assert RegoPolicies.load(tmp_path).denials(_document("team-payments", 0.1)) == []


def test_example_policy_denies_with_its_file_name(tmp_path: Path) -> None:
    state = _state(tmp_path, **{"floor.rego": EXAMPLE.read_text()})
    policies = RegoPolicies.load(state)
    denials = policies.denials(_document("team-payments", 0.5))
    assert denials == [
        ("policies/floor.rego", "checkout latency budget 50% is under the payments floor of 75%")
    ]
    [rule] = denial_rules(denials)
    assert rule.rule == "rego:policies/floor.rego" and rule.outcome == "fail"
    assert policies.denials(_document("team-payments", 0.9)) == []
    assert policies.denials(_document("team-search", 0.1)) == []
    assert policies.denials(_document("team-payments", None)) == []


def test_each_denial_is_attributed_to_its_own_file(tmp_path: Path) -> None:
    rule = 'package safedeploy\nimport rego.v1\ndeny contains "{msg}" if {{ input.owner == "x" }}\n'
    state = _state(
        tmp_path,
        **{"a.rego": rule.format(msg="from a"), "b.rego": rule.format(msg="from b")},
    )
    assert RegoPolicies.load(state).denials({"owner": "x"}) == [
        ("policies/a.rego", "from a"),
        ("policies/b.rego", "from b"),
    ]


def test_invalid_rego_is_one_line_naming_the_file(tmp_path: Path) -> None:
    state = _state(tmp_path, **{"broken.rego": "package safedeploy\ndeny[ {\n"})
    with pytest.raises(BadInputError) as info:
        RegoPolicies.load(state)
    message = str(info.value)
    assert message.startswith("policies/broken.rego: invalid Rego:")
    assert "\n" not in message

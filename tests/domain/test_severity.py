from safedeploy.domain.severity import (
    BURNING,
    INCIDENT_SEVERITIES,
    ORDER,
    ROLLBACK_ON,
    is_burning,
    rank,
    worst,
)


def test_worst_follows_the_severity_order() -> None:
    assert ORDER == ("normal", "unknown", "slow-burn", "fast-burn", "exhausted")
    assert worst(["normal", "unknown"]) == "unknown"
    assert worst(["slow-burn", "unknown", "normal"]) == "slow-burn"
    assert worst(["fast-burn", "exhausted", "slow-burn"]) == "exhausted"
    assert worst([]) == "unknown"


def test_incident_severities_are_the_burning_ones_in_order() -> None:
    assert INCIDENT_SEVERITIES == ("slow-burn", "fast-burn", "exhausted")
    assert frozenset(INCIDENT_SEVERITIES) == BURNING
    assert ROLLBACK_ON < BURNING
    assert [rank(s) for s in INCIDENT_SEVERITIES] == sorted(rank(s) for s in INCIDENT_SEVERITIES)
    assert [s for s in ORDER if is_burning(s)] == list(INCIDENT_SEVERITIES)

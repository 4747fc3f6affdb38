import pytest
from hypothesis import given
from hypothesis import strategies as st

from safedeploy.domain.objectives import objective_ratio


@pytest.mark.parametrize(
    ("written", "ratio"),
    [(99.9, 0.999), (0.999, 0.999), (99.95, 0.9995), (50, 0.5), (0.5, 0.5), (95, 0.95)],
)
def test_plausible_ratios_and_percents_are_one_ratio(written: float, ratio: float) -> None:
    assert objective_ratio(written) == ratio


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        (9.99, "9.99 is read as 9.99%.*did you mean 99.9\\?"),
        (999, "999 is read as 999%.*did you mean 99.9\\?"),
        (9999, "did you mean 99.99\\?"),
        (9.5, "did you mean 95\\?"),
        (0.0999, "0.0999 is 9.99%.*did you mean 0.999\\?"),
        (1.5, "1.5 is read as 1.5%, not a plausible objective"),
        (150, "150 is read as 150%, not a plausible objective"),
        (0.001, "0.001 is 0.1%, not a plausible objective"),
        (100, "leaves no error budget"),
        (1, "leaves no error budget"),
    ],
)
def test_implausible_objectives_name_the_likely_intent(written: float, hint: str) -> None:
    with pytest.raises(ValueError, match=hint):
        objective_ratio(written)


def test_no_guess_when_no_moved_decimal_point_makes_sense() -> None:
    with pytest.raises(ValueError) as refused:
        objective_ratio(1.5)
    assert "did you mean" not in str(refused.value)


@given(st.floats(min_value=1e-6, max_value=1e6))
def test_accepted_exactly_from_half_up_to_all(value: float) -> None:
    percent = value if value > 1 else value * 100
    try:
        ratio = objective_ratio(value)
    except ValueError as refused:
        assert not 50 <= percent < 100
        # A guess, when there is one, is itself accepted.
        if "did you mean" in str(refused):
            guess = float(str(refused).rsplit(" ", 1)[1].rstrip("?"))
            assert 0.9 <= objective_ratio(guess) < 1
        return
    assert 50 <= percent < 100
    assert 0.5 <= ratio < 1

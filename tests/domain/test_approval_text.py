"""The evidence README inside a pull request body: its charts resolve or are named."""

from __future__ import annotations

from safedeploy.domain.approval_text import charts_in_body

README = """\
# Incident checkout-1

## Charts

![checkout availability: error ratio](chart-availability-burn-rates.svg)

![elsewhere](https://example.com/picture.svg) and ![nested](../other/chart.svg)
"""
FOLDER = "evidence/incident-checkout-1/"


def test_with_a_permalink_the_charts_come_from_the_commit_that_holds_them() -> None:
    permalink = f"https://github.com/acme/state/blob/0123abc/{FOLDER}README.md"
    body = charts_in_body(README, FOLDER, permalink)
    assert (
        "![checkout availability: error ratio](https://github.com/acme/state/raw/0123abc/"
        f"{FOLDER}chart-availability-burn-rates.svg)"
    ) in body
    # Only files beside the README are rewritten.
    assert "![elsewhere](https://example.com/picture.svg)" in body
    assert "![nested](../other/chart.svg)" in body


def test_without_one_they_are_named_by_their_path() -> None:
    body = charts_in_body(README, FOLDER, None)
    assert f"checkout availability: error ratio: `{FOLDER}chart-availability-burn-rates.svg`" in (
        body
    )
    assert "](chart-" not in body

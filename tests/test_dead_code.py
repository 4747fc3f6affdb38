"""No dead code in the package: every function, method, property, class and import is used.

Checked with vulture over `safedeploy/`. Typer commands and pydantic validators are called
by their frameworks, through decorators, and are not counted as unused.
"""

from __future__ import annotations

import vulture

from testing.cli import REPO_ROOT

FRAMEWORK_DECORATORS = ["@*.command", "@*.callback", "@model_validator", "@field_validator"]
KINDS = ("function", "method", "property", "class", "import")


def test_nothing_in_the_package_is_unused() -> None:
    finder = vulture.Vulture(ignore_decorators=FRAMEWORK_DECORATORS)
    finder.scavenge([str(REPO_ROOT / "safedeploy")])
    unused = [
        f"{item.filename.relative_to(REPO_ROOT)}:{item.first_lineno}: {item.typ} {item.name}"
        for item in finder.get_unused_code(min_confidence=60)
        if item.typ in KINDS
    ]
    assert unused == []

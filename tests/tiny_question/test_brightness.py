"""Step 2 of adding a question: a test per branch of its verdict."""
import pytest

from tests.tiny_question.brightness_verdict import darkness


@pytest.mark.parametrize(("level", "dark"), [(40.0, True), (160.0, False)])
def test_darkness_branches(level: float, dark: bool) -> None:
    assert darkness(level, 100.0).dark is dark

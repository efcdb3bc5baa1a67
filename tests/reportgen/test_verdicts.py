"""Verdicts: judged when the report is rendered, their cut-offs outside every experiment's cache key; and typed
results passing between experiments through the store."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from reportgen.errors import UserError

VERDICTS = """\
from dataclasses import dataclass

from reportgen import verdict


@dataclass(frozen=True)
class Size:
    large: bool


@verdict
def numbers_size(numbers, large_above: int = 3) -> Size:
    return Size(numbers["n"] > large_above)
"""

SIZE = '<p class="size">{% if verdicts.numbers.large %}many{% else %}few{% endif %}</p>\n'


@pytest.fixture
def judged(tiny):
    tiny.write(f"{tiny.pkg}/verdicts.py", VERDICTS)
    tiny.edit(tiny.root / "tpl/chapter.html.j2", "label {{ results.numbers.label }}.</p>\n",
              "label {{ results.numbers.label }}.</p>\n" + SIZE)
    return tiny


def test_a_verdict_is_rendered_from_the_result_and_its_cut_off(judged) -> None:
    assert judged.build().code == 0
    assert '<p class="size">many</p>' in judged.html()  # n = 4 > 3


def test_changing_a_cut_off_renders_again_and_runs_nothing(judged) -> None:
    judged.build()
    run = judged.build("numbers.large_above=10")
    assert run.code == 0 and run.ran == set() and "numbers" in run.cached
    assert '<p class="size">few</p>' in judged.html()
    assert "large_above" not in judged.json("manifest.json")["outcomes"]["numbers"]["meta"]["params"]


def test_changing_a_verdict_function_renders_again_and_runs_nothing(judged) -> None:
    judged.build()
    judged.edit(judged.module("verdicts"), 'numbers["n"] > large_above', 'numbers["n"] > 2 * large_above')
    run = judged.build()
    assert run.ran == set() and '<p class="size">few</p>' in judged.html()


def test_an_unknown_key_in_a_shared_section_is_still_an_error(judged) -> None:
    with pytest.raises(UserError, match="no setting 'large_abov'"):
        judged.build("numbers.large_abov=1")


def test_an_experiment_cannot_take_a_verdict(judged) -> None:
    judged.write(f"{judged.pkg}/bad.py", """\
        from reportgen import experiment


        @experiment
        def bad(numbers_size) -> int:
            return 1
        """)
    with pytest.raises(UserError, match="takes verdict 'numbers_size'"):
        judged.build()


def test_a_verdict_judges_experiments_only(judged) -> None:
    judged.edit(judged.module("verdicts"), "def numbers_size(numbers,", "def numbers_size(numbers, device,")
    with pytest.raises(UserError, match="which is no experiment"):
        judged.build()


def test_a_failing_verdict_is_one_line_naming_it(judged) -> None:
    judged.edit(judged.module("verdicts"), 'numbers["n"]', 'numbers["absent"]')
    with pytest.raises(UserError, match="verdict numbers_size .* failed: KeyError"):
        judged.build()


TYPED = """\
from dataclasses import dataclass

from reportgen import experiment


@dataclass(frozen=True)
class Pair:
    low: int
    high: int
    names: tuple[str, ...]


@experiment
def pair() -> Pair:
    return Pair(1, 5, ("a", "b"))


@experiment
def spread(pair: Pair) -> dict:
    assert isinstance(pair, Pair) and pair.names == ("a", "b")
    return {"width": pair.high - pair.low}
"""


def test_a_dataclass_result_reaches_the_next_experiment_and_the_templates_as_itself(tiny) -> None:
    tiny.write(f"{tiny.pkg}/typed.py", TYPED)
    tiny.edit(tiny.root / "tpl/chapter.html.j2", "label {{ results.numbers.label }}.</p>\n",
              "label {{ results.numbers.label }}.</p>\n<p class='pair'>{{ results.pair.high }} "
              "{{ results.spread.width }}</p>\n")
    assert tiny.build().code == 0
    assert "<p class='pair'>5 4</p>" in tiny.html()
    run = tiny.build(force=("spread",))  # spread runs again and reads pair from the store
    assert run.code == 0 and run.ran == {"spread"} and "pair" in run.cached
    assert tiny.json("results.json")["experiments"]["pair"]["values"] == {"low": 1, "high": 5}



@dataclass(frozen=True)
class _Pair:
    low: int
    high: int
    names: tuple[str, ...]


def test_results_json_flattens_dataclasses_but_leaves_figures_out(tmp_path) -> None:
    from reportgen.report import scalars
    from reportgen.store import Figure

    figure = Figure(Path(tmp_path / "f.svg"), "f.svg")
    assert scalars({"plot": figure, "pair": _Pair(1, 5, ("a",))}) == {"pair.low": 1, "pair.high": 5}

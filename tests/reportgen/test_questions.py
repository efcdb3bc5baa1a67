"""Questions: whether each is answered by what was computed, the numbers it rests on, and the reason it is not."""
from __future__ import annotations

import numpy as np
import pytest

from reportgen import Question, UserError
from reportgen.questions import answer, lookup

Q1 = Question("1.Q1", "1.1", "★", "How many parameters?", ("params",),
              (("total", "params.total"), ("first layer", "params.layers.0.total"), ("share", "params.share")))
RESULTS = {"params": {"total": 138357544, "layers": [{"total": 1792}, {"total": 36928}], "share": np.array(0.8936)},
           "other": {"x": 1}}


def test_question_chapter_and_anchor() -> None:
    assert (Q1.chapter, Q1.anchor) == (1, "q1-q1")
    assert Question("2.Q11", "2.3", "", "t").anchor == "q2-q11"


def test_lookup_follows_dotted_paths_and_list_indices() -> None:
    assert lookup(RESULTS, "params.total") == 138357544
    assert lookup(RESULTS, "params.layers.1.total") == 36928
    share = lookup(RESULTS, "params.share")  # a 0-d array comes back as a plain number
    assert share == pytest.approx(0.8936) and type(share) is float
    np.testing.assert_array_equal(lookup({"a": {"v": np.arange(3)}}, "a.v"), [0, 1, 2])


def test_answered_when_every_needed_experiment_succeeded() -> None:
    for status in ("ran", "cached"):
        a = answer(Q1, {"params": (status, None)}, RESULTS)
        assert a.answered and a.status == "answered" and a.reason is None
        assert a.key_numbers == {"total": 138357544, "first layer": 1792, "share": pytest.approx(0.8936)}


@pytest.mark.parametrize(("status", "reason", "expected"), [
    ("failed", "ValueError: boom (at x.py:3)", "params failed: ValueError: boom (at x.py:3)"),
    ("skipped", "needs net, which failed: missing", "params skipped: needs net, which failed: missing"),
])
def test_not_computed_gives_the_first_reason(status: str, reason: str, expected: str) -> None:
    q = Question("1.Q3", "1.1", "", "t", ("params", "other"))
    a = answer(q, {"params": (status, reason), "other": ("failed", "later")}, RESULTS)
    assert (a.answered, a.status, a.reason, a.key_numbers) == (False, "not computed", expected, {})


def test_question_needing_an_experiment_that_does_not_exist_yet() -> None:
    q = Question("1.Q4", "1.1", "Bonus", "t", ("params", "conv1_maps"))
    a = answer(q, {"params": ("ran", None)}, RESULTS)
    assert a.status == "not computed" and a.reason == "experiment conv1_maps does not exist in this project yet"


def test_question_without_experiments_is_not_computed_yet() -> None:
    a = answer(Question("2.Q1", "2.1", "", "t"), {"params": ("ran", None)}, RESULTS)
    assert a.status == "not computed" and a.reason == "no experiment computes this answer yet"


def test_key_number_path_that_is_not_in_the_result_is_an_error_naming_it() -> None:
    q = Question("1.Q2", "1.1", "", "t", ("params",), (("total", "params.totl"),))
    with pytest.raises(UserError, match=r"1\.Q2.*'params\.totl'"):
        answer(q, {"params": ("ran", None)}, RESULTS)


def test_key_number_past_the_end_of_a_list_is_an_error() -> None:
    q = Question("1.Q2", "1.1", "", "t", ("params",), (("layer", "params.layers.5.total"),))
    with pytest.raises(UserError, match=r"'params\.layers\.5\.total'"):
        answer(q, {"params": ("ran", None)}, RESULTS)


@pytest.mark.parametrize("broken", ["a", "b", "c"])
@pytest.mark.parametrize("status", ["failed", "skipped"])
def test_a_question_is_not_answered_when_any_one_of_its_experiments_did_not_succeed(broken: str, status: str) -> None:
    q = Question("1.Q5", "1.1", "", "t", ("a", "b", "c"))
    statuses = {name: ("ran", None) for name in "abc"} | {broken: (status, "why")}
    got = answer(q, statuses, {name: {} for name in "abc" if name != broken})
    assert (got.answered, got.status, got.reason) == (False, "not computed", f"{broken} {status}: why")


def test_a_question_resting_on_a_failed_and_a_computed_experiment_shows_not_computed_in_the_report(tiny) -> None:
    tiny.edit(tiny.root / f"{tiny.pkg}/questions.py", '("curve",), (("peak", "curve.peak"),)',
              '("numbers", "picture"), (("total", "numbers.total"),)')
    tiny.edit(tiny.module("images"), "    fig, ax", "    raise ValueError('no picture')\n    fig, ax")
    run = tiny.build()
    assert run.code == 1
    questions = tiny.json("results.json")["questions"]
    assert questions["1.Q2"]["status"] == "not computed" and "picture failed: ValueError: no picture" in \
        questions["1.Q2"]["reason"]
    assert questions["1.Q1"]["status"] == "answered"
def test_a_key_number_carries_its_format() -> None:
    q = Question("1.Q1", "1.1", "", "?", ("a",), (("share", "a.share", "pct"), ("count", "a.n")))
    assert q.number_formats == {"share": "pct", "count": ""}
    a = answer(q, {"a": ("ran", None)}, {"a": {"share": 0.5, "n": 3}})
    assert a.key_numbers == {"share": 0.5, "count": 3}


def test_a_key_number_is_read_from_a_dataclass_result() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class R:
        inner: dict

    q = Question("1.Q1", "1.1", "", "?", ("a",), (("x", "a.inner.x"),))
    assert answer(q, {"a": ("cached", None)}, {"a": R({"x": 7})}).key_numbers == {"x": 7}
    wrong = Question("1.Q1", "1.1", "", "?", ("a",), (("x", "a.outer.x"),))
    with pytest.raises(UserError, match=r"'a\.outer\.x' is not in the results \(KeyError: 'outer'\)"):
        answer(wrong, {"a": ("cached", None)}, {"a": R({"x": 7})})

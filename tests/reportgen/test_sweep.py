"""Sweeps: one report per combination of settings, sharing what they have in common, and an index comparing them."""
from __future__ import annotations

import csv
import json

import pytest

from reportgen import UserError
from reportgen.sweep import Combination, combinations, split_values, sweep


def test_values_split_on_top_level_commas_only() -> None:
    assert split_values("a,b, c") == ["a", "b", "c"]
    assert split_values('[1, 2],[3],"x,y"') == ["[1, 2]", "[3]", '"x,y"']
    with pytest.raises(UserError, match="empty value"):
        split_values("a,,b")


def test_every_combination_is_named_after_the_settings_that_vary() -> None:
    found = combinations(["a.b=1,2", "c.d=[1, 2],[3]", "e.f=x"])
    assert found == [
        Combination("a.b=1,c.d=-1,-2", ("a.b=1", "c.d=[1, 2]", "e.f=x")),
        Combination("a.b=1,c.d=-3", ("a.b=1", "c.d=[3]", "e.f=x")),
        Combination("a.b=2,c.d=-1,-2", ("a.b=2", "c.d=[1, 2]", "e.f=x")),
        Combination("a.b=2,c.d=-3", ("a.b=2", "c.d=[3]", "e.f=x")),
    ]
    with pytest.raises(UserError, match="nothing to sweep"):
        combinations([])


@pytest.mark.parametrize("jobs", [1, 2])  # 2: both combinations on the same two worker processes
def test_a_sweep_shares_the_results_its_combinations_have_in_common(tiny, jobs: int) -> None:
    tiny.purge()
    lines: list[str] = []
    assert sweep(tiny.project, tiny.options(jobs=jobs), ["numbers.n=4,5"], lines.append) == 0, "\n".join(lines)
    folder = tiny.build_dir / "sweep"

    def statuses(name: str) -> dict[str, str]:
        manifest = json.loads((folder / name / "manifest.json").read_text())
        return {n: o["status"] for n, o in manifest["outcomes"].items()}

    assert statuses("numbers.n=4") == {"numbers": "ran", "ramp": "ran", "curve": "ran", "picture": "ran"}
    # the second combination runs only what its setting changes: ramp and picture come from the cache
    assert statuses("numbers.n=5") == {"numbers": "ran", "ramp": "cached", "curve": "ran", "picture": "cached"}
    assert (folder / "numbers.n=5" / "report.html").is_file()
    rows = list(csv.reader((folder / "index.csv").open()))
    assert rows[0] == ["question", "key number", "numbers.n=4", "numbers.n=5"]
    assert ["1.Q1", "total", "12000", "15000"] in rows and ["1.Q1", "ratio", "0.25", "0.25"] in rows
    assert ["1.Q2", "peak", "8.0", "10.0"] in rows and ["2.Q1", "(status)", "not computed", "not computed"] in rows
    html = (folder / "index.html").read_text()
    assert 'href="numbers.n=4/report.html"' in html and html.count('class="differs"') == 2


def test_a_bad_value_fails_its_combination_and_the_others_build(tiny) -> None:
    tiny.purge()
    lines: list[str] = []
    assert sweep(tiny.project, tiny.options(), ["numbers.n=4,four"], lines.append) == 2
    rows = list(csv.reader((tiny.build_dir / "sweep" / "index.csv").open()))
    total = next(r for r in rows if r[:2] == ["1.Q1", "total"])
    assert total[2] == "12000" and total[3].startswith("error: [numbers] n = 'four': expected a int")

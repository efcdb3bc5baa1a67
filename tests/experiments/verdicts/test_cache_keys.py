"""The verdicts' cut-offs are settings of the answers they word, never of the experiments behind them."""
from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.build import Options, prepare, settings_for
from reportgen.project import find_project
from reportgen.verdicts import discover_verdicts

ROOT = Path(__file__).resolve().parents[3]


def planned(*overrides: str):
    project = find_project(ROOT)
    options = Options(overrides=overrides, device="cpu", offline=True)
    return prepare(project, options, settings_for(project, options))[0]


@pytest.mark.parametrize("cut_off", ["class_images.certain_above=0.5", "class_images.fairly_above=0.2"])
def test_a_cut_off_of_the_200_step_ascent_leaves_every_cache_key_unchanged(cut_off: str) -> None:
    before, after = planned(), planned(cut_off)
    assert before["class_images"].params["steps"] == 200
    keys = [{n: p.key for n, p in plan.items() if not p.node.is_verdict} for plan in (before, after)]
    assert keys[0] == keys[1] and "class_images" in keys[0]
    assert cut_off.split("=")[0].split(".")[1] not in after["class_images"].params


def test_every_verdict_is_discovered_with_the_experiments_and_alone() -> None:
    alone = {n.name for n in discover_verdicts("experiments.verdicts")}
    assert alone and alone == {n for n, p in planned().items() if p.node.is_verdict}

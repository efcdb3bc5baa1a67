"""A resource's `resolve` hook: its choice applies to its whole section, is recorded, and --strict refuses it."""
from __future__ import annotations

from pathlib import Path

import pytest

from reportgen import UserError, experiment, resource
from reportgen.assets import Choice
from reportgen.config import Settings
from reportgen.plan import Context, plan, watched_paths
from reportgen.registry import build_registry, node_from_function
from reportgen.sources import SourceIndex


def _pick(offline: bool, model: str = "big", standin: str = "small") -> Choice:
    if offline:
        return Choice("", model, standin, (("model", standin),), "no network", substitute=True, watch=("/w/big.pth",))
    return Choice("", model, model)


@resource(section="nets.main", resolve=_pick)
def main_net(offline: bool, model: str = "big", standin: str = "small") -> str:
    return model


@resource(section="nets.main")
def main_arch(model: str = "big") -> str:
    return f"arch of {model}"


@experiment
def uses(main_net: str, main_arch: str) -> dict:
    return {"net": main_net, "arch": main_arch}


def _plan(offline: bool, strict: bool = False):
    nodes = {f.__name__: node_from_function(f) for f in (main_net, main_arch, uses)}
    context = Context("cpu", offline, Path("/tmp/unused"), strict=strict)
    return plan(build_registry(nodes), Settings({}, "test"), context, SourceIndex(Path(__file__).parent))


def test_the_choice_sets_every_resource_of_the_section_and_the_keys_follow():
    online, offline = _plan(False), _plan(True)
    assert online["main_arch"].params["model"] == "big" and offline["main_arch"].params["model"] == "small"
    assert offline["main_net"].params["model"] == "small"
    assert online["uses"].key != offline["uses"].key
    chosen = offline["main_net"].choice
    assert chosen.section == "nets.main" and chosen.substitute and chosen.reason == "no network"
    assert "/w/big.pth" in watched_paths(offline)


def test_strict_refuses_a_stand_in_with_one_message_listing_it():
    with pytest.raises(UserError, match=r"--strict.*\n  \[nets.main\] small stands in for big — no network"):
        _plan(True, strict=True)
    assert _plan(False, strict=True)["main_net"].params["model"] == "big"  # nothing substituted: fine


def test_a_hook_that_cannot_decide_is_a_one_line_error():
    def broken(offline: bool, model: str = "x") -> Choice:
        raise ValueError("unknown model 'x'")

    @resource(section="nets.other", resolve=broken)
    def other_net(offline: bool, model: str = "x") -> str:
        return model

    registry = build_registry({"other_net": node_from_function(other_net)})
    with pytest.raises(UserError, match=r"\[nets.other\] unknown model 'x'"):
        plan(registry, Settings({}, "t"), Context("cpu", True, Path("/tmp")), SourceIndex(Path(__file__).parent))

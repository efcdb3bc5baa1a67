"""The resources' configuration: an unknown network or weights name stops the build while planning, in one line."""
from __future__ import annotations

from pathlib import Path

import pytest

from reportgen import UserError
from reportgen.config import load_settings
from reportgen.plan import Context, plan
from reportgen.registry import discover
from reportgen.sources import SourceIndex

ROOT = Path(__file__).resolve().parents[2]


def _plan(*overrides: str) -> None:
    settings = load_settings(ROOT / "configs" / "offline.toml", list(overrides))
    plan(discover("experiments"), settings, Context("cpu", True, ROOT / "build" / "nowhere"), SourceIndex(ROOT))


def test_an_unknown_model_name_is_refused_before_anything_runs() -> None:
    with pytest.raises(UserError, match=r"^\[networks.transfer\] .*'?vgg17'?.*") as error:
        _plan("networks.transfer.model=vgg17")
    assert "\n" not in str(error.value)


def test_known_names_plan_without_error() -> None:
    _plan("networks.transfer.model=vgg16", "networks.transfer.weights=none")


def test_unknown_weights_are_refused_naming_the_valid_ones() -> None:
    with pytest.raises(UserError, match=r"^\[networks.transfer\] unknown weights 'IMAGENET1K_V9' for vgg16: use one "
                                        r"of IMAGENET1K_V1.*, a file path, or none$"):
        _plan("networks.transfer.model=vgg16", "networks.transfer.weights=IMAGENET1K_V9")

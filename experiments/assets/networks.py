"""Pretrained networks by configuration, the files they need, and a cheap fingerprint for cache keys.

`model`: a torchvision classification model name (`vgg16`), `timm:<name>`, or `py:<module>:<callable>` (a factory
returning an nn.Module, for small test networks). `weights`: a torchvision weights enum entry (`IMAGENET1K_V1`,
`DEFAULT`; torchvision models only), a file path (a state dict, loaded with weights_only=True), or `none`
(random initialisation from `seed`). Enum weights live in torchvision's cache `$TORCH_HOME/hub/checkpoints`
and are downloaded there through the enum's own API when missing, unless offline.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from experiments.assets import pip_weights
from experiments.assets.architectures import layer_spec
from experiments.assets.download import download, sha256_file
from experiments.assets.filememo import default_memo_dir
from experiments.assets.network_build import Plan, build, plan_network, preprocessing, seeded
from experiments.assets.network_weights import (
    cached_weights_problem,
    hash_prefix,
    hub_file,
    num_classes_in,
    read_state_dict,
    state_dict_mismatch,
    weights_file_problem,
)
from reportgen.assets import Asset, AssetError


@dataclass(frozen=True)
class NetworkConfig:
    model: str = "vgg16"
    weights: str = "IMAGENET1K_V1"
    input_size: int | None = None  # overrides the weights' metadata (needed where there is none)
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    categories: str | None = None  # a text file with one class name per line, in output order


@dataclass(frozen=True)
class Network:
    name: str  # the configured model: "vgg16", "timm:tf_efficientnet_lite0"
    weights: str  # "IMAGENET1K_V1", a file path, or "none"
    source: str  # where the weights came from, for people
    sha256: str | None  # of the weights file; None for random init
    module: nn.Module  # eval mode, requires_grad False, on the requested device
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    categories: tuple[str, ...]  # class names, in output order
    layers: tuple[tuple[str, str], ...]  # (label, module name) from shallow to deep (see architectures.py)
    penultimate: str  # module whose output feeds the classifier (VGG16: classifier.4 = relu7)
    classifier: str  # the last layer (VGG16: classifier.6)
    interpolation: str = "bilinear"  # how the weights' own evaluation resized images ("bilinear", "bicubic")
    crop_fraction: float = 0.875  # and the centre crop: input_size / shorter side after resizing

    def describe(self) -> str:
        digest = f", sha256 {self.sha256[:12]}…" if self.sha256 else ""
        return (
            f"{self.name} (weights {self.weights}; {self.source}{digest}); input {self.input_size}×{self.input_size}, "
            f"{self.interpolation}, crop {self.crop_fraction:.3f}, mean {self.mean}, std {self.std}; "
            f"{len(self.categories)} classes"
        )


def _asset_name(config: NetworkConfig, plan: Plan) -> str:
    return f"{config.model} weights ({plan.enum.name if plan.enum is not None else 'file'})"


def _categories_asset(config: NetworkConfig) -> list[Asset]:
    if config.categories is None or Path(config.categories).expanduser().is_file():
        return []
    return [Asset(f"{config.model} class names", str(Path(config.categories).expanduser()), None, "missing")]


def network_assets(config: NetworkConfig, cache_dir: Path) -> list[Asset]:
    """The files the network needs and their state, without building it. Enum weights: missing, truncated,
    sha256 mismatch (hash memoised under `cache_dir`). A file: missing, empty, not in torch.save format."""
    plan = plan_network(config.model, config.weights)
    assets = _categories_asset(config)
    if plan.enum is not None:
        path = hub_file(plan.enum.url)
        problem = cached_weights_problem(path, plan.enum.meta.get("_file_size"), Path(cache_dir))
        assets.append(Asset(_asset_name(config, plan), str(path), plan.enum.url, problem))
    elif plan.path is not None:
        assets.append(Asset(_asset_name(config, plan), str(plan.path), None, weights_file_problem(plan.path)))
    elif plan.package is not None:
        assets.append(_package_asset(config, plan))
    return assets


def _package_asset(config: NetworkConfig, plan: Plan) -> Asset:
    name = f"{config.model} weights ({plan.package})"
    pip_name = pip_weights.package_name(plan.package).replace("_", "-")
    try:
        path = pip_weights.package_weights_file(plan.package)
    except FileNotFoundError as error:
        return Asset(name, f"the Python package {pip_name}", None, f"{error}")
    return Asset(name, str(path), None, weights_file_problem(path))


def _stat(path: Path) -> dict[str, int | None]:
    try:
        st = path.stat()
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    except OSError:
        return {"size": None, "mtime_ns": None}


def network_fingerprint(config: NetworkConfig, seed: int = 0) -> dict[str, Any]:
    """Cheap, JSON-able identity for cache keys. Enum weights are named by their sha256 prefix (the cache's
    location does not matter); a file by path, size, mtime and sha256 (hashed once, memoised by size and mtime);
    random init by its seed."""
    plan = plan_network(config.model, config.weights)
    fingerprint: dict[str, Any] = {
        "model": config.model, "weights": config.weights, "input_size": config.input_size,
        "mean": list(config.mean) if config.mean else None, "std": list(config.std) if config.std else None,
        "categories": config.categories,
    }
    if plan.enum is not None:
        name = hub_file(plan.enum.url).name
        fingerprint.update(weights=f"{type(plan.enum).__name__}.{plan.enum.name}", file=name, sha256=hash_prefix(name))
    elif plan.path is not None:
        digest = sha256_file(plan.path, default_memo_dir()) if plan.path.is_file() else None
        fingerprint.update(file=str(plan.path.resolve()), sha256=digest, **_stat(plan.path))
    elif plan.package is not None:
        fingerprint.update(_package_fingerprint(plan.package))
    else:
        fingerprint["seed"] = seed
    return fingerprint


def _package_fingerprint(package: str) -> dict[str, Any]:
    """An installed package's weights: its version and the file's sha256 (memoised by size and mtime)."""
    try:
        path = pip_weights.package_weights_file(package)
    except FileNotFoundError:
        return {"package_version": None, "sha256": None}
    return {"package_version": pip_weights.package_version(package), "file": path.name,
            "sha256": sha256_file(path, default_memo_dir())}


def fetch_network(config: NetworkConfig, cache_dir: Path, progress: bool = True) -> list[Asset]:
    """Download enum weights that are missing or broken into torchvision's cache (atomically, hash-checked);
    returns the assets' state afterwards. Local files cannot be fetched: they are reported as they are."""
    plan = plan_network(config.model, config.weights)
    assets = network_assets(config, cache_dir)
    if plan.enum is not None and not assets[-1].ok:
        path = hub_file(plan.enum.url)
        download(plan.enum.url, path, hash_prefix(path.name), progress, name=assets[-1].name)
        assets = network_assets(config, cache_dir)
    return assets


def _check_assets(config: NetworkConfig, plan: Plan, memo_dir: Path, offline: bool) -> None:
    bad = [asset for asset in network_assets(config, memo_dir) if not asset.ok]
    downloadable = plan.enum is not None and not offline and [a.problem for a in bad] == ["missing"]
    if bad and not downloadable:
        raise AssetError(bad)


def _read_weights(config: NetworkConfig, plan: Plan, seed: int) -> tuple[dict[str, torch.Tensor] | None, str]:
    """The state dict to load (None for random init) and where it came from, for people."""
    if plan.enum is not None:
        path = hub_file(plan.enum.url)
        try:
            state = plan.enum.get_state_dict(progress=True, check_hash=True, weights_only=True, map_location="cpu")
        except (OSError, RuntimeError, ValueError) as error:
            problem = f"download failed ({str(error).splitlines()[0] if str(error) else type(error).__name__})"
            raise AssetError([Asset(_asset_name(config, plan), str(path), plan.enum.url, problem)]) from error
        return state, f"torchvision cache {path}"
    if plan.path is not None:
        try:
            return read_state_dict(plan.path), f"file {plan.path}"
        except ValueError as error:
            raise AssetError([Asset(_asset_name(config, plan), str(plan.path), None, str(error))]) from error
    if plan.package is not None:
        return _read_package_weights(config, plan)
    return None, f"random init (seed {seed})"


def _read_package_weights(config: NetworkConfig, plan: Plan) -> tuple[dict[str, torch.Tensor], str]:
    """The weights an installed package ships, renamed to the architecture's keys when they follow
    efficientnet_pytorch's names (the shapes are checked when they are loaded)."""
    asset = _package_asset(config, plan)
    if not asset.ok:
        raise AssetError([asset])
    path = Path(asset.path)
    try:
        state = read_state_dict(path)
        if pip_weights.is_efficientnet_pytorch(state):
            with torch.device("meta"):
                state = pip_weights.efficientnet_to_timm(state, build(plan, None))
    except ValueError as error:
        raise AssetError([Asset(asset.name, str(path), None, str(error))]) from error
    version = pip_weights.package_version(plan.package)
    return state, f"pip package {pip_weights.package_name(plan.package)} {version}"


def _num_classes(plan: Plan, state: dict[str, torch.Tensor] | None) -> int | None:
    """Outputs the architecture must have to take `state`: the enum's class count, or the file's classifier
    rows (read from a meta-device skeleton, so nothing is allocated); None keeps the builder's default."""
    if plan.enum is not None:
        categories = plan.enum.meta.get("categories")
        return len(categories) if categories else None
    if state is None or plan.family == "py":
        return None
    with torch.device("meta"):
        skeleton = build(plan, None)
    return num_classes_in(state, layer_spec(plan.arch, skeleton).classifier)


def _load_state(module: nn.Module, state: dict[str, torch.Tensor], config: NetworkConfig, plan: Plan) -> None:
    mismatch = state_dict_mismatch(module, state)
    if mismatch:
        path = hub_file(plan.enum.url) if plan.enum is not None else plan.path
        url = plan.enum.url if plan.enum is not None else None
        problem = f"not a state dict of {config.model} ({mismatch})"
        raise AssetError([Asset(_asset_name(config, plan), str(path), url, problem)])
    module.load_state_dict(state, strict=False)


def load_network(config: NetworkConfig, device: torch.device | str, offline: bool, seed: int = 0,
                 cache_dir: Path | None = None) -> Network:
    """Build the configured network with its weights, frozen, in eval mode, on `device`.

    Raises AssetError (one line per asset: what, where, what to do) for missing or broken weights (never a
    download when `offline`), and ValueError for an unknown model or weights entry (the valid ones listed).
    `cache_dir`: where the sha256 memo lives (default `<user cache>/reportgen/memo`).
    """
    plan = plan_network(config.model, config.weights)
    memo_dir = Path(cache_dir) if cache_dir else default_memo_dir()
    _check_assets(config, plan, memo_dir, offline)
    state, source = _read_weights(config, plan, seed)
    module = seeded(lambda: build(plan, _num_classes(plan, state)), seed)
    if state is not None:
        _load_state(module, state, config, plan)
    module = module.eval().requires_grad_(False).to(device)
    spec = layer_spec(plan.arch, module)
    input_size, mean, std, interpolation, crop, categories = preprocessing(plan, config, module, spec.classifier)
    weights_path = weights_file(plan)
    return Network(
        name=config.model, weights=plan.enum.name if plan.enum is not None else config.weights, source=source,
        sha256=sha256_file(weights_path, memo_dir) if weights_path else None, module=module,
        input_size=input_size, mean=mean, std=std, categories=categories,
        layers=spec.layers, penultimate=spec.penultimate, classifier=spec.classifier,
        interpolation=interpolation, crop_fraction=crop,
    )


def weights_file(plan: Plan) -> Path | None:
    """Where the plan's weights are (or go): torchvision's cache file, the local file, the installed package's file
    (None when the package is not installed, or for random init)."""
    if plan.enum is not None:
        return hub_file(plan.enum.url)
    if plan.package is not None:
        try:
            return pip_weights.package_weights_file(plan.package)
        except FileNotFoundError:  # not installed: nowhere yet
            return None
    return plan.path

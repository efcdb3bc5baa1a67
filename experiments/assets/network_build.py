"""What a network configuration means (which builder, which weights) and building the bare architecture."""
from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum, get_model_weights, list_models

from experiments.assets import pip_weights
from experiments.methods.features import IMAGENET_MEAN, IMAGENET_STD
from reportgen.assets import Asset, AssetError

if TYPE_CHECKING:
    from experiments.assets.networks import NetworkConfig

WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".pkl", ".tar")
# Builder arguments that torchvision's own builders set when they load these models' ImageNet weights.
_ENUM_BUILD_ARGS = {
    "googlenet": {"transform_input": True, "aux_logits": True, "init_weights": False},
    "inception_v3": {"transform_input": True, "aux_logits": True, "init_weights": False},
}
T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    family: str  # "torchvision", "timm" or "py"
    arch: str  # the torchvision/timm model name, or "module:callable"
    enum: WeightsEnum | None = None  # torchvision weights entry
    path: Path | None = None  # local weights file; none of enum, path and package: random init
    package: str | None = None  # `pip:<package>`: the weights file an installed package ships (pip_weights.py)


def _close(name: str, names: list[str]) -> str:
    near = difflib.get_close_matches(name, names, n=3)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def _check_arch(family: str, arch: str, model: str) -> None:
    known = list_models(module=torchvision.models)
    if family == "torchvision" and arch not in known:
        raise ValueError(
            f"unknown model {model!r}: not a torchvision classification model{_close(arch, known)}"
            " — use a name from torchvision.models.list_models(), timm:<name> or py:<module>:<callable>"
        )
    if family == "timm":
        import timm

        if not timm.is_model(arch):
            raise ValueError(f"unknown timm model {arch!r}{_close(arch, timm.list_models())} — see timm.list_models()")
    if family == "py" and arch.count(":") != 1:
        raise ValueError(f"model {model!r}: write a factory as py:<module>:<callable>, e.g. py:tests.nets:tiny")


def _enum_entry(arch: str, weights: str) -> WeightsEnum | None:
    enum_class = get_model_weights(arch)
    entry = weights.removeprefix(f"{enum_class.__name__}.")
    return enum_class[entry] if entry in enum_class.__members__ else None


def plan_network(model: str, weights: str) -> Plan:
    """Read `model` and `weights` (see networks.py); ValueError naming the valid choices when they are unknown."""
    family, arch = next(((f, model[len(f) + 1:]) for f in ("timm", "py") if model.startswith(f"{f}:")),
                        ("torchvision", model))
    _check_arch(family, arch, model)
    if weights.strip().lower() == "none":
        return Plan(family, arch)
    entry = _enum_entry(arch, weights) if family == "torchvision" else None
    if entry is not None:
        return Plan(family, arch, enum=entry)
    if weights.startswith(pip_weights.PREFIX):
        return Plan(family, arch, package=weights)
    if any(sep in weights for sep in "/\\~") or weights.lower().endswith(WEIGHT_SUFFIXES) or Path(weights).exists():
        return Plan(family, arch, path=Path(weights).expanduser())
    if family == "torchvision":
        valid = ", ".join(get_model_weights(arch).__members__)
        raise ValueError(f"unknown weights {weights!r} for {model}: use one of {valid}, a file path, or none")
    raise ValueError(f"weights {weights!r} for {model}: {family} models take a weights file path, "
                     "pip:<package> or none")


def _factory(arch: str) -> nn.Module:
    module_name, _, attribute = arch.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"model py:{arch}: cannot find {attribute!r} in module {module_name!r} ({error})") from error
    network = factory()
    if not isinstance(network, nn.Module):
        raise ValueError(f"model py:{arch}: the factory returned a {type(network).__name__}, not an nn.Module")
    return network


def build(plan: Plan, num_classes: int | None) -> nn.Module:
    """The bare architecture (random init from the global generator: wrap in `seeded`)."""
    extra: dict[str, Any] = {"num_classes": num_classes} if num_classes else {}
    if plan.family == "torchvision":
        extra.update(_ENUM_BUILD_ARGS.get(plan.arch, {}) if plan.enum is not None else {})
        return torchvision.models.get_model(plan.arch, weights=None, **extra)
    if plan.family == "timm":
        import timm

        return timm.create_model(plan.arch, pretrained=False, **extra)
    return _factory(plan.arch)


def seeded(make: Callable[[], T], seed: int) -> T:
    """Run `make` with torch's CPU generator seeded, leaving the caller's generator state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def _default_preprocessing(plan: Plan, module: nn.Module) -> tuple[int, tuple, tuple, str, float]:
    """(input size, mean, std, interpolation, crop fraction) the weights were trained and evaluated with: the
    torchvision weights' transforms, timm's pretrained configuration, else ImageNet's usual ones."""
    if plan.family == "torchvision":
        transforms = (plan.enum or get_model_weights(plan.arch).DEFAULT).transforms()
        crop, resize = transforms.crop_size[0], transforms.resize_size[0]
        return crop, tuple(transforms.mean), tuple(transforms.std), transforms.interpolation.value, crop / resize
    if plan.family == "timm":
        import timm.data

        config = timm.data.resolve_data_config({}, model=module)
        return (int(config["input_size"][-1]), tuple(config["mean"]), tuple(config["std"]),
                str(config["interpolation"]), float(config["crop_pct"]))
    return 224, IMAGENET_MEAN, IMAGENET_STD, "bilinear", 224 / 256


def _outputs(module: nn.Module, classifier: str) -> int | None:
    layer = dict(module.named_modules()).get(classifier)
    return getattr(layer, "out_features", None) or getattr(layer, "out_channels", None)


def _categories(plan: Plan, config: NetworkConfig, outputs: int | None) -> tuple[str, ...]:
    """Class names: the config's file, else the weights' metadata, else ImageNet's when there are 1,000."""
    if config.categories:
        path = Path(config.categories).expanduser()
        if not path.is_file():
            raise AssetError([Asset(f"{config.model} class names", str(path), None, "missing")])
        names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        if outputs is not None and len(names) != outputs:
            raise ValueError(f"{path} lists {len(names)} class names but {config.model} has {outputs} outputs")
        return names
    if plan.family == "torchvision":
        names = (plan.enum or get_model_weights(plan.arch).DEFAULT).meta.get("categories") or ()
        if len(names) == outputs:
            return tuple(names)
    if outputs == 1000:
        from experiments.assets.imagenet import imagenet_class_names

        return imagenet_class_names()
    return tuple(f"class {i}" for i in range(outputs or 0))


def preprocessing(plan: Plan, config: NetworkConfig, module: nn.Module, classifier: str) -> tuple:
    """(input_size, mean, std, interpolation, crop fraction, categories): the weights' metadata (timm's pretrained
    config for timm models, ImageNet's for py: factories), each overridden by the config when it sets one."""
    size, mean, std, interpolation, crop = _default_preprocessing(plan, module)
    return (
        config.input_size or size,
        tuple(float(x) for x in (config.mean or mean)),
        tuple(float(x) for x in (config.std or std)),
        interpolation, crop,
        _categories(plan, config, _outputs(module, classifier)),
    )

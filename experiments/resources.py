"""Resources the experiments take as inputs: networks by role, their architectures, and the datasets."""
from __future__ import annotations

import torch
from torch import nn

from reportgen import resource


def architecture(model: str) -> nn.Module:
    """The model's architecture on the meta device: shapes and parameter counts, no memory, no weights."""
    with torch.device("meta"):
        if model.startswith("timm:"):
            import timm

            return timm.create_model(model.removeprefix("timm:"), pretrained=False).eval()
        if model.startswith("py:"):
            import importlib

            module, _, factory = model.removeprefix("py:").partition(":")
            return getattr(importlib.import_module(module), factory)().eval()
        import torchvision

        return torchvision.models.get_model(model, weights=None).eval()


def categories(model: str, weights: str) -> list[str]:
    """Class names from the weights' metadata (torchvision), or timm's ImageNet info."""
    if model.startswith("py:"):
        return []
    if model.startswith("timm:") or weights in ("none",) or "/" in weights or weights.endswith(".pth"):
        from timm.data import ImageNetInfo

        return list(ImageNetInfo().label_descriptions())
    import torchvision

    return list(torchvision.models.get_model_weights(model)[weights].meta["categories"])


@resource(section="networks.transfer")
def transfer_arch(model: str = "vgg16", weights: str = "IMAGENET1K_V1") -> nn.Module:
    """The transfer network's architecture (no weights)."""
    return architecture(model)


@resource(section="networks.transfer")
def transfer_categories(model: str = "vgg16", weights: str = "IMAGENET1K_V1") -> list[str]:
    """The transfer network's class names."""
    return categories(model, weights)

"""Where to read features in known architectures: the layers by depth, the penultimate layer, the classifier.

All names are module names (`dict(module.named_modules())` keys): read a layer's output with a forward hook.
A 4-D output (N, C, H, W) is meant to be global-average-pooled to (N, C) before use as a feature vector.

- VGG (vgg11/13/16/19 and _bn): "block1".."block4" = the max-pool ending each conv block, "pool5" = the last one,
  "relu6" = classifier.1, "relu7" = classifier.4, "logits" = classifier.6. Penultimate: classifier.4 (relu7,
  the practical's features: the input of the last Linear once dropout is off); classifier: classifier.6.
- SqueezeNet (1_0, 1_1): the classifier is a 1×1 convolution (classifier.1) followed by ReLU and global average
  pooling, so there is no Linear. Layers: "pool1".."pool3" (features' max-pools), "fire9" (the last Fire module,
  512×13×13), "conv10" (classifier.2, the ReLU after the 1×1 conv, 1000 maps), "logits" (classifier.3, the
  pooled class scores). Penultimate: the last Fire module's output (the classifier's input), pooled to 512-d.
- ResNet / ResNeXt / Wide ResNet: "layer1".."layer4", "pool" (avgpool), "logits" (fc); penultimate avgpool.
- timm EfficientNet-like (blocks, conv_head, global_pool, classifier; e.g. tf_efficientnet_lite0): "blocks.0"..,
  "head" (bn2: conv_head + BN + activation), "pool" (global_pool), "logits"; penultimate global_pool.
- Anything else: classifier = the last nn.Linear in module order (else the last Conv2d); penultimate = the module
  just before it in that order, skipping Dropout/Identity/Flatten; layers = the top-level children holding a
  convolution (4-D outputs), then "penultimate" and "logits".
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class LayerSpec:
    layers: tuple[tuple[str, str], ...]  # (label, module name), from shallow to deep
    penultimate: str  # module whose output is the classifier's input (up to pooling/flatten/dropout)
    classifier: str  # the last layer: maps penultimate features to class scores


def _indexed(parent: str, container: nn.Module, kind: type) -> list[str]:
    return [f"{parent}.{name}" for name, child in container.named_children() if isinstance(child, kind)]


def _vgg(module: nn.Module) -> LayerSpec:
    pools = _indexed("features", module.features, nn.MaxPool2d)
    blocks = [(f"block{i + 1}", name) for i, name in enumerate(pools[:-1])] + [("pool5", pools[-1])]
    head = [("relu6", "classifier.1"), ("relu7", "classifier.4"), ("logits", "classifier.6")]
    return LayerSpec(tuple(blocks + head), "classifier.4", "classifier.6")


def _squeezenet(module: nn.Module) -> LayerSpec:
    pools = _indexed("features", module.features, nn.MaxPool2d)
    last_fire = f"features.{len(module.features) - 1}"
    layers = [(f"pool{i + 1}", name) for i, name in enumerate(pools)]
    layers += [("fire9", last_fire), ("conv10", "classifier.2"), ("logits", "classifier.3")]
    return LayerSpec(tuple(layers), last_fire, "classifier.1")


def _resnet(module: nn.Module) -> LayerSpec:
    layers = [(f"layer{i}", f"layer{i}") for i in range(1, 5)] + [("pool", "avgpool"), ("logits", "fc")]
    return LayerSpec(tuple(layers), "avgpool", "fc")


def _efficientnet(module: nn.Module) -> LayerSpec:
    blocks = [(f"blocks.{i}", f"blocks.{i}") for i in range(len(module.blocks))]
    layers = blocks + [("head", "bn2"), ("pool", "global_pool"), ("logits", "classifier")]
    return LayerSpec(tuple(layers), "global_pool", "classifier")


def _has(*names: str) -> Callable[[str, nn.Module], bool]:
    return lambda _, module: all(hasattr(module, name) for name in names)


_FAMILIES: tuple[tuple[Callable[[str, nn.Module], bool], Callable[[nn.Module], LayerSpec]], ...] = (
    (lambda name, m: name.startswith("vgg") and _has("features", "classifier")(name, m), _vgg),
    (lambda name, m: name.startswith("squeezenet") and _has("features", "classifier")(name, m), _squeezenet),
    (_has("layer4", "avgpool", "fc"), _resnet),
    (_has("blocks", "conv_head", "bn2", "global_pool", "classifier"), _efficientnet),
)


def _generic(module: nn.Module) -> LayerSpec:
    leaves = [(name, m) for name, m in module.named_modules() if name and not any(m.children())]
    heads = [i for i, (_, m) in enumerate(leaves) if isinstance(m, nn.Linear)]
    heads = heads or [i for i, (_, m) in enumerate(leaves) if isinstance(m, nn.Conv2d)]
    if not heads:
        raise ValueError(f"no Linear or Conv2d layer in {type(module).__name__}: cannot tell its classifier")
    last = heads[-1]
    passive = (nn.Dropout, nn.Identity, nn.Flatten)
    before = [name for name, m in leaves[:last] if not isinstance(m, passive)]
    penultimate = before[-1] if before else ""
    convolutional = [
        (name, name) for name, child in module.named_children()
        if any(isinstance(m, nn.Conv2d) for m in child.modules()) and name != leaves[last][0]
    ]
    tail = [("penultimate", penultimate)] if penultimate and penultimate not in dict(convolutional) else []
    return LayerSpec(tuple(convolutional + tail + [("logits", leaves[last][0])]), penultimate, leaves[last][0])


def layer_spec(model: str, module: nn.Module) -> LayerSpec:
    """The layer metadata of `module` built from the model name `model` (torchvision name or `timm:<name>`)."""
    name = model.removeprefix("timm:")
    for matches, spec in _FAMILIES:
        if matches(name, module):
            return spec(module)
    return _generic(module)

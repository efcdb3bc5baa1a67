import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from experiments.assets import network_weights, networks
from experiments.assets.architectures import layer_spec
from experiments.assets.networks import NetworkConfig, load_network, network_assets, network_fingerprint
from reportgen.assets import AssetError

SHARED = Path(__file__).resolve().parents[3] / "../shared"
SQUEEZE_FILE = "squeezenet1_1-b8a52dc0.pth"
SQUEEZE_URL = "https://download.pytorch.org/models/" + SQUEEZE_FILE


def tiny_net() -> nn.Module:
    """A py: factory for the tests: conv features, then a Linear head."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(),
                         nn.Linear(4, 3))


@pytest.fixture
def hub(tmp_path, monkeypatch) -> Path:
    """An empty torchvision cache ($TORCH_HOME) and no network at all."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert Path(torch.hub.get_dir()) == tmp_path / "torch" / "hub"

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def trust_names(monkeypatch):
    """Our stand-in weights cannot have the real file's hash: let the hash check see the one in the name."""
    fake = lambda path, memo_dir: network_weights.hash_prefix(Path(path).name) + "0" * 56  # noqa: E731
    monkeypatch.setattr(network_weights, "sha256_file", fake)


def _squeezenet_state(seed: int, num_classes: int = 1000) -> dict:
    torch.manual_seed(seed)
    return torchvision.models.squeezenet1_1(num_classes=num_classes).state_dict()


def test_loads_preplaced_torchvision_cache_file_offline(hub, trust_names, tmp_path):
    state = _squeezenet_state(seed=3)
    torch.save(state, hub / SQUEEZE_FILE)
    network = load_network(NetworkConfig("squeezenet1_1", "IMAGENET1K_V1"), "cpu", offline=True, cache_dir=tmp_path)
    assert torch.equal(network.module.state_dict()["classifier.1.weight"], state["classifier.1.weight"])
    assert not network.module.training and not any(p.requires_grad for p in network.module.parameters())
    assert network.source == f"torchvision cache {hub / SQUEEZE_FILE}" and network.weights == "IMAGENET1K_V1"
    assert network.categories[:2] == ("tench", "goldfish") and len(network.categories) == 1000
    assert (network.input_size, network.mean) == (224, (0.485, 0.456, 0.406))
    assert (network.penultimate, network.classifier) == ("features.12", "classifier.1")
    assert "squeezenet1_1" in network.describe() and SQUEEZE_FILE in network.describe()


def test_downloads_through_torchvision_when_online(hub, trust_names, tmp_path, monkeypatch):
    state, calls = _squeezenet_state(seed=4), []

    def fake_download(url, dst, hash_prefix=None, progress=True):
        calls.append((url, hash_prefix))
        torch.save(state, dst)

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    network = load_network(NetworkConfig("squeezenet1_1", "DEFAULT"), "cpu", offline=False, cache_dir=tmp_path)
    assert calls == [(SQUEEZE_URL, "b8a52dc0")] and (hub / SQUEEZE_FILE).is_file()
    assert torch.equal(network.module.state_dict()["features.0.weight"], state["features.0.weight"])


def test_failed_download_is_an_asset_error(hub, tmp_path, monkeypatch):
    def unreachable(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(torch.hub, "download_url_to_file", unreachable)
    with pytest.raises(AssetError, match=f"download failed .*no route to host.* — download {SQUEEZE_URL}"):
        load_network(NetworkConfig("squeezenet1_1"), "cpu", offline=False, cache_dir=tmp_path)


def test_offline_missing_file_names_file_url_and_folder(hub, tmp_path):
    with pytest.raises(AssetError) as error:
        load_network(NetworkConfig("squeezenet1_1"), "cpu", offline=True, cache_dir=tmp_path)
    message = str(error.value)
    assert "missing" in message and SQUEEZE_URL in message and str(hub / SQUEEZE_FILE) in message
    assert "\n" not in message
    (asset,) = network_assets(NetworkConfig("vgg16"), tmp_path)
    assert (asset.problem, asset.path) == ("missing", str(hub / "vgg16-397923af.pth"))


def test_truncated_cache_file(hub, tmp_path):
    (hub / SQUEEZE_FILE).write_bytes(b"\0" * 1_000_000)
    with pytest.raises(AssetError, match=r"truncated \(1.0 of 5.0 MB\)"):
        load_network(NetworkConfig("squeezenet1_1"), "cpu", offline=False, cache_dir=tmp_path)


def test_wrong_hash_is_named_and_memoised(hub, tmp_path, monkeypatch):
    size = round(torchvision.models.SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["_file_size"] * 2**20)
    (hub / SQUEEZE_FILE).write_bytes(os.urandom(size))
    with pytest.raises(AssetError, match=f"sha256 mismatch \\(file is not {SQUEEZE_FILE}"):
        load_network(NetworkConfig("squeezenet1_1"), "cpu", offline=True, cache_dir=tmp_path)
    assert json.loads((tmp_path / "sha256.json").read_text())  # the hash was memoised...
    monkeypatch.setattr("experiments.assets.download._hash_file", lambda p: pytest.fail("hashed twice"))
    (asset,) = network_assets(NetworkConfig("squeezenet1_1"), tmp_path)  # ...and is not computed again
    assert asset.problem.startswith("sha256 mismatch")


def test_fetch_downloads_missing_enum_weights(hub, trust_names, tmp_path, monkeypatch):
    def fake_download(url, dest, sha256_prefix, progress, name):
        assert (url, sha256_prefix) == (SQUEEZE_URL, "b8a52dc0")
        torch.save(_squeezenet_state(seed=0), dest)
        return dest

    monkeypatch.setattr(networks, "download", fake_download)
    (asset,) = networks.fetch_network(NetworkConfig("squeezenet1_1"), tmp_path, progress=False)
    assert asset.ok and Path(asset.path) == hub / SQUEEZE_FILE


def test_local_file_with_own_head_and_class_names(tmp_path):
    state = _squeezenet_state(seed=5, num_classes=15)
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "scene.pth")
    names = tmp_path / "classes.txt"
    names.write_text("\n".join(f"scene{i}" for i in range(15)))
    config = NetworkConfig("squeezenet1_1", str(tmp_path / "scene.pth"), categories=str(names))
    network = load_network(config, "cpu", offline=True, cache_dir=tmp_path)
    assert network.categories == tuple(f"scene{i}" for i in range(15))
    assert torch.equal(network.module.state_dict()["classifier.1.bias"], state["classifier.1.bias"])
    assert network.source == f"file {tmp_path / 'scene.pth'}" and len(network.sha256) == 64
    with pytest.raises(ValueError, match="lists 3 class names but squeezenet1_1 has 15 outputs"):
        names.write_text("a\nb\nc\n")
        load_network(config, "cpu", offline=True, cache_dir=tmp_path)


def test_foreign_files_are_named_as_such(tmp_path):
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), tmp_path / "resnet.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    torch.save(tiny_net(), tmp_path / "module.pth")  # a pickled module: weights_only refuses it
    (tmp_path / "text.pth").write_text("hello")
    expected = {
        "resnet.pth": r"not a state dict of squeezenet1_1 \(missing keys: classifier.1.bias, .* unexpected keys: ",
        "list.pth": r"not a state dict \(it holds a list",
        "module.pth": r"not a loadable state dict: not weights that torch loads safely \(its weights_only loader "
                      r"stopped: Unsupported global: GLOBAL [\w.]+ was not an allowed global by default\)",
        "text.pth": r"not a PyTorch weights file",
        "absent.pth": r"squeezenet1_1 weights \(file\): missing — put it at",
    }
    for name, pattern in expected.items():
        with pytest.raises(AssetError, match=pattern):
            load_network(NetworkConfig("squeezenet1_1", str(tmp_path / name)), "cpu", offline=True, cache_dir=tmp_path)


def test_a_truncated_weights_file_is_called_truncated(tmp_path):
    from experiments.assets.network_weights import read_state_dict, weights_file_problem

    torch.save(tiny_net().state_dict(), tmp_path / "whole.pth")
    data = (tmp_path / "whole.pth").read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(data[:cut])
        assert weights_file_problem(path).startswith("truncated or damaged (the archive's end is missing")
        with pytest.raises(ValueError, match=r"^not a loadable state dict: truncated or damaged"):
            read_state_dict(path)


def test_random_bytes_give_one_sentence_and_no_warning(tmp_path):
    import warnings

    from experiments.assets.network_weights import read_state_dict

    rng = np.random.default_rng(0)
    for i in range(40):
        head = [b"\x80", b"\x80\x02", b"PK\x03\x04", b""][i % 4]
        path = tmp_path / f"random{i}.pth"
        path.write_bytes(head + rng.bytes(int(rng.integers(1, 4000))))
        with warnings.catch_warnings(record=True) as caught, pytest.raises(ValueError) as error:
            warnings.simplefilter("always")
            read_state_dict(path)
        message = str(error.value)
        assert caught == [] and "\n" not in message and len(message) < 300, message
        assert "pop from empty list" not in message and "Check the documentation" not in message
        assert message.endswith((")", ".", "…")) or message[-1].isalnum(), message


def test_unknown_names_list_the_valid_choices():
    with pytest.raises(ValueError, match="did you mean vgg19, vgg16"):
        load_network(NetworkConfig("vgg17", "none"), "cpu", offline=True)
    with pytest.raises(ValueError, match="use one of IMAGENET1K_V1, IMAGENET1K_FEATURES, DEFAULT, a file path"):
        network_assets(NetworkConfig("vgg16", "IMAGENET1K_V2"), Path("."))
    with pytest.raises(ValueError, match="timm models take a weights file path, pip:<package> or none"):
        network_fingerprint(NetworkConfig("timm:tf_efficientnet_lite0", "IMAGENET1K_V1"))
    with pytest.raises(ValueError, match="unknown timm model 'no_such_net'"):
        network_fingerprint(NetworkConfig("timm:no_such_net", "none"))
    with pytest.raises(ValueError, match="cannot find 'nope'"):
        load_network(NetworkConfig("py:tests.experiments.assets.test_networks:nope", "none"), "cpu", offline=True)


def test_random_init_is_seeded_and_leaves_global_rng_alone():
    config = NetworkConfig("squeezenet1_1", "none")
    torch.manual_seed(123)
    expected_draw = torch.rand(1)
    torch.manual_seed(123)
    a, b = (load_network(config, "cpu", offline=True, seed=7).module for _ in range(2))
    assert torch.equal(torch.rand(1), expected_draw)
    c = load_network(config, "cpu", offline=True, seed=8).module
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    assert not torch.equal(a.features[0].weight, c.features[0].weight)
    assert network_fingerprint(config, seed=7)["seed"] == 7


def test_py_factory_uses_generic_layers_and_config_preprocessing():
    config = NetworkConfig("py:tests.experiments.assets.test_networks:tiny_net", "none", input_size=16,
                           mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    network = load_network(config, "cpu", offline=True)
    assert (network.input_size, network.mean, network.std) == (16, (0.5,) * 3, (0.25,) * 3)
    assert (network.penultimate, network.classifier) == ("2", "5")  # the pool before Flatten/Dropout; the Linear
    assert network.layers == (("0", "0"), ("penultimate", "2"), ("logits", "5"))
    assert network.categories == ("class 0", "class 1", "class 2") and network.sha256 is None


@pytest.mark.parametrize("model", ["vgg16", "vgg11_bn", "squeezenet1_1", "resnet50", "timm:tf_efficientnet_lite0"])
def test_layer_tables_name_real_modules(model):
    with torch.device("meta"):  # no memory, no init cost, even for VGG16
        if model.startswith("timm:"):
            import timm

            module = timm.create_model(model[5:], pretrained=False)
        else:
            module = torchvision.models.get_model(model)
    spec = layer_spec(model, module)
    names = dict(module.named_modules())
    assert all(name in names for _, name in spec.layers) and spec.penultimate in names
    assert isinstance(names[spec.classifier], (nn.Linear, nn.Conv2d))
    if model == "vgg16":
        assert spec.layers == (
            ("block1", "features.4"), ("block2", "features.9"), ("block3", "features.16"),
            ("block4", "features.23"), ("pool5", "features.30"), ("relu6", "classifier.1"),
            ("relu7", "classifier.4"), ("logits", "classifier.6"),
        )
        assert (spec.penultimate, spec.classifier) == ("classifier.4", "classifier.6")


def test_fingerprints_are_cheap_json_and_follow_the_file(tmp_path):
    assert network_fingerprint(NetworkConfig())["sha256"] == "397923af"
    path = tmp_path / "w.pth"
    path.write_bytes(b"PK\3\4 one")
    config = NetworkConfig("squeezenet1_1", str(path))
    before = network_fingerprint(config)
    json.dumps(before)
    os.utime(path, ns=(1, 1))
    assert network_fingerprint(config) != before and network_fingerprint(config)["mtime_ns"] == 1


def test_timm_with_shared_weights_classifies_the_practicals_images(tmp_path):
    weights, images = SHARED / "weights/tf_efficientnet_lite0.pth", SHARED / "data/imagenet_val_25.npz"
    if not (weights.is_file() and images.is_file()):
        pytest.skip(f"../shared not found: needs {weights} and {images}")
    from experiments.assets.imagenet import load_imagenet_val

    network = load_network(NetworkConfig("timm:tf_efficientnet_lite0", str(weights)), "cpu", True, cache_dir=tmp_path)
    assert (network.input_size, network.mean, network.std) == (224, (0.5,) * 3, (0.5,) * 3)
    assert network.sha256 == "2d6c2e0f1a68d420bc86c5525fab7bc2aa845dcabb45474d8ddc97439996380f"
    val = load_imagenet_val(images)
    x = torch.from_numpy(val.images).permute(0, 3, 1, 2).float() / 255
    x = torch.nn.functional.interpolate(x, size=network.input_size, mode="bilinear", antialias=True)
    x = (x - torch.tensor(network.mean)[:, None, None]) / torch.tensor(network.std)[:, None, None]
    with torch.no_grad():
        predicted = network.module(x).argmax(1).numpy()
    assert np.mean(predicted == val.labels) == pytest.approx(0.68)


@pytest.mark.slow
def test_loads_preplaced_vgg16_cache_file_offline(hub, trust_names, tmp_path):
    torch.manual_seed(0)
    state = torchvision.models.vgg16().state_dict()
    torch.save(state, hub / "vgg16-397923af.pth")
    network = load_network(NetworkConfig("vgg16"), "cpu", offline=True, cache_dir=tmp_path)
    assert torch.equal(network.module.classifier[6].bias, state["classifier.6.bias"])
    assert (network.penultimate, network.classifier, len(network.categories)) == ("classifier.4", "classifier.6", 1000)

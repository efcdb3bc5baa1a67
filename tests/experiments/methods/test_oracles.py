"""The practical's hand-written methods against well-kept libraries (test-only dependencies): captum's Saliency and
NoiseTunnel, torchattacks' FGSM and PGD, on tiny networks."""
import pytest
import torch
from torch import nn

from experiments.methods import attacks
from experiments.methods.saliency import saliency, smoothgrad
from experiments.methods.transforms import denormalize, normalize, normalize_bounds

captum_attr = pytest.importorskip("captum.attr")
torchattacks = pytest.importorskip("torchattacks")

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def tiny(channels: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(channels, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(24, 5)).eval()


class OnPixels(nn.Module):
    """The network as torchattacks sees it: pixels in [0, 1], normalized inside."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model(normalize(pixels, MEAN, STD))


def _pixels(n: int = 4, size: int = 10, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_saliency_equals_captums_absolute_gradient_maxed_over_channels():
    model, x, targets = tiny(), normalize(_pixels(), MEAN, STD), torch.tensor([0, 3, 1, 4])
    # captum wants an input that requires gradients (else it sets it and warns); ours takes any tensor
    expected = captum_attr.Saliency(model).attribute(x.clone().requires_grad_(True), target=targets,
                                                     abs=True).amax(dim=1)
    torch.testing.assert_close(saliency(model, x, targets), expected)


def test_smoothgrad_agrees_with_captums_noise_tunnel_on_average():
    """One channel (the max over channels is then the identity) and one image (captum's noise std is one number):
    both average the absolute gradient over noisy copies; with many copies the two estimates agree."""
    model = tiny(channels=1)
    x = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    noise = 0.2
    std = noise * float(x.max() - x.min())
    ours = smoothgrad(model, x, 2, samples=3000, noise=noise, generator=torch.Generator().manual_seed(0))
    tunnel = captum_attr.NoiseTunnel(captum_attr.Saliency(model))
    theirs = tunnel.attribute(x, nt_type="smoothgrad", nt_samples=3000, nt_samples_batch_size=500, stdevs=std,
                              target=2, abs=True)[:, 0]
    assert torch.corrcoef(torch.stack([ours.flatten(), theirs.flatten()]))[0, 1] > 0.98
    assert (ours - theirs).abs().mean() < 0.05 * theirs.abs().mean()
    plain = saliency(model, x, 2)
    assert (ours - theirs).abs().mean() < (plain - theirs).abs().mean()  # the noise matters, and both model it


@pytest.mark.parametrize("targeted", [False, True])
def test_fgsm_equals_torchattacks(targeted):
    model, pixels, labels = tiny(), _pixels(), torch.tensor([0, 3, 1, 4])
    lo, hi = normalize_bounds(MEAN, STD)
    eps = 8 / 255
    ours = attacks.fgsm(model, normalize(pixels, MEAN, STD), labels, eps, lo, hi, targeted=targeted)
    oracle = torchattacks.FGSM(OnPixels(model), eps=eps)
    if targeted:
        oracle.set_mode_targeted_by_label(quiet=True)
    torch.testing.assert_close(denormalize(ours.adversarial, MEAN, STD), oracle(pixels, labels), atol=1e-5, rtol=0)


def test_pgd_equals_torchattacks_from_the_same_start(monkeypatch):
    """torchattacks' PGD without its random start; ours with its uniform start pinned to the centre (no offset)."""
    monkeypatch.setattr(attacks, "rand_like", lambda x, generator=None: torch.full_like(x, 0.5))
    model, pixels, labels = tiny(), _pixels(), torch.tensor([0, 3, 1, 4])
    lo, hi = normalize_bounds(MEAN, STD)
    eps, steps = 4 / 255, 5
    ours = attacks.pgd(model, normalize(pixels, MEAN, STD), labels, eps, lo, hi, steps=steps)
    oracle = torchattacks.PGD(OnPixels(model), eps=eps, alpha=2.5 * eps / steps, steps=steps, random_start=False)
    torch.testing.assert_close(denormalize(ours.adversarial, MEAN, STD), oracle(pixels, labels), atol=1e-5, rtol=0)

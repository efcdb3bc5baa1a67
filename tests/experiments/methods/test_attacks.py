"""Tests for experiments.methods.attacks: the naive targeted attack, FGSM, PGD and perturbation sizes."""
from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from experiments.methods import attacks
from experiments.methods.attacks import fgsm, naive_targeted, perturbation_sizes, pgd
from experiments.methods.transforms import clamp_channels
from tests.experiments.methods.conftest import STD, assert_unchanged, parameters_copy


def _predict(model: nn.Module, x: Tensor) -> Tensor:
    with torch.no_grad():
        return model(x).argmax(dim=1)


def _in_bounds(x: Tensor, lo: Tensor, hi: Tensor) -> bool:
    return bool(torch.all(x >= lo.reshape(1, 3, 1, 1) - 1e-6) and torch.all(x <= hi.reshape(1, 3, 1, 1) + 1e-6))


def _reference_naive(model, x, target, step, max_steps, lo, hi) -> tuple[Tensor, int]:
    """The practical's loop on one image, written independently."""
    x = x.clone()
    for n in range(max_steps):
        xg = x.clone().requires_grad_(True)
        score = model(xg)
        if score.argmax(dim=1).item() == target:
            return x, n
        score[0, target].backward()
        x = clamp_channels(x + step * xg.grad / xg.grad.norm(), lo, hi)
    return x, max_steps


def _other_targets(model: nn.Module, images: Tensor) -> Tensor:
    """The runner-up class of each image (reachable for the tiny network, unlike some other classes)."""
    with torch.no_grad():
        return model(images).argsort(dim=1, descending=True)[:, 1]


@pytest.mark.parametrize("fixed_shape", [False, True])
def test_naive_attack_reaches_the_target_and_matches_a_per_image_loop(tiny_net, images, bounds, fixed_shape):
    """Computing only the active images, or the whole batch and moving only the active ones, is the same attack."""
    lo, hi = bounds
    before, x_before = parameters_copy(tiny_net), images.clone()
    targets = _other_targets(tiny_net, images)
    result = naive_targeted(tiny_net, images, targets, lo, hi, step=1.0, max_steps=200, fixed_shape=fixed_shape)
    assert result.success.all()
    assert torch.equal(_predict(tiny_net, result.adversarial), targets)
    assert (result.steps >= 1).all() and result.steps.max() > 1
    for i in range(3):
        ref_x, ref_steps = _reference_naive(tiny_net, images[i : i + 1], int(targets[i]), 1.0, 200, lo, hi)
        assert int(result.steps[i]) == ref_steps
        assert torch.allclose(result.adversarial[i : i + 1], ref_x, atol=1e-5)
    assert _in_bounds(result.adversarial, lo, hi)
    assert_unchanged(tiny_net, before)
    assert torch.equal(images, x_before)
    assert result.seconds > 0


def test_naive_attack_stops_at_the_first_step_that_reaches_the_target(tiny_net, images, bounds):
    lo, hi = bounds
    targets = _other_targets(tiny_net, images)
    result = naive_targeted(tiny_net, images, targets, lo, hi, step=1.0, max_steps=200)
    for i in range(3):
        shorter = naive_targeted(tiny_net, images[i : i + 1], int(targets[i]), lo, hi, 1.0, int(result.steps[i]) - 1)
        assert not shorter.success.item()  # one step fewer was not enough


def test_naive_attack_takes_no_step_on_an_image_already_predicted_as_the_target(tiny_net, images, bounds):
    lo, hi = bounds
    result = naive_targeted(tiny_net, images, _predict(tiny_net, images), lo, hi)
    assert result.steps.tolist() == [0] * images.shape[0]
    assert result.success.all()
    assert torch.equal(result.adversarial, images)


def test_naive_attack_gives_up_after_max_steps(tiny_net, images, bounds):
    lo, hi = bounds
    targets = _other_targets(tiny_net, images)
    result = naive_targeted(tiny_net, images, targets, lo, hi, step=1e-4, max_steps=3)
    assert result.steps.tolist() == [3] * images.shape[0]
    assert not result.success.any()


def _batch(make_net, count: int = 48) -> tuple[nn.Module, Tensor, Tensor]:
    net = make_net(seed=3)
    x = torch.randn(count, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    return net, x, _predict(net, x)


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_larger_eps_fools_more_images(make_net, bounds, attack):
    lo, hi = bounds
    net, x, labels = _batch(make_net)
    rates = []
    for eps in (0.0005, 0.01, 0.2):
        if attack == "fgsm":
            result = fgsm(net, x, labels, eps, lo, hi)
        else:
            result = pgd(net, x, labels, eps, lo, hi, steps=5, generator=torch.Generator().manual_seed(0))
        assert _in_bounds(result.adversarial, lo, hi)
        assert torch.equal(result.success, _predict(net, result.adversarial) != labels)
        rates.append(result.success.float().mean().item())
    assert rates[0] <= rates[1] <= rates[2] and rates[0] < rates[2]
    assert rates[2] > 0.5


def test_targeted_fgsm_and_pgd_raise_the_targets_score(make_net, bounds):
    lo, hi = bounds
    net, x, labels = _batch(make_net)
    targets = (labels + 1) % 5
    with torch.no_grad():
        clean = net(x).log_softmax(1).gather(1, targets[:, None])
    for result in (
        fgsm(net, x, targets, 0.02, lo, hi, targeted=True),
        pgd(net, x, targets, 0.02, lo, hi, steps=5, targeted=True, generator=torch.Generator().manual_seed(0)),
    ):
        with torch.no_grad():
            attacked = net(result.adversarial).log_softmax(1).gather(1, targets[:, None])
        assert (attacked > clean).float().mean() > 0.9
        assert torch.equal(result.success, _predict(net, result.adversarial) == targets)


def test_pgd_stays_in_the_eps_ball_in_pixel_levels(tiny_net, images, bounds):
    lo, hi = bounds
    before = parameters_copy(tiny_net)
    labels = _predict(tiny_net, images)
    result = pgd(tiny_net, images, labels, 4 / 255, lo, hi, steps=7, generator=torch.Generator().manual_seed(1))
    linf, l2 = perturbation_sizes(images, result.adversarial, torch.tensor(STD))
    assert (linf <= 4.0 + 1e-3).all() and linf.max() > 3.0
    assert (l2 > 0).all()
    assert result.steps.tolist() == [7] * images.shape[0]
    assert_unchanged(tiny_net, before)


def test_fgsm_moves_every_unclamped_pixel_by_exactly_eps(tiny_net, images, bounds):
    lo, hi = bounds
    result = fgsm(tiny_net, images, _predict(tiny_net, images), 2 / 255, lo, hi)
    delta = (result.adversarial - images) * torch.tensor(STD).reshape(1, 3, 1, 1) * 255
    inside = (result.adversarial > lo.reshape(1, 3, 1, 1)) & (result.adversarial < hi.reshape(1, 3, 1, 1))
    assert torch.allclose(delta[inside].abs(), torch.full_like(delta[inside], 2.0), atol=1e-3)


def test_perturbation_sizes_by_hand():
    std = torch.tensor([0.5, 0.25, 0.1])
    x = torch.zeros(2, 3, 2, 2)
    adv = x.clone()
    adv[0, 1, 0, 0] = 0.4  # 0.4 * 0.25 = 0.1 in [0, 1] pixels
    adv[0, 0, 1, 1] = -0.1  # 0.05
    linf, l2 = perturbation_sizes(x, adv, std)
    assert linf.tolist() == pytest.approx([25.5, 0.0])
    assert l2.tolist() == pytest.approx([(0.1**2 + 0.05**2) ** 0.5, 0.0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_with_a_cpu_generator(tiny_net, images, bounds):
    lo, hi = bounds
    net, x = tiny_net.cuda(), images.cuda()
    labels = _predict(net, x)
    for result in (
        naive_targeted(net, x, _other_targets(net, x), lo, hi, max_steps=5),
        fgsm(net, x, labels, 0.01, lo, hi),
        pgd(net, x, labels, 0.01, lo, hi, steps=2, generator=torch.Generator().manual_seed(0)),
    ):
        assert result.adversarial.device.type == "cuda" and _in_bounds(result.adversarial.cpu(), lo, hi)
    linf, _ = perturbation_sizes(x, result.adversarial, torch.tensor(STD))
    assert (linf <= 0.01 * 255 + 1e-3).all()


def test_gradients_in_chunks_give_the_whole_batchs_attacks(tiny_net, images, bounds, monkeypatch):
    lo, hi = bounds
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    whole = (fgsm(tiny_net, images, labels, 8 / 255, lo, hi), naive_targeted(tiny_net, images, 3, lo, hi, 0.5, 20))
    monkeypatch.setattr(attacks, "CHUNK", 4)  # 6 images: a chunk of 4 and one of 2
    chunked = (fgsm(tiny_net, images, labels, 8 / 255, lo, hi), naive_targeted(tiny_net, images, 3, lo, hi, 0.5, 20))
    for a, b in zip(whole, chunked):
        torch.testing.assert_close(b.adversarial, a.adversarial, rtol=1e-5, atol=1e-5)
        assert torch.equal(a.steps, b.steps) and torch.equal(a.success, b.success)

import pytest

from experiments.verdicts import ch2_saliency as v
from tests.experiments.verdicts.fake import fake


@pytest.mark.parametrize(("right", "wrong", "expected"), [
    (0.5, 0.3, "higher"), (0.3, 0.5, "lower"), (0.4, 0.405, "same"), (None, 0.3, None), (0.4, None, None),
])
def test_concentration_against_correctness(right, wrong, expected) -> None:
    d = v.saliency_maps_concentration(fake({"correct_concentration": right, "wrong_concentration": wrong}))
    if expected is None:
        assert d.correct_against_wrong is None
    else:
        assert getattr(d.correct_against_wrong, expected)


@pytest.mark.parametrize(("random", "noise", "passes"), [(0.1, 0.9, True), (0.8, 0.9, False), (0.7, 0.9, False)])
def test_sanity_check_branches(random, noise, passes) -> None:
    assert v.sanity_check(fake(random), fake(noise), 0.2) is passes


def _limits(random=0.1, plain=0.9, smooth=0.95, smooth_conc=0.3, plain_conc=0.2):
    return fake({"random_correlation": random, "noise_correlation": 0.9, "plain_stability": plain,
                 "smooth_stability": smooth, "smooth_concentration": smooth_conc, "plain_concentration": plain_conc})


def test_limits_of_a_stable_gradient_that_passes() -> None:
    r = v.saliency_limits_checks(_limits())
    assert r.passes and r.residual and not r.fragile and r.smooth_against_plain.same and r.smooth_more_concentrated


def test_limits_of_a_fragile_gradient_that_fails() -> None:
    r = v.saliency_limits_checks(_limits(random=0.8, plain=0.5, smooth=0.9, smooth_conc=0.1))
    assert not r.passes and r.fragile and r.smooth_against_plain.higher and not r.smooth_more_concentrated
    assert not v.saliency_limits_checks(_limits(random=0.01)).residual
    assert v.saliency_limits_checks(_limits(plain=0.9, smooth=0.5)).smooth_against_plain.lower


@pytest.mark.parametrize(("crop", "centre", "branch"), [(0.9, 0.5, "higher"), (0.5, 0.9, "lower"), (0.7, 0.71, "same")])
def test_localization_branches(crop, centre, branch) -> None:
    assert getattr(v.localization_boxes(fake({"crop_accuracy": crop, "centre_crop_accuracy": centre})), branch)


@pytest.mark.parametrize(("corr", "conc", "beyond", "branch"), [
    (0.5, 0.6, True, "higher"), (0.15, 0.2, False, "lower"), (0.3, 0.41, True, "same"),
])
def test_compare_agreement_branches(corr, conc, beyond, branch) -> None:
    a = v.saliency_compare_agreement(fake({"mean_correlation": corr, "chance_correlation": 0.1,
                                      "compare_concentration": conc}), fake({"mean_concentration": 0.4}))
    assert a.beyond_chance is beyond and getattr(a.concentration, branch)

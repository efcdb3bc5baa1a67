import pytest

from experiments.verdicts import ch2_featvis as v
from tests.experiments.verdicts.fake import fake


@pytest.mark.parametrize(("practical", "regularized", "better", "worse"), [
    (0.0, 0.9, True, False),  # the regularized images transfer, the practical's do not
    (0.5, 0.6, False, False),  # within the margin: neither
    (0.9, 0.2, False, True),
])
def test_transfer_branches(practical, regularized, better, worse) -> None:
    got = v.recognition(fake(practical), fake(regularized), 0.3, 0.3, 0.2, 0.05)
    assert (got.transfers_better, got.transfers_worse) == (better, worse)


@pytest.mark.parametrize(("practical", "regularized", "smoother"), [(0.4, 0.1, True), (0.2, 0.18, False),
                                                                    (0.1, 0.4, False)])
def test_smoothness_branches(practical, regularized, smoother) -> None:
    assert v.recognition(0.0, 0.0, fake(practical), fake(regularized), 0.2, 0.05).smoother is smoother


@pytest.mark.parametrize(("practical_top1", "transfers"), [(0.0, False), (1 / 7, True)])
def test_whether_the_practicals_images_transfer_at_all(practical_top1, transfers) -> None:
    assert v.recognition(fake(practical_top1), 1.0, 0.3, 0.1, 0.2, 0.05).practical_transfers is transfers


def test_the_verdict_reads_both_sets_and_its_cut_offs() -> None:
    result = {"practical": {"other_top1": 0.1, "high_frequency": 0.4},
              "regularized": {"other_top1": 0.5, "high_frequency": 0.2}}
    assert v.class_images_recognition(fake(result)).transfers_better
    assert not v.class_images_recognition(fake(result), clearly_by=0.5).transfers_better


@pytest.mark.parametrize(("fourier", "transforms", "fourier_enough", "transforms_enough"), [
    (1.0, 0.25, True, False),  # the Fourier parameterization alone keeps what both reach
    (0.25, 1.0, False, True),
    (0.75, 0.75, True, True),  # one image of four below both: within the margin
    (0.5, 0.25, False, False),  # neither alone: both are needed
])
def test_ablation_which_regularizer_alone_is_enough(fourier, transforms, fourier_enough, transforms_enough) -> None:
    got = v.ablation(1.0, fourier, transforms, 1.0, 0.2, 0.2, 0.3, 0.05)
    assert (got.fourier_enough, got.transforms_enough) == (fourier_enough, transforms_enough)


@pytest.mark.parametrize(("fourier_high", "transforms_high", "smoother"), [(0.1, 0.5, True), (0.3, 0.32, False),
                                                                          (0.5, 0.1, False)])
def test_ablation_smoothness_branches(fourier_high, transforms_high, smoother) -> None:
    assert v.ablation(1.0, 1.0, 1.0, 1.0, fourier_high, transforms_high, 0.3, 0.05).fourier_smoother is smoother


@pytest.mark.parametrize(("tv", "better", "worse"), [(1.0, True, False), (0.5, False, False), (0.0, False, True)])
def test_ablation_total_variation_branches(tv, better, worse) -> None:
    got = v.ablation(0.5, 0.5, 0.5, tv, 0.2, 0.2, 0.3, 0.05)
    assert (got.tv_better, got.tv_worse) == (better, worse)


def test_the_ablation_verdict_reads_its_rows_and_cut_offs() -> None:
    row = lambda top1, high: {"other_top1": top1, "high_frequency": high}  # noqa: E731
    result = fake({"regularized": row(1.0, 0.1), "fourier_only": row(0.75, 0.1), "transforms_only": row(0.25, 0.4),
                   "with_tv": row(1.0, 0.05)})
    assert v.regularizer_ablation_effects(result).fourier_enough
    assert not v.regularizer_ablation_effects(result, close_by=0.1).fourier_enough
    assert v.regularizer_ablation_effects(result).fourier_smoother

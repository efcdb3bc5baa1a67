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

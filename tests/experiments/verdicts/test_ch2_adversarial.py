import pytest

from experiments.verdicts import ch2_adversarial as v
from tests.experiments.verdicts.fake import fake


@pytest.mark.parametrize(("after", "p99", "expected"), [
    (0.3, 2.0, v.Naive(True, True)), (0.7, 6.0, v.Naive(False, False)), (None, None, v.Naive(False, False)),
    (0.5, 4.0, v.Naive(False, True)),  # at the cut-offs: not narrow (strict), invisible (at most)
])
def test_naive_margins(after, p99, expected) -> None:
    assert v.naive_attack_margins(fake({"target_after": after, "median_p99": p99})) == expected


def _consequences(untargeted=0.2, targeted=0.05, png=0.9, jpeg=0.3, clean_kept=0.8):
    saved = [{"clean_kept": 1.0}, {"clean_kept": clean_kept}] if jpeg is not None else [{"clean_kept": 1.0}]
    return fake({"untargeted_transfer_rate": untargeted, "transfer_rate": targeted, "png_survival": png,
                 "jpeg_survival": jpeg, "saved": saved})


def test_consequences_when_the_examples_are_fragile_and_specific() -> None:
    c = v.attack_consequences_reach(_consequences())
    assert not c.often_disturbs and c.rarely_targeted
    assert c.rounding_undoes_some and c.undone_by_rounding == pytest.approx(0.1)
    assert c.jpeg_undoes_more and c.jpeg_keeps_clean and c.fragile


def test_consequences_when_the_examples_carry_over_and_survive() -> None:
    c = v.attack_consequences_reach(_consequences(untargeted=0.7, targeted=0.3, png=1.0, jpeg=1.0, clean_kept=0.4))
    assert c.often_disturbs and not c.rarely_targeted
    assert not (c.rounding_undoes_some or c.jpeg_undoes_more or c.jpeg_keeps_clean or c.fragile)


def test_consequences_without_jpeg() -> None:
    c = v.attack_consequences_reach(_consequences(jpeg=None))
    assert not (c.jpeg_undoes_more or c.jpeg_keeps_clean or c.fragile)


def _rows(pgd_u=0.9, pgd_t=0.5, fgsm_t=0.1, best_l2=0.8):
    return [{"method": "FGSM", "targeted": True, "eps": 1.0, "success_rate": fgsm_t, "median_l2": 1.0},
            {"method": "PGD", "targeted": False, "eps": 1.0, "success_rate": pgd_u, "median_l2": 0.5},
            {"method": "PGD", "targeted": True, "eps": 1.0, "success_rate": pgd_t, "median_l2": 0.4},
            {"method": "PGD", "targeted": True, "eps": 4.0, "success_rate": 0.9, "median_l2": best_l2}]


def test_comparison_when_pgd_is_clearly_better() -> None:
    r = {"rows": _rows(), "best_pgd_eps": 4.0, "best_pgd_success": 0.9, "naive_median_linf": 6.0}
    c = v.attack_comparison_ranking(fake(r), fake({"median_l2": 0.3}))
    assert c.pgd_smaller_than_naive and c.naive_smaller_in_l2 and c.pgd_l2_at_best == 0.8
    assert c.changing_easier and c.fgsm_not_enough and c.fgsm_targeted_best == 0.1
    assert c.untargeted.success_rate == 0.9 and c.targeted.success_rate == 0.5


def test_comparison_when_nothing_stands_out() -> None:
    r = {"rows": _rows(pgd_u=0.55, pgd_t=0.5, fgsm_t=0.8), "best_pgd_eps": 4.0, "best_pgd_success": 0.9,
         "naive_median_linf": None}
    c = v.attack_comparison_ranking(fake(r), fake({"median_l2": 2.0}))
    assert not (c.pgd_smaller_than_naive or c.naive_smaller_in_l2 or c.changing_easier or c.fgsm_not_enough)

"""2.2: how narrow the naive attack's wins are, how far its examples carry, how the attacks compare."""
from __future__ import annotations

from dataclasses import dataclass

from experiments.results.ch2 import AttackComparison, AttackConsequences, AttackRun, NaiveAttack
from experiments.settings import Fraction, NonNegative
from reportgen import verdict


@dataclass(frozen=True)
class Naive:
    narrow_win: bool  # the target's mean probability after the attack is below `narrow_win_below`
    invisible: bool  # 99 % of the pixel values change by at most `invisible_levels` (median over images)


def at_most(value: float | None, limit: float) -> bool:
    """`value` is known and not above `limit`."""
    return value is not None and value <= limit


def below(value: float | None, limit: float) -> bool:
    """`value` is known and below `limit`."""
    return value is not None and value < limit


@verdict
def naive_attack_margins(naive_attack: NaiveAttack,
                         narrow_win_below: Fraction = 0.5, invisible_levels: NonNegative = 4.0) -> Naive:
    """Whether the naive examples only just win, and whether their change can be seen."""
    return Naive(below(naive_attack.target_after, narrow_win_below),
                 at_most(naive_attack.median_p99, invisible_levels))


@dataclass(frozen=True)
class Consequences:
    often_disturbs: bool  # examples change the other network's prediction more often than `often_above`
    rarely_targeted: bool  # … and carry the target to it less often than `rarely_below`
    rounding_undoes_some: bool  # saving as PNG undoes some examples
    undone_by_rounding: float  # the share it undoes
    jpeg_undoes_more: bool  # JPEG undoes more than PNG
    jpeg_keeps_clean: bool  # JPEG leaves more than `often_above` of the clean predictions unchanged
    fragile: bool  # fewer than `often_above` of the examples survive JPEG


@verdict
def attack_consequences_reach(attack_consequences: AttackConsequences, often_above: Fraction = 0.5,
                              rarely_below: Fraction = 0.1) -> Consequences:
    """How far the naive examples carry: to another network, through PNG and JPEG."""
    r = attack_consequences
    jpeg, png = r.jpeg_survival, r.png_survival
    return Consequences(
        r.untargeted_transfer_rate > often_above, r.transfer_rate < rarely_below, png < 1, 1 - png,
        below(jpeg, png), len(r.saved) > 1 and r.saved[1].clean_kept > often_above,
        below(jpeg, often_above),
    )


@dataclass(frozen=True)
class Comparison:
    pgd_smaller_than_naive: bool  # targeted PGD's best budget is below the naive attack's median L∞
    naive_smaller_in_l2: bool  # the naive perturbation is smaller in L2 than targeted PGD's at its best budget
    pgd_l2_at_best: float | None  # targeted PGD's median L2 at its best budget
    untargeted: AttackRun  # untargeted PGD's row at the smallest budget
    targeted: AttackRun  # targeted PGD's row at the smallest budget
    fgsm_targeted_best: float  # FGSM's best targeted success rate
    changing_easier: bool  # untargeted PGD beats targeted PGD by more than `clear_gap` at the smallest budget
    fgsm_not_enough: bool  # FGSM's best targeted rate is more than `fgsm_gap` below PGD's best


def rows_of(rows: list[AttackRun], method: str, targeted: bool) -> list[AttackRun]:
    return [r for r in rows if r.method == method and bool(r.targeted) == targeted]


@verdict
def attack_comparison_ranking(attack_comparison: AttackComparison, naive_attack: NaiveAttack, clear_gap: Fraction = 0.1,
                              fgsm_gap: Fraction = 0.2) -> Comparison:
    """What the better attacks add over the naive one."""
    r = attack_comparison
    pgd_t, pgd_u = rows_of(r.rows, "PGD", True), rows_of(r.rows, "PGD", False)
    at_best = next(row for row in pgd_t if row.eps == r.best_pgd_eps)
    fgsm = max(row.success_rate for row in rows_of(r.rows, "FGSM", True))
    naive_l2 = naive_attack.median_l2
    return Comparison(
        r.naive_median_linf is not None and r.best_pgd_eps < r.naive_median_linf,
        naive_l2 is not None and naive_l2 < at_best.median_l2, at_best.median_l2, pgd_u[0], pgd_t[0], fgsm,
        pgd_u[0].success_rate > pgd_t[0].success_rate + clear_gap, fgsm < r.best_pgd_success - fgsm_gap,
    )

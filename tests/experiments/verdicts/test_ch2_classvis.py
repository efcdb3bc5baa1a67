import pytest

from experiments.verdicts import ch2_classvis as v
from tests.experiments.verdicts.fake import fake


@pytest.mark.parametrize(("p", "certain", "fairly"), [(0.95, True, True), (0.7, False, True), (0.3, False, False)])
def test_certainty_branches(p, certain, fairly) -> None:
    assert v.certainty(fake(p), 0.9, 0.5) == v.Certainty(fake(certain), fake(fairly))


def test_the_verdict_judges_the_mean_probability() -> None:
    assert v.class_images_certainty(fake({"mean_probability": 0.95})).certain
    assert not v.class_images_certainty(fake({"mean_probability": 0.95}), certain_above=0.99).certain


@pytest.mark.parametrize(("probs", "expected"), [
    ([0.1, 0.85, 0.9], (True, False)),  # 0.85 ≥ 0.9 × 0.9: saturated
    ([0.1, 0.5, 0.9], (False, True)),  # still rising
    ([0.9], (False, False)),  # one snapshot: neither
])
def test_saturation_branches(probs, expected) -> None:
    assert v.saturation(fake(probs), 0.9) == expected


def _grids(lr_probs, lr_contrast=(10, 20), lr_rough=(1, 2), reg=((30, 0.8), (20, 0.7))):
    lr = [{"probability": p, "contrast": c, "roughness": r}
          for p, c, r in zip(lr_probs, (lr_contrast[0], 15, lr_contrast[1]), (lr_rough[0], 1.5, lr_rough[1]))]
    return fake({"steps_table": [{"probability": 0.5}, {"probability": 0.9}], "lr_table": lr,
                 "reg_table": [{"contrast": c, "probability": p} for c, p in reg]})


def test_grid_effects_when_the_extremes_fall_short() -> None:
    g = v.class_image_grids_effects(_grids([0.3, 0.9, 0.5]))
    assert g.large_step_overshoots and g.small_step_short and g.best_step_probability == 0.9
    assert g.rising and not g.saturated
    assert g.larger_step_contrasted and g.larger_step_rougher
    assert g.larger_weight_greyer and g.larger_weight_costs  # 0.7 < 0.8 − 0.05


def test_grid_effects_when_nothing_stands_out() -> None:
    g = v.class_image_grids_effects(_grids([0.85, 0.9, 0.88], lr_contrast=(20, 10), lr_rough=(2, 1),
                                           reg=((20, 0.8), (30, 0.78))))
    assert not (g.large_step_overshoots or g.small_step_short)
    assert not (g.larger_step_contrasted or g.larger_step_rougher)
    assert not (g.larger_weight_greyer or g.larger_weight_costs)


@pytest.mark.parametrize(("similarity", "probability", "change", "expected"), [
    (0.8, 0.9, 5.0, v.FromImage(True, False, True)),
    (0.2, 0.1, 40.0, v.FromImage(False, True, False)),
])
def test_from_image_branches(similarity, probability, change, expected) -> None:
    r = {"mean_similarity": similarity, "mean_probability": probability, "mean_start_probability": 0.5,
         "mean_change": change}
    assert v.class_from_image_effects(fake(r)) == expected


@pytest.mark.parametrize(("first", "second", "same"), [(0.80, 0.82, True), (0.80, 0.60, False), (0.6, 0.8, False)])
def test_compare_certainty_branches(first, second, same) -> None:
    r = {"visualize_mean_probability": first, "mean_probability": second}
    assert v.class_images_compare_certainty(fake(r)).equally_sure == same

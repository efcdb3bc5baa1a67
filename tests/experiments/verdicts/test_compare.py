import pytest

from experiments.verdicts.compare import difference


@pytest.mark.parametrize(("value", "higher", "lower", "same"), [
    (0.80, True, False, False),  # more than the margin above
    (0.60, False, True, False),  # more than the margin below
    (0.72, False, False, True),  # inside the margin
    (0.75, False, False, True),  # at the margin: still the same
])
def test_difference_has_three_branches(value, higher, lower, same) -> None:
    d = difference(value, 0.70, 0.05)
    assert (d.higher, d.lower, d.same) == (higher, lower, same)

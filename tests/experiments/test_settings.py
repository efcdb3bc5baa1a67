"""The CPU budgets of the experiments' settings."""
from __future__ import annotations

import torch

from experiments.settings import on_cpu_or_full


def test_a_cpu_takes_its_budget_and_says_whether_it_reduces_the_full_setting() -> None:
    assert on_cpu_or_full(torch.device("cpu"), 5, 10) == (5, True)
    assert on_cpu_or_full("cpu", 10, 10) == (10, False)  # a CPU budget equal to the full setting reduces nothing


def test_an_accelerator_takes_the_full_setting() -> None:
    assert on_cpu_or_full(torch.device("cuda"), 5, 10) == (10, False)
    assert on_cpu_or_full("meta", 64, 224) == (224, False)

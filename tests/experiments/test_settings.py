"""The CPU budgets of the experiments' settings."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from experiments.settings import cpu_budget, on_cpu_or_full


def test_a_cpu_takes_its_budget() -> None:
    assert on_cpu_or_full(torch.device("cpu"), 5, 10) == 5
    assert on_cpu_or_full("cpu", 64, 224) == 64


def test_an_accelerator_takes_the_full_setting() -> None:
    assert on_cpu_or_full(torch.device("cuda"), 5, 10) == 10
    assert on_cpu_or_full("meta", 64, 224) == 224


def test_a_cpu_budget_of_steps_never_exceeds_the_full_setting() -> None:
    assert cpu_budget("cpu", 5, 10) == 5 and cpu_budget("cpu", 20, 10) == 10  # a CPU never takes more steps
    assert cpu_budget(torch.device("cuda"), 5, 10) == 10


def test_the_modules_a_no_op_build_reads_do_not_import_torch() -> None:
    """A build with nothing to do reads the settings' types, the results' and the verdicts' modules, and must stay
    well under a second: importing torch alone takes about one."""
    code = ("import sys, pkgutil, importlib, experiments.verdicts\n"
            "import experiments.settings, experiments.results.ch1, experiments.results.ch2\n"
            "for m in pkgutil.iter_modules(experiments.verdicts.__path__):\n"
            "    importlib.import_module('experiments.verdicts.' + m.name)\n"
            "print('torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.stdout.split()[-1] == "False"

"""Shared pieces of chapter 1: how many processes decode the images."""
from __future__ import annotations

import multiprocessing

import torch
from torch.utils.data import DataLoader, TensorDataset

from experiments.ch1_common import loader_workers


def _load_in_this_process(results) -> None:
    loader = DataLoader(TensorDataset(torch.arange(8.0)), batch_size=4, num_workers=loader_workers(2))
    try:
        results.put((loader.num_workers, [batch[0].tolist() for batch in loader]))
    except Exception as exc:  # the failure is what the test reports
        results.put((loader.num_workers, repr(exc)))


def test_a_daemonic_process_decodes_in_itself_instead_of_failing() -> None:
    """A `-j N` worker is a daemonic process: DataLoader workers there would fail ("daemonic processes are not
    allowed to have children"), so the images are loaded without them, whatever the setting says."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_load_in_this_process, args=(results,), daemon=True)
    child.start()
    workers, batches = results.get(timeout=60)
    child.join(timeout=60)
    assert workers == 0 and batches == [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]


def test_workers_as_set_or_one_per_spare_core() -> None:
    assert loader_workers(3) == 3 and loader_workers(0) == 0
    assert loader_workers(-1) == min(8, max(0, (multiprocessing.cpu_count() or 1) - 1))

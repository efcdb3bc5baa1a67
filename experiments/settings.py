"""The kinds of setting the experiments take, each with its valid range (checked by the engine before a build).

`max_steps: Count = 100` reads "a count, at least 1". The engine refuses a value outside the range in one line
naming the setting, the value and what is allowed.
"""
from __future__ import annotations

import multiprocessing
from typing import TYPE_CHECKING, Annotated, TypeVar

from reportgen import Check, Ge, Gt, Le

if TYPE_CHECKING:  # torch is not imported here: a no-op build reads this module's types without it
    import torch

T = TypeVar("T")

Count = Annotated[int, Gt(0)]  # steps, epochs, images, passes: at least one
CountOrZero = Annotated[int, Ge(0)]  # 0 means "none" or "automatic", as the setting's comment says
Positive = Annotated[float, Gt(0)]  # a step size, a learning rate, a time budget
NonNegative = Annotated[float, Ge(0)]  # a regularization weight, a noise level that may be 0
Fraction = Annotated[float, Ge(0), Le(1)]  # a share or a probability
Seed = Annotated[int, Ge(0)]
Workers = Annotated[int, Check(lambda v: v == -1 or v >= 0, "-1 (as many as the cores) or a count ≥ 0")]
Jobs = Annotated[int, Check(lambda v: v == -1 or v > 0, "-1 (every core) or a count ≥ 1")]
Counts = Annotated[tuple, Gt(0), Check(len, "a non-empty list")]  # e.g. PCA dimensions
Positives = Annotated[tuple, Gt(0), Check(len, "a non-empty list")]  # e.g. the SVM's C values
InputSize = Annotated[int, Ge(32)]  # pixels: ImageNet networks pool the input down by 32
Indices = Annotated[tuple, Ge(0)]  # class or image indices, steps to snapshot
Names = Annotated[tuple, Check(lambda v: len(v) > 0 and all(isinstance(x, str) and x for x in v),
                               "a non-empty list of class names")]
NonNegatives = Annotated[tuple, Ge(0), Check(len, "a non-empty list")]
Qualities = Annotated[tuple, Ge(1), Le(100), Check(len, "a non-empty list")]  # JPEG quality levels

# A network role's preprocessing; 0 and () mean "from the weights' metadata".
InputSizeOrAuto = Annotated[int, Check(lambda v: v == 0 or v >= 32, "0 (from the weights' metadata) or at least 32")]
ChannelMeans = Annotated[tuple, Check(lambda v: len(v) in (0, 3) and all(isinstance(x, (int, float)) and 0 <= x <= 1
                                                                         for x in v),
                                      "() (from the weights' metadata) or three values in [0, 1], one per RGB channel")]
ChannelStds = Annotated[tuple, Check(lambda v: len(v) in (0, 3) and all(isinstance(x, (int, float)) and x > 0
                                                                        for x in v),
                                     "() (from the weights' metadata) or three values > 0, one per RGB channel")]
Folders = Annotated[tuple, Check(lambda v: all(isinstance(x, str) and x for x in v), "a list of folder paths")]


def on_cpu_or_full(device: torch.device | str, cpu: T, full: T) -> T:
    """A setting with a budget for CPUs: `cpu` on a CPU, `full` elsewhere. An experiment returns both values, and
    its result says whether they differ (the report then says what was reduced)."""
    return cpu if (device if isinstance(device, str) else device.type).split(":")[0] == "cpu" else full


def cpu_budget(device: torch.device | str, cpu: int, full: int) -> int:
    """A count of steps or epochs reduced for a CPU: `cpu` there, but never more than `full`; `full` elsewhere."""
    return on_cpu_or_full(device, min(cpu, full), full)


def may_start_processes() -> bool:
    """Whether this process may start worker processes (DataLoader's, joblib's): not inside a daemonic process,
    such as a worker of `-j N`, where starting one fails ("daemonic processes are not allowed to have children")."""
    return not multiprocessing.current_process().daemon

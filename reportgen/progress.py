"""Progress inside a long experiment: `for x in progress(items, total=n, desc="images")` in a method.

tqdm draws it. On a terminal: a live bar with rate and time left, cleared when the loop ends (the runner then says
"ran in … s"). When the output is not a terminal (a CI log, a pipe): plain lines, at most one every `interval`
seconds, never a carriage return. Outside a build (tests, benchmarks, a Dask worker process) nothing is shown.

Which experiment runs, and where its progress goes, is known through one ContextVar that the runner sets around
the experiment's call (`shown`): a method needs no extra parameter, and a thread or process that the runner did not
set it in stays quiet.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
LINE = "{desc}: {n_fmt}/{total_fmt} ({percentage:.0f} %), {rate_fmt}, {remaining} left"  # no bar in a log


@dataclass(frozen=True)
class Display:
    """Where progress goes while one experiment runs: `label` names it; `interval`: seconds between plain lines."""

    stream: TextIO
    label: str = ""
    interval: float = 10.0
    clock: Callable[[], float] = time.time  # tqdm's clock; a test passes a fake one

    @property
    def terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())


_DISPLAY: ContextVar[Display | None] = ContextVar("reportgen_progress", default=None)


@contextlib.contextmanager
def shown(display: Display | None) -> Iterator[None]:
    """Progress of the loops run in the block goes to `display` (None: nowhere)."""
    token = _DISPLAY.set(display)
    try:
        yield
    finally:
        _DISPLAY.reset(token)


def progress(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterable[T]:
    """`items`, unchanged, while their progress is shown as the runner asked (or not at all)."""
    display = _DISPLAY.get()
    if display is None:
        return items
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    desc = f"{display.label} ({desc})" if display.label else desc
    if display.terminal:
        return _Bar(items, display, total=total, desc=desc, unit=unit, leave=False, delay=1.0, mininterval=0.2)
    return _Lines(items, display, total=total, desc=desc, unit=unit, leave=False, delay=display.interval,
                  mininterval=display.interval, miniters=1, bar_format=LINE if total else None)


class _Clocked(tqdm):
    monitor_interval = 0  # no monitor thread: each loop updates its own display

    def __init__(self, items: Iterable, display: Display, **options) -> None:
        super().__init__(items, file=display.stream, dynamic_ncols=display.terminal, **options)
        self._time = display.clock  # as tqdm's own tests do: every time tqdm reads comes from this clock
        self.start_t = self.last_print_t = display.clock()


class _Bar(_Clocked):
    """tqdm's live bar."""


class _Lines(_Clocked):
    """One plain line per display (tqdm's documented extension point), for logs: no carriage return, and nothing
    when the bar would be cleared."""

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg == "":  # tqdm clearing a finished bar (leave=False): a log keeps what it said, and no "\r"
            return False
        self.fp.write((self.__str__() if msg is None else msg) + "\n")
        self.fp.flush()
        return True

"""Progress inside experiments: plain periodic lines in a log, a live bar on a terminal, nothing outside a build."""
from __future__ import annotations

import io
import re

from reportgen.progress import Display, progress, shown
from reportgen.runner import Runner


class Clock:
    """A fake clock that the loop below advances: no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def slow(n: int, clock: Clock, seconds: float):
    for i in range(n):
        clock.now += seconds
        yield i


def test_a_log_gets_a_plain_line_at_most_every_interval_with_rate_and_time_left() -> None:
    clock, log = Clock(), io.StringIO()
    with shown(Display(log, "[ 2/9] scene_features", interval=10.0, clock=clock)):
        seen = list(progress(slow(10, clock, 3.0), total=10, desc="images", unit="img"))
    assert seen == list(range(10))  # the items pass through unchanged
    text = log.getvalue()
    assert "\r" not in text
    # 3 s per image: a line once 10 s have passed since the previous one (after images 4 and 8), none at the end;
    # 6 and 2 images left take 18 s and 6 s (tqdm truncates to whole seconds, and 3.0 is not exact in binary)
    lines = text.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"\[ 2/9\] scene_features \(images\): 4/10 \(40 %\),  3.00s/img, 00:1[78] left", lines[0])
    assert re.fullmatch(r"\[ 2/9\] scene_features \(images\): 8/10 \(80 %\),  3.00s/img, 00:0[56] left", lines[1])


def test_a_short_loop_says_nothing_in_a_log() -> None:
    clock, log = Clock(), io.StringIO()
    with shown(Display(log, "x", clock=clock)):
        list(progress(slow(5, clock, 1.0), total=5, desc="steps"))
    assert log.getvalue() == ""


def test_a_terminal_gets_a_live_bar_that_is_cleared_at_the_end() -> None:
    clock, terminal = Clock(), Terminal()
    with shown(Display(terminal, "[ 1/1] class_images", clock=clock)):
        list(progress(slow(10, clock, 1.0), total=10, desc="ascent", unit="step"))
    text = terminal.getvalue()
    frames = [f for f in text.split("\r") if f.strip()]
    assert len(frames) >= 5  # redrawn in place as it goes
    assert frames[-1].startswith("[ 1/1] class_images (ascent): 100%|") and "10/10" in frames[-1]
    assert "1.00step/s" in frames[-1] and "\n" not in text
    assert text.endswith("\r")  # the bar is wiped: the runner's next line starts on a clean line


def test_outside_a_build_nothing_is_shown(capsys) -> None:
    items = [1, 2, 3]
    assert progress(items, desc="quiet") is items
    with shown(None):
        assert list(progress(iter(items), total=3)) == items
    assert capsys.readouterr() == ("", "")


def test_the_runner_shows_an_experiments_progress_where_it_is_told(tiny, monkeypatch) -> None:
    tiny.write(f"{tiny.pkg}/looping.py", """\
        from reportgen import experiment
        from reportgen.progress import _DISPLAY


        @experiment
        def looping() -> dict:
            display = _DISPLAY.get()
            return {"label": display.label if display else None}
        """)
    tiny.purge()
    bars = io.StringIO()
    original = Runner.__init__

    def told(self, *args, **kwargs):  # the build's runner, with progress going to `bars` instead of stderr
        original(self, *args, **{**kwargs, "bars": bars})

    monkeypatch.setattr(Runner, "__init__", told)
    assert tiny.build().code == 0
    assert tiny.json("results.json")["experiments"]["looping"]["values"]["label"].endswith("] looping")

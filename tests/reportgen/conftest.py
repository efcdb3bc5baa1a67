"""A tiny reportgen project written into tmp_path, and in-process builds of it.

The project has its own experiments package (a unique name per test, so that it never clashes with the real
`experiments` package or with another test's), a helper module imported by one experiment, a questions module
and small templates. `TinyProject.build()` purges the package from `sys.modules` first, so that edited sources
are imported afresh, exactly as a new `reportgen build` process would.
"""
from __future__ import annotations

import importlib
import json
import re
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reportgen.build import Options, build
from reportgen.project import Project, find_project

PYPROJECT = """\
[project]
name = "tiny"
version = "0"

[tool.reportgen]
experiments = "{pkg}"
questions = "{pkg}.questions:QUESTIONS"
templates = "tpl"
main_template = "main.html.j2"
"""

CONFIG = """\
[report]
title = "Tiny report"

[ramp]
size = 3
"""

HELPERS = """\
FACTOR = 3


def scale(x: int) -> int:
    return x * FACTOR
"""

BASIC = """\
from reportgen import experiment
from {pkg} import helpers


@experiment
def numbers(n: int = 4, label: str = "four") -> dict:
    \"\"\"Plain numbers.\"\"\"
    return {{"n": n, "total": helpers.scale(n) * 1000, "ratio": 0.25, "label": label}}
"""

ARRAYS = """\
import numpy as np

from reportgen import experiment


@experiment
def ramp(size: int = 5) -> dict:
    \"\"\"An array and its size.\"\"\"
    return {"values": np.arange(size, dtype=np.float32), "size": size}
"""

PLOTS = """\
import matplotlib.pyplot as plt

from reportgen import experiment


@experiment
def curve(numbers: dict, ramp: dict) -> dict:
    \"\"\"A plot of the ramp, scaled by n.\"\"\"
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot(ramp["values"], ramp["values"] * numbers["n"])
    ax.axis("off")  # no ticks: much faster to draw
    return {"plot": fig, "peak": float(ramp["values"][-1] * numbers["n"])}
"""

IMAGES = """\
import matplotlib.pyplot as plt
import numpy as np

from reportgen import experiment


@experiment
def picture() -> dict:
    \"\"\"An image.\"\"\"
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.imshow(np.eye(4))
    ax.axis("off")
    return {"image": fig}
"""

QUESTIONS = """\
from reportgen import Question

QUESTIONS = (
    Question("1.Q1", "1.1", "★", "How many things are there?", ("numbers",),
             (("total", "numbers.total"), ("ratio", "numbers.ratio"))),
    Question("1.Q2", "1.1", "", "What does the curve show?", ("curve",), (("peak", "curve.peak"),)),
    Question("1.Q3", "1.2", "Bonus", "What does the picture show?", ("picture",)),
    Question("2.Q1", "2.1", "", "What is still open?"),
)
"""

MAIN = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ report.title }}</title></head>
<body>
{% import "macros.html.j2" as m with context %}
<h1>{{ report.title }}</h1>
{% include "chapter.html.j2" %}
</body></html>
"""

MACROS = """\
{% macro question(qid) %}
{% set a = answers[qid] %}
<section class="question" id="{{ a.question.anchor }}">
<h2>{{ a.question.id }} {{ a.question.label }} {{ a.question.text }}</h2>
{% if a.answered %}
<div class="answer">{{ caller() }}</div>
{% else %}
<div class="not-computed"><strong>Not computed.</strong> {{ a.reason }}</div>
{% endif %}
</section>
{% endmacro %}

{% macro figure(fig, key, caption) %}
{% set n = numbering.number("figure", key) %}
<figure id="fig-{{ key }}"><img src="{{ fig|src }}" alt="Figure {{ n }}">
<figcaption>Figure {{ n }}. {{ caption }}</figcaption></figure>
{% endmacro %}

{% macro fig_ref(key) %}<a class="ref" href="#fig-{{ key }}">Figure {{ numbering.ref("figure", key) }}</a>{% endmacro %}
"""

CHAPTER = """\
{{ numbering.chapter(1) }}
{% call m.question("1.Q1") %}
<p class="total">Total: {{ results.numbers.total|thousands }} ({{ results.numbers.ratio|pct }}),
label {{ results.numbers.label }}.</p>
{% endcall %}
{% call m.question("1.Q2") %}
<p class="peak">As {{ m.fig_ref("curve") }} shows, the peak is {{ results.curve.peak|num(1) }}.</p>
{{ m.figure(results.curve.plot, "curve", "The curve.") }}
{% endcall %}
{% call m.question("1.Q3") %}
{{ m.figure(results.picture.image, "picture", "The picture.") }}
{% endcall %}
{{ numbering.chapter(2) }}
{% call m.question("2.Q1") %}{% endcall %}
"""

LINE = re.compile(r"\] (\w+): (ran in|cached|skipped|FAILED)")


@dataclass(frozen=True)
class Run:
    """One in-process build: its exit code and what it said."""

    code: int
    lines: list[str]

    def _names(self, word: str) -> set[str]:
        return {m[1] for m in map(LINE.search, self.lines) if m and m[2] == word}

    @property
    def ran(self) -> set[str]:
        return self._names("ran in")

    @property
    def cached(self) -> set[str]:
        return self._names("cached")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class TinyProject:
    root: Path
    pkg: str
    cache_dir: Path

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def project(self) -> Project:
        return find_project(self.root)

    def module(self, name: str) -> Path:
        """A file of the experiments package, e.g. module("helpers") → <pkg>/helpers.py."""
        return self.root / self.pkg / f"{name}.py"

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).replace("{pkg}", self.pkg), encoding="utf-8")
        return path

    def edit(self, path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def purge(self) -> None:
        for name in [m for m in sys.modules if m.startswith(self.pkg)]:  # the package and <pkg>_* siblings
            del sys.modules[name]
        importlib.invalidate_caches()

    def options(self, *overrides: str, **kwargs: Any) -> Options:
        kwargs.setdefault("pdf", False)
        return Options(overrides=tuple(overrides), device="cpu", cache_dir=self.cache_dir, **kwargs)

    def build(self, *overrides: str, **kwargs: Any) -> Run:
        """Build in this process, like a fresh `reportgen build --no-pdf [--set …]` would."""
        self.purge()
        lines: list[str] = []
        code = build(self.project, self.options(*overrides, **kwargs), say=lines.append)
        return Run(code, lines)

    def json(self, name: str) -> dict[str, Any]:
        return json.loads((self.build_dir / name).read_text(encoding="utf-8"))

    def statuses(self) -> dict[str, str]:
        """Each experiment's status in the last build, from build/manifest.json."""
        return {n: o["status"] for n, o in self.json("manifest.json")["outcomes"].items()}

    def html(self) -> str:
        return (self.build_dir / "report.html").read_text(encoding="utf-8")


def write_tiny_project(root: Path, pkg: str) -> None:
    files = {
        "pyproject.toml": PYPROJECT, "reportgen.toml": CONFIG,
        f"{pkg}/__init__.py": '"""Tiny experiments."""\n', f"{pkg}/helpers.py": HELPERS, f"{pkg}/basic.py": BASIC,
        f"{pkg}/arrays.py": ARRAYS, f"{pkg}/plots.py": PLOTS, f"{pkg}/images.py": IMAGES,
        f"{pkg}/questions.py": QUESTIONS,
        "tpl/main.html.j2": MAIN, "tpl/macros.html.j2": MACROS, "tpl/chapter.html.j2": CHAPTER,
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = text.format(pkg=pkg) if relative in ("pyproject.toml", f"{pkg}/basic.py") else text
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TinyProject]:
    """A fresh tiny project as the current directory; sys.path and sys.modules are restored afterwards."""
    import matplotlib

    matplotlib.use("Agg")
    pkg = f"tinyexp_{uuid.uuid4().hex[:10]}"
    root = tmp_path / "proj"
    write_tiny_project(root, pkg)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(root)
    project = TinyProject(root.resolve(), pkg, tmp_path / "cache")
    yield project
    project.purge()

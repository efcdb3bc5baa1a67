"""Rendering: Jinja2 templates (autoescaped, strict) into one HTML page (its PDF: reportgen/pdf.py)."""
from __future__ import annotations

import base64
import dataclasses
import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from reportgen import filters, store
from reportgen.errors import UserError


@dataclass
class Numbering:
    """Figure and table numbers per chapter ("Figure 1.3"); a second pass resolves forward references."""

    known: dict[tuple[str, str], str] = field(default_factory=dict)
    _chapter: int | str = 0  # an appendix may be "A"
    _counts: dict[tuple[int | str, str], int] = field(default_factory=dict)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def restart(self) -> None:
        self._chapter, self._counts, self._seen = 0, {}, set()

    def chapter(self, number: int | str) -> str:
        self._chapter = number
        return ""

    def number(self, kind: str, key: str) -> str:
        """Give `key` the next number of its kind in the current chapter (once)."""
        if (kind, key) in self._seen:
            raise UserError(f"{kind} '{key}' is numbered twice in the templates; give each its own key")
        self._seen.add((kind, key))
        count = self._counts.get((self._chapter, kind), 0) + 1
        self._counts[(self._chapter, kind)] = count
        self.known[(kind, key)] = f"{self._chapter}.{count}"
        return self.known[(kind, key)]

    def ref(self, kind: str, key: str) -> str:
        """The number of a figure or table, wherever it is (before or after this point)."""
        return self.known.get((kind, key), "?")


def publish_figures(results: dict[str, Any], folder: Path, self_contained: bool) -> dict[Path, str]:
    """Copy every stored figure under `folder` (or embed it); returns cache path → src for the templates."""
    sources: dict[Path, str] = {}
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in results.items():
        for fig in figures_of(value):
            if self_contained:
                mime = "image/svg+xml" if fig.kind == "svg" else "image/png"
                sources[fig.path] = f"data:{mime};base64," + base64.b64encode(fig.path.read_bytes()).decode()
                continue
            target = folder / f"{name}--{fig.name}"
            if not target.exists() or target.read_bytes() != fig.path.read_bytes():  # same size ≠ same figure
                shutil.copyfile(fig.path, target)
            sources[fig.path] = f"{folder.name}/{target.name}"
    return sources


def figures_of(value: Any) -> list[store.Figure]:
    """Every stored figure inside a result (or a dict of results)."""
    if isinstance(value, store.Figure):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [f for field in dataclasses.fields(value) for f in figures_of(getattr(value, field.name))]
    if isinstance(value, dict):
        return [f for v in value.values() for f in figures_of(v)]
    if isinstance(value, list):
        return [f for v in value for f in figures_of(v)]
    return []


def environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=jinja2.select_autoescape(["html", "j2", "html.j2"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters.ALL)
    return env


def render_html(templates: Path, main: str, context: dict[str, Any], sources: dict[Path, str]) -> str:
    """Render twice so that references to later figures get their numbers; errors name the template line."""
    numbering = Numbering()
    env = environment(templates)
    env.filters["src"] = lambda fig: sources[fig.path]
    html = ""
    for _ in range(2):
        numbering.restart()
        try:
            html = env.get_template(main).render(**context, numbering=numbering)
        except UserError:
            raise
        except Exception as exc:  # a Jinja error, or a filter failing on a value: name the template line
            raise UserError(_template_error(exc, templates)) from None
    return html


def _template_error(exc: Exception, templates: Path) -> str:
    where = ""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        where = f"{exc.filename}:{exc.lineno}: "
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).is_relative_to(templates)]
        if frames:
            where = f"{frames[-1].filename}:{frames[-1].lineno}: "
    message = exc.message if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"
    return f"template error: {where}{message or type(exc).__name__}"

"""Verdicts: the worded judgements of computed results, made when the report is rendered and never cached.

A verdict is a plain function like an experiment: its parameters without defaults are the experiments it judges,
those with defaults its cut-offs. Its cut-offs are read from the section of the first experiment it judges (or the
`section` given), so `--set class_images.certain_above=0.8` reads as a setting of that answer; but they never
enter an experiment's cache key, and changing one only renders the report again. Verdicts live in the project's
verdicts package (`<experiments>.verdicts` by default), which the renderer imports alone, without the experiments.
"""
from __future__ import annotations

import hashlib
import importlib
import pkgutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reportgen import config
from reportgen.errors import UserError
from reportgen.registry import ATTR, Meta, Node, node_from_function


def verdict(fn: Callable | None = None, *, section: str | None = None) -> Callable:
    """Mark `fn` as a verdict (returns it unchanged); `section` defaults to its first input's name."""

    def mark(f: Callable) -> Callable:
        setattr(f, ATTR, Meta(kind="verdict", section=section))
        return f

    return mark(fn) if fn is not None else mark


def discover_verdicts(package: str | None) -> list[Node]:
    """The verdicts of `package` and its modules, importing nothing else; [] when there is no such package."""
    if not package:
        return []
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        if exc.name and package.startswith(exc.name):
            return []
        raise UserError(f"cannot import verdicts package {package}: {exc}; fix the module") from None
    modules = [root] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(getattr(root, "__path__", []),
                                                                                        f"{package}.")]
    nodes = [node_from_function(v) for m in modules for v in vars(m).values()
             if callable(v) and getattr(getattr(v, ATTR, None), "kind", None) == "verdict"
             and v.__module__ == m.__name__]
    sections: dict[str, str] = {}
    for node in nodes:
        if node.section in sections:
            raise UserError(f"verdicts {sections[node.section]} and {node.name} both judge [{node.section}]; "
                            "merge them into one")
        sections[node.section] = node.name
    return nodes


def cutoffs(node: Node, settings: config.Settings) -> dict[str, Any]:
    """The verdict's cut-offs: its defaults with its section's values on top (other keys belong to experiments)."""
    section = settings.section(node.section)
    return config.resolve(node.defaults, section, node.section, shared=set(section) - set(node.defaults))


def stamp(nodes: list[Node], settings: config.Settings) -> list[Any]:
    """What a rendered report's verdicts depend on besides the results: the cut-offs and the verdicts' sources."""
    files = sorted({Path(sys.modules[n.fn.__module__].__file__ or "") for n in nodes})
    sources = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    return [sources, {n.name: cutoffs(n, settings) for n in nodes}]


def judge(nodes: list[Node], settings: config.Settings, results: Mapping[str, Any]) -> dict[str, Any]:
    """Each verdict whose experiments were computed, under its section's name (`verdicts.class_images`)."""
    found: dict[str, Any] = {}
    for node in nodes:
        if all(i in results for i in node.inputs):
            try:
                found[node.section] = node.fn(**cutoffs(node, settings), **{i: results[i] for i in node.inputs})
            except Exception as exc:  # noqa: BLE001 — a bug in a verdict: name it in one line
                raise UserError(f"verdict {node.name} ({node.fn.__module__}) failed: {type(exc).__name__}: {exc}; "
                                "fix the verdict") from None
    return found

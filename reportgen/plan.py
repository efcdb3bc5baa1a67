"""Resolving every function's settings and cache key before anything runs."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen import cache, config
from reportgen.errors import UserError
from reportgen.registry import BUILTINS, Node, Registry
from reportgen.sources import SourceIndex


@dataclass(frozen=True)
class Context:
    """What the engine itself provides to a build."""

    device: str  # "cpu" or "cuda" (resolved from auto before planning)
    offline: bool
    cache_dir: Path  # where resources may keep downloads and memo files
    seed: int = 0
    packages: tuple[str, ...] = ()  # the project's top-level packages: stored dataclasses are rebuilt from these


@dataclass(frozen=True)
class Planned:
    node: Node
    params: dict[str, Any]
    parts: dict[str, Any]
    key: str


def resolve_device(requested: str) -> str:
    """`auto` becomes cuda when a GPU is usable, else cpu; `cuda` without one is an error."""
    if requested not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device {requested}: expected auto, cpu or cuda")
    if requested == "cpu" or (requested == "auto" and not os.path.exists("/dev/nvidiactl")):
        return "cpu"
    import torch  # only when a GPU may be there

    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        raise UserError("--device cuda: no CUDA GPU is usable here; use --device cpu or auto")
    return "cpu"


def plan(registry: Registry, settings: config.Settings, context: Context, index: SourceIndex) -> dict[str, Planned]:
    """Settings, key parts and key of every node, in dependency order."""
    config.check_sections(settings, {n.section for n in registry.nodes.values()})
    versions = cache.library_versions()
    keys = {"device": context.device, "offline": "", "cache_dir": ""}
    shared: dict[str, set[str]] = {}
    for node in registry.nodes.values():
        shared.setdefault(node.section, set()).update(node.defaults)
    planned: dict[str, Planned] = {}
    for name in registry.order:
        node = registry.nodes[name]
        params = config.resolve(node.defaults, settings.section(node.section), node.section, shared[node.section])
        fingerprint = _fingerprint(node, params) if node.meta.fingerprint else None
        parts = cache.key_parts(
            index.closure(node.fn.__module__), params, {i: keys[i] for i in node.inputs},
            versions, context.device, fingerprint,
        )
        keys[name] = cache.digest(parts)
        planned[name] = Planned(node, params, parts, keys[name])
    return planned


def _fingerprint(node: Node, params: dict[str, Any]) -> Any:
    try:
        return node.meta.fingerprint(**params)
    except Exception as exc:  # noqa: BLE001 — loading the resource will report it properly
        return {"unavailable": f"{type(exc).__name__}: {exc}"}


def watched_paths(planned: dict[str, Planned]) -> list[str]:
    """Files and folders whose change must make a no-op build do real work again."""
    paths: list[str] = []
    for p in planned.values():
        if p.node.meta.watch:
            paths += [os.fspath(x) for x in p.node.meta.watch(**p.params)]
    return sorted(set(paths))


__all__ = ["BUILTINS", "Context", "Planned", "plan", "resolve_device", "watched_paths"]

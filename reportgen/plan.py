"""Resolving every function's settings and cache key before anything runs."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen import cache, config
from reportgen.assets import Choice
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
    strict: bool = False  # a stand-in for anything configured is an error
    may_fetch: bool = True  # resources may download while resolving (a build); False: status, list
    packages: tuple[str, ...] = ()  # the project's top-level packages: stored dataclasses are rebuilt from these


@dataclass(frozen=True)
class Planned:
    node: Node
    params: dict[str, Any]
    parts: dict[str, Any]
    key: str
    choice: Choice | None = None  # what its section resolved to (see assets.Choice)


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
    choices = resolve_choices(registry, settings, context, shared)
    planned: dict[str, Planned] = {}
    for name in registry.order:
        node = registry.nodes[name]
        params = config.resolve(node.defaults, settings.section(node.section), node.section, shared[node.section],
                                node.constraints)
        for other, choice in choices.items():  # a choice applies to every function of its resource's section
            if registry.nodes[other].section == node.section:
                params.update({k: v for k, v in choice.overrides if k in params})
        fingerprint = _fingerprint(node, params) if node.meta.fingerprint else None
        keyed = {k: v for k, v in params.items() if fingerprint is None or k not in node.meta.locations}
        parts = cache.key_parts(
            index.closure(node.fn.__module__), keyed, {i: keys[i] for i in node.inputs},
            versions, context.device, fingerprint,
        )
        keys[name] = cache.digest(parts)
        planned[name] = Planned(node, params, parts, keys[name], choices.get(name))
    return planned


def resolve_choices(registry: Registry, settings: config.Settings, context: Context,
                    shared: dict[str, set[str]]) -> dict[str, Choice]:
    """The choice of each resource that has a `resolve` hook, by name; with `strict`, a substitution anywhere is an
    error that lists them all."""
    choices: dict[str, Choice] = {}
    for node in registry.nodes.values():
        if node.meta.resolve is None:
            continue
        params = config.resolve(node.defaults, settings.section(node.section), node.section, shared[node.section],
                                node.constraints)
        try:
            choice = node.meta.resolve(offline=context.offline or not context.may_fetch, **params)
            choices[node.name] = dataclasses.replace(choice, section=choice.section or node.section)
        except (ValueError, OSError) as exc:
            raise UserError(f"[{node.section}] {exc}") from None
    substitutes = [c for c in choices.values() if c.substitute]
    if context.strict and substitutes:
        lines = "\n  ".join(c.line() for c in substitutes)
        raise UserError(f"--strict, and stand-ins would replace what is configured:\n  {lines}\n"
                        "(put the configured files in place, e.g. with `reportgen fetch` where there is internet, "
                        "or drop --strict)")
    return choices


def _fingerprint(node: Node, params: dict[str, Any]) -> Any:
    fingerprint = node.meta.fingerprint
    if fingerprint is None:
        return None
    try:
        return fingerprint(**params)
    except UserError as exc:  # the settings name something that does not exist: stop before anything runs
        raise UserError(f"[{node.section}] {exc}") from None
    except Exception as exc:  # noqa: BLE001 — loading the resource will report it properly
        return {"unavailable": f"{type(exc).__name__}: {exc}"}


def resources_read(planned: dict[str, Planned], name: str) -> list[str]:
    """The resources an experiment reads, directly or through other resources."""
    found: list[str] = []
    todo = [name]
    while todo:
        for i in planned[todo.pop()].node.inputs:
            if i in planned and not planned[i].node.is_experiment and i not in found:
                found.append(i)
                todo.append(i)
    return found


def watched_paths(planned: dict[str, Planned]) -> list[str]:
    """Files and folders whose change must make a no-op build do real work again."""
    paths: list[str] = []
    for p in planned.values():
        if p.node.meta.watch:
            paths += [os.fspath(x) for x in p.node.meta.watch(**p.params)]
        paths += list(p.choice.watch if p.choice else ())
    return sorted(set(paths))


__all__ = ["BUILTINS", "Context", "Planned", "plan", "resolve_device", "watched_paths"]

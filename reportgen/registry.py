"""Experiments and resources as plain functions: the decorators, their discovery, and the graph they form."""
from __future__ import annotations

import difflib
import graphlib
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reportgen import constraints
from reportgen.constraints import Constraint
from reportgen.errors import UserError

ATTR = "__reportgen__"
BUILTINS = ("device", "offline", "cache_dir")  # provided by the engine itself


@dataclass(frozen=True)
class Meta:
    """What the decorators attach to a function."""

    kind: str  # "experiment", "resource" or "verdict" (see reportgen.verdicts)
    section: str | None = None  # configuration section; defaults to the function's name
    fingerprint: Callable[..., Any] | None = None  # resource: cheap identity of what it loads
    assets: Callable[..., list] | None = None  # resource: the files it needs, checked before a build
    watch: Callable[..., list] | None = None  # resource: paths whose change must trigger a rebuild
    fetch: Callable[..., None] | None = None  # resource: download what it needs (for `reportgen fetch`)
    resolve: Callable[..., Any] | None = None  # resource: (offline, **settings) -> assets.Choice, before planning
    locations: tuple[str, ...] = ()  # resource: settings that only say where its data is; with a fingerprint,
    # they stay out of cache keys (the fingerprint identifies the content: a moved copy reuses the cache)
    shares_gpu: bool = False  # experiment: may run on a GPU beside another experiment (Dask builds)


def experiment(fn: Callable | None = None, *, shares_gpu: bool = False) -> Callable:
    """Mark `fn` as an experiment: its name is its result key; returns `fn` unchanged.

    `@experiment(shares_gpu=True)`: in a parallel build, it may run on a GPU that another experiment is using
    (by default an experiment that runs on the GPU has it to itself)."""

    def mark(fn: Callable) -> Callable:
        setattr(fn, ATTR, Meta(kind="experiment", shares_gpu=shares_gpu))
        return fn

    return mark if fn is None else mark(fn)


def resource(*, section: str | None = None, fingerprint=None, assets=None, watch=None, fetch=None,
             resolve=None, locations: tuple[str, ...] = ()) -> Callable:
    """Mark a function as a resource (a network, a dataset): loaded once per build, never cached.

    `resolve(offline, **settings)` returns an `assets.Choice`: what the configuration resolves to (a stand-in when
    the configured network cannot be had, a dataset found in a search folder); its overrides apply to every
    resource of the section."""

    def mark(fn: Callable) -> Callable:
        setattr(fn, ATTR, Meta("resource", section, fingerprint, assets, watch, fetch, resolve, tuple(locations)))
        return fn

    return mark


@dataclass(frozen=True)
class Node:
    """One function of the graph with what its signature says."""

    name: str
    fn: Callable
    meta: Meta
    inputs: tuple[str, ...]
    defaults: dict[str, Any] = field(hash=False)
    constraints: dict[str, tuple[Constraint, ...]] = field(default_factory=dict, hash=False)  # per setting

    @property
    def is_experiment(self) -> bool:
        return self.meta.kind == "experiment"

    @property
    def is_verdict(self) -> bool:
        return self.meta.kind == "verdict"

    @property
    def section(self) -> str:
        if self.meta.section:
            return self.meta.section
        return self.inputs[0] if self.is_verdict and self.inputs else self.name

    @property
    def caption(self) -> str:
        doc = inspect.getdoc(self.fn) or ""
        return doc.splitlines()[0] if doc else self.name.replace("_", " ")


def node_from_function(fn: Callable) -> Node:
    params = inspect.signature(fn).parameters.values()
    inputs = tuple(p.name for p in params if p.default is inspect.Parameter.empty)
    defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    return Node(fn.__name__, fn, getattr(fn, ATTR), inputs, defaults, constraints.of_function(fn, defaults))


@dataclass(frozen=True)
class Registry:
    """Every experiment and resource of a package, in dependency order."""

    nodes: dict[str, Node]
    order: tuple[str, ...]

    @property
    def experiments(self) -> list[Node]:
        return [self.nodes[n] for n in self.order if self.nodes[n].is_experiment]

    def dependents(self, name: str) -> set[str]:
        """Every node that needs `name`, directly or not."""
        found: set[str] = set()
        for n in self.order:
            if any(i == name or i in found for i in self.nodes[n].inputs):
                found.add(n)
        return found


def discover(package: str) -> Registry:
    """Import every module of `package` and collect the decorated functions."""
    found: dict[str, Node] = {}
    for fn in _decorated_functions(package):
        node = node_from_function(fn)
        if node.name in found or node.name in BUILTINS:
            raise UserError(f"two experiments or resources are named '{node.name}' ({fn.__module__}); rename one")
        found[node.name] = node
    return build_registry(found)


def _decorated_functions(package: str) -> list[Callable]:
    try:
        pkg = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        raise UserError(f"experiments package '{package}' not found ({exc}); run from the project root") from None
    modules = [pkg] + [_import(m.name) for m in pkgutil.walk_packages(pkg.__path__, f"{package}.")]
    fns: list[Callable] = []
    for module in modules:
        for value in vars(module).values():
            if inspect.isfunction(value) and hasattr(value, ATTR) and value.__module__ == module.__name__:
                fns.append(value)
    return fns


def _import(name: str):
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 — a broken module is the user's to fix: say which, in one line
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) else ""
        raise UserError(f"cannot import {name}{where}: {type(exc).__name__}: {exc}; fix the module") from None


def build_registry(nodes: dict[str, Node]) -> Registry:
    """Check every input exists and there is no cycle; order the nodes."""
    known = set(nodes) | set(BUILTINS)
    for node in nodes.values():
        for name in node.inputs:
            if name in nodes and nodes[name].is_verdict:
                raise UserError(f"{node.meta.kind} '{node.name}' takes verdict '{name}' as "
                                "input; verdicts are made when the report is rendered: take the experiment it judges")
            if node.is_verdict and not (name in nodes and nodes[name].is_experiment):
                raise UserError(f"verdict '{node.name}' takes input '{name}', which is no experiment; a verdict "
                                "judges experiments' results only")
            if name not in known:
                hint = difflib.get_close_matches(name, known, n=1)
                extra = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise UserError(
                    f"{node.meta.kind} '{node.name}' takes input '{name}', which is no experiment, "
                    f"resource or built-in{extra}; give it a default to make it a setting, or define it"
                )
    sorter = graphlib.TopologicalSorter({n: [i for i in node.inputs if i in nodes] for n, node in nodes.items()})
    try:
        order = tuple(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = " → ".join(exc.args[1])
        raise UserError(f"experiments depend on each other in a cycle: {cycle}; break it") from None
    return Registry(nodes, order)

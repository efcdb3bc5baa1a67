"""A build: run what is stale (or nothing, when no input changed), then write results.json, HTML and PDF."""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen import cache, config, report, store
from reportgen.assets import AssetError, Choice
from reportgen.errors import UserError
from reportgen.plan import Context, Planned, plan, resolve_device, resources_read, watched_paths
from reportgen.project import Project
from reportgen.registry import discover
from reportgen.runner import Outcome, Runner, Selection
from reportgen.sources import SourceIndex
from reportgen.status import Status

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Options:
    config: Path | None = None
    overrides: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    force: tuple[str, ...] = ()
    device: str = "auto"
    offline: bool = False
    keep_going: bool = False
    pdf: bool = True
    self_contained: bool = False
    strict: bool = False  # any stand-in (for a network that cannot be had) is an error
    jobs: int = 1  # experiments at once, in worker processes of this machine (Dask)
    scheduler: str | None = None  # a running Dask cluster's scheduler address instead
    cache_keep: int = 3  # entries kept per experiment (a sweep keeps one per combination)
    cache_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reportgen")


def settings_for(project: Project, options: Options) -> config.Settings:
    return config.load_settings(options.config or project.default_config, list(options.overrides))


def build(project: Project, options: Options, say=lambda line: print(line, file=sys.stderr, flush=True),
          pool=None) -> int:
    """Build the report; returns the exit code (0 only when every experiment asked for succeeded). `pool`: the Dask
    cluster of a parallel build when the caller keeps one for several builds (a sweep)."""
    with exclusive(project.build, say), pool_for(options, pool) as pool:
        return _build(project, options, say, pool)


@contextlib.contextmanager
def pool_for(options: Options, given):
    """The build's Dask cluster when it runs in parallel (started only once an experiment has to run)."""
    if given is not None or (options.jobs <= 1 and not options.scheduler):
        yield given
        return
    from reportgen.cluster import Pool  # Dask only for a parallel build

    with Pool(options.jobs, options.scheduler) as pool:
        yield pool


@contextlib.contextmanager
def exclusive(folder: Path, say):
    """One build at a time per build folder: a second one waits for the first."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another build is using {folder}; waiting for it to finish…")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(project: Project, options: Options, say, pool) -> int:
    settings = settings_for(project, options)
    previous = _read_manifest(project)
    stamp = _stamp(project, options, settings, previous.get("watch", []))
    if previous.get("stamp") == stamp and previous.get("complete") and not options.force and not options.only:
        # Nothing an experiment depends on changed: what succeeded is cached, and what failed would fail again
        # (a transient failure is retried with --force NAME).
        outcomes = {n: Outcome(n, Status.CACHED if Status(o["status"]).computed else Status(o["status"]), o["key"],
                               o.get("reason"), o["meta"]) for n, o in previous["outcomes"].items()}
        say("nothing changed since the last build: no experiment to run")
        watch, choices = previous["watch"], [Choice(**c) for c in previous.get("choices", [])]
    else:
        outcomes, watch, choices = _run(project, options, settings, say, pool)
        stamp = _stamp(project, options, settings, watch)
    for choice in choices:
        if choice.used != choice.asked:
            say(("STAND-IN: " if choice.substitute else "found: ") + choice.line())
    render = None  # what the report on disk shows; unknown if rendering fails
    try:
        render = report.write(project, options, settings, outcomes, choices, previous.get("render"), say)
    finally:  # the outcomes are recorded even when a template error stops the report
        _write_manifest(project, stamp, watch, outcomes, not options.only, render, choices)
    failed = [o for o in outcomes.values() if not o.computed]
    for line in _summary(failed):
        say(line)
    say(f"{len(outcomes) - len(failed)} of {len(outcomes)} experiments computed; report in {project.build}")
    return 1 if any(o.missing for o in outcomes.values()) else 0  # left out by --only: asked for, not a failure


def _summary(failed: list[Outcome]) -> list[str]:
    """One line per root cause, then the experiments it left uncomputed."""
    causes: dict[str, list[str]] = {}
    for o in failed:
        cause = o.reason or "unknown"
        while cause.startswith("needs ") and ", which " in cause:  # "needs A, which skipped: needs B, which failed: …"
            cause = cause.split(", which ", 1)[1].split(": ", 1)[-1]
        causes.setdefault(cause, []).append(o.name)
    return [f"  not computed: {', '.join(names)}\n    because: {cause}" for cause, names in causes.items()]


def prepare(project: Project, options: Options, settings: config.Settings, may_fetch: bool = True
            ) -> tuple[dict[str, Planned], Context]:
    """Discover the experiments and plan every key (imports the project's experiments); `may_fetch`: resources may
    download what they need to decide what to use (a build), else they decide from what is at hand."""
    project.importable()
    registry = discover(project.experiments)
    # with a cluster, `--device cuda` names the workers' device: the client (a login node) may have no GPU
    device = "cuda" if options.scheduler and options.device == "cuda" else resolve_device(options.device)
    context = Context(device, options.offline, options.cache_dir, strict=options.strict, may_fetch=may_fetch,
                      packages=project.packages)
    index = SourceIndex(project.root, exclude=(Path(__file__).resolve().parent,))
    return plan(registry, settings, context, index), context


def _run(project: Project, options: Options, settings: config.Settings, say, pool
         ) -> tuple[dict[str, Outcome], list[str], list[Choice]]:
    planned, context = prepare(project, options, settings)
    cache_ = cache.Cache(project.cache)
    cache_.sweep(options.cache_keep, needed=needed_keys(project, options, planned))
    check_patterns(planned, options.only)
    forced = Selection((), options.force).forced
    only = with_upstream(planned, options.only, lambda n: cache_.has(n, planned[n].key) and not forced(n))
    blocked = _preflight(planned, context, options, only)
    if pool is None:
        runner = Runner(planned, context, cache_, project.build / "logs", say, bars=sys.stderr)
    else:
        from reportgen.parallel import ParallelRunner

        runner = ParallelRunner(planned, context, cache_, project.build / "logs", say, pool, project.root,
                                project.experiments)
    outcomes = runner.run(Selection(only, options.force), blocked)
    sources = {str(project.root / path) for p in planned.values() for path in p.parts["sources"]}
    watch = sorted(set(watched_paths(planned)) | sources)  # project modules outside the package too
    return outcomes, watch, choices_of(planned)


def choices_of(planned: dict[str, Planned]) -> list[Choice]:
    """Each section's choice once, in the order of the plan."""
    found: dict[str, Choice] = {}
    for p in planned.values():
        if p.choice is not None:
            found.setdefault(p.choice.section, p.choice)
    return list(found.values())


def needed_keys(project: Project, options: Options, planned: dict[str, Planned]) -> dict[str, set[str]]:
    """The cache keys of this build and, when it has --set overrides, of the configuration without them: trying
    variants never evicts what the plain build needs."""
    needed: dict[str, set[str]] = {n: {p.key} for n, p in planned.items() if p.node.is_experiment}
    if options.overrides:
        try:
            plain_options = dataclasses.replace(options, overrides=())
            plain, _ = prepare(project, plain_options, settings_for(project, plain_options))
        except UserError:  # the plain configuration is broken: nothing more to protect
            return needed
        for name, p in plain.items():
            if p.node.is_experiment:
                needed.setdefault(name, set()).add(p.key)
    return needed


def check_patterns(planned: dict[str, Planned], only: tuple[str, ...]) -> None:
    """Every --only pattern must select some experiment: a typo is an error that lists the experiments."""
    names = [n for n, p in planned.items() if p.node.is_experiment]
    for pattern in only:
        if not any(Selection((pattern,)).selected(n) for n in names):
            raise UserError(f"--only {pattern!r} matches no experiment; the experiments are: {', '.join(names)}")


def check_assets(planned: dict[str, Planned]) -> dict[str, list]:
    """Every resource's assets and their state, without loading anything."""
    found = {}
    for name, p in planned.items():
        if p.node.meta.assets:
            found[name] = list(p.node.meta.assets(**p.params))
    return found


def with_upstream(planned: dict[str, Planned], only: tuple[str, ...], cached: Callable[[str], bool]
                  ) -> tuple[str, ...]:
    """`only` and the names of the experiments that the selected ones rest on, directly or through others, and
    that are not `cached`: as with make, selecting a result builds what it needs (nothing more when `only` is
    empty, which selects everything)."""
    selection = Selection(only)
    todo = [n for n, p in planned.items() if p.node.is_experiment and selection.selected(n)] if only else []
    chosen = set(todo)
    while todo:
        for dep in planned[todo.pop()].node.inputs:
            if dep in planned and planned[dep].node.is_experiment and dep not in chosen and not cached(dep):
                chosen.add(dep)
                todo.append(dep)
    return tuple(only) + tuple(sorted(n for n in chosen if not selection.selected(n)))


def _needed(planned: dict[str, Planned], only: tuple[str, ...]) -> set[str]:
    """The resources that the experiments selected by `only` read, directly or through other resources."""
    selection = Selection(only)
    return {r for n, p in planned.items() if p.node.is_experiment and selection.selected(n)
            for r in resources_read(planned, n)}


def _preflight(planned: dict[str, Planned], context: Context, options: Options, only: tuple[str, ...]
               ) -> dict[str, str]:
    """Offline, every missing file that the experiments selected by `only` need is reported at once, before
    anything runs (or, with --keep-going, blocks only the resources that need it)."""
    if not context.offline:
        return {}
    needed = _needed(planned, only)
    missing = {name: [a for a in assets if not a.ok] for name, assets in check_assets(planned).items()
               if name in needed}
    missing = {name: assets for name, assets in missing.items() if assets}
    if not missing:
        return {}
    if options.keep_going:
        return {name: str(AssetError(assets)) for name, assets in missing.items()}
    lines = sorted({a.describe() for assets in missing.values() for a in assets})
    raise UserError("offline build, and these files are missing or broken:\n  " + "\n  ".join(lines)
                    + "\n(run `reportgen fetch` on a machine with internet, or --keep-going to build the rest)")


def _stamp(project: Project, options: Options, settings: config.Settings, watch: list[str]) -> str:
    """Everything that can change a result, cheaply: sources, settings, libraries, device, watched files."""
    h = hashlib.sha256()
    engine = Path(__file__).resolve().parent
    package = project.root / project.experiments.replace(".", "/")
    for folder in (engine, package):
        for path in sorted(folder.rglob("*.py")):
            h.update(path.as_posix().encode() + path.read_bytes())
    h.update(json.dumps([settings.tree, options.device, os.path.exists("/dev/nvidiactl"),
                         os.environ.get("CUDA_VISIBLE_DEVICES"), cache.library_versions(),
                         sorted((k, v) for k, v in os.environ.items() if k.startswith("REPORTGEN_"))],
                        sort_keys=True, default=str).encode())
    for item in watch:
        for path in _walk(Path(item)):
            st = path.stat()
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _walk(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        found += [Path(dirpath) / f for f in sorted(filenames)]
    return found


def _read_manifest(project: Project) -> dict[str, Any]:
    path = project.build / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(project: Project, stamp: str, watch: list[str], outcomes: dict[str, Outcome], complete: bool,
                    render: str | None, choices: list[Choice]) -> None:
    data = {"stamp": stamp, "watch": watch, "complete": complete, "render": render,
            "choices": [dataclasses.asdict(c) for c in choices],
            "outcomes": {n: {"key": o.key, "status": o.status, "reason": o.reason, "meta": o.meta}
                         for n, o in outcomes.items()}}
    # not sorted: the outcomes keep the planning order, which a build that runs nothing shows again (the appendix)
    store.write_text_atomic(project.build / MANIFEST, json.dumps(data, indent=1))


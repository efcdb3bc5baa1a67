"""The command line: build, sweep, watch, status, list, fetch, clean."""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from reportgen import build as build_
from reportgen.assets import AssetError
from reportgen.cache import Cache, explain
from reportgen.errors import UserError
from reportgen.project import find_project
from reportgen.status import Status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reportgen",
                                     description="Compute a practical's answers and render the report.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="run what is stale, then write build/report.html, report.pdf, results.json")
    _build_options(b)
    s = sub.add_parser("sweep", help="one report per combination of --set key=a,b,… into build/sweep/<name>/, "
                                     "sharing cached results, and build/sweep/index.html comparing them")
    _build_options(s)
    for name, text in (("status", "say which experiments are fresh, stale (and why), failed or never run"),
                       ("list", "list experiments and resources with their inputs")):
        _common(sub.add_parser(name, help=text))
    w = sub.add_parser("watch", help="build, serve build/report.html at http://127.0.0.1:8000/, and rebuild (HTML "
                                     "only) and reload the page whenever an experiment, template or the "
                                     "configuration is saved; Ctrl-C stops")
    _common(w)
    w.add_argument("--pdf", action="store_true", help="write report.pdf at each rebuild too (slower)")
    w.add_argument("--only", action="append", default=[], metavar="PATTERN",
                   help="rebuild only experiments matching this glob (and what they need that is not cached)")
    w.add_argument("--keep-going", action="store_true",
                   help="offline with missing files: build what does not need them")
    w.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1, this machine only)")
    w.add_argument("--port", type=int, default=8000, help="port to serve on (default: 8000; 0: any free port)")
    f = sub.add_parser("fetch", help="download every file the configuration needs (weights, datasets)")
    _common(f)
    f.add_argument("--check", action="store_true", help="only list what is present and what is missing")
    c = sub.add_parser("clean", help="delete build/ (cached results and outputs)")
    _common(c)
    c.add_argument("--unused", action="store_true",
                   help="delete only the cached results that the configuration (with --config/--set) does not use")
    return parser


def _build_options(b: argparse.ArgumentParser) -> None:
    _common(b)
    b.add_argument("--only", action="append", default=[], metavar="PATTERN",
                   help="run only experiments matching this glob (and what they need that is not cached)")
    b.add_argument("--force", action="append", default=[], metavar="PATTERN",
                   help="rerun matching experiments even if cached")
    b.add_argument("--keep-going", action="store_true",
                   help="offline with missing files: build what does not need them")
    b.add_argument("--no-pdf", dest="pdf", action="store_false", help="write the HTML only")
    b.add_argument("--self-contained", action="store_true", help="embed the figures in report.html")
    b.add_argument("--strict", action="store_true",
                   help="fail (before anything runs) when a stand-in would replace a configured network or data set")
    _parallel(b)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML configuration (default: the project's reportgen.toml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. networks.transfer.weights=none (repeatable)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where PyTorch runs")
    p.add_argument("--offline", action="store_true", help="never download; fail fast listing missing files")


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of experiments at once (1 or more), not {text!r}")
    return int(text)


def _parallel(p: argparse.ArgumentParser) -> None:
    p.add_argument("-j", "--jobs", type=_jobs, default=1, metavar="N",
                   help="run up to N independent experiments at once, in worker processes of this machine")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the experiments on a running Dask cluster, e.g. tcp://host:8786")


def main(argv: list[str] | None = None) -> int:
    # OpenMP threads that sleep instead of spinning: several times faster on a CPU shared with other work
    # (measured on 2 cores), and it must be set before torch starts; an explicit setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = _parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        project = find_project(Path.cwd())
        os.chdir(project.root)  # relative paths in the configuration are relative to the project
        options = build_.Options(
            config=args.config, overrides=tuple(args.overrides), device=args.device, offline=args.offline,
            only=tuple(getattr(args, "only", ())), force=tuple(getattr(args, "force", ())),
            keep_going=getattr(args, "keep_going", False), pdf=getattr(args, "pdf", True),
            self_contained=getattr(args, "self_contained", False), jobs=getattr(args, "jobs", 1),
            scheduler=getattr(args, "scheduler", None), strict=getattr(args, "strict", False),
        )
        if args.command == "build":
            return build_.build(project, options)
        if args.command == "clean":
            return clean(project, options, args)
        if args.command == "watch":
            return watch(project, options, args)
        if args.command == "sweep":
            from reportgen.sweep import sweep

            sets = list(options.overrides)
            return sweep(project, dataclasses.replace(options, overrides=()), sets,
                         lambda line: print(line, file=sys.stderr, flush=True))
        return {"status": status, "list": list_, "fetch": fetch}[args.command](project, options, args)
    except UserError as exc:
        print(f"reportgen: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the disk is full, a folder is read-only…: what and where, in one line
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"reportgen: error: {exc.strerror or exc}{where}; free some space or fix the folder's permissions, "
              "then build again (the previous report is unchanged)", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (as Terminated): the previous report is left as it was
        print("reportgen: interrupted; finished experiments are cached and the rest runs next time", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that it unwinds (staging folders removed) as on Ctrl-C."""


def _terminate(number, frame) -> None:
    raise Terminated()


def watch(project, options, args) -> int:
    from reportgen.watch import watch as watch_  # the server's libraries only for this command

    try:
        return watch_(project, options, args.host, args.port, lambda line: print(line, file=sys.stderr, flush=True))
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM): the way to stop watching, not an error
        print("reportgen: stopped watching", file=sys.stderr)
        return 0


def clean(project, options, args) -> int:
    """Delete build/ (or, with --unused, the cached results the configuration does not use), after any build
    using it has finished (a build holds its lock until it is done)."""
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.unused:
        planned, _ = build_.prepare(project, options, build_.settings_for(project, options))
        needed = {n: {p.key} for n, p in planned.items() if p.node.is_experiment}
        with build_.exclusive(project.build, say):
            removed = Cache(project.cache).sweep(keep=0, needed=needed)
        print(f"removed {removed} cached result(s) that the configuration does not use")
        return 0
    if project.build.exists():
        with build_.exclusive(project.build, say):
            shutil.rmtree(project.build)
    print(f"removed {project.build}")
    return 0


def status(project, options, args) -> int:
    planned, _ = build_.prepare(project, options, build_.settings_for(project, options), may_fetch=False)
    cache = Cache(project.cache)
    for name, p in planned.items():
        if not p.node.is_experiment:
            continue
        last = cache.last(name)
        if cache.has(name, p.key):
            state = "fresh"
        elif last and last["key"] == p.key and last["status"] == Status.FAILED:
            state = f"failed: {last.get('reason')}"
        else:
            state = "never run" if last is None else "stale: " + "; ".join(explain(last["parts"], p.parts))
        print(f"{name:32} {state}")
    return 0


def list_(project, options, args) -> int:
    planned, _ = build_.prepare(project, options, build_.settings_for(project, options), may_fetch=False)
    for name, p in planned.items():
        inputs = ", ".join(p.node.inputs) or "-"
        print(f"{p.node.meta.kind:10} {name:32} inputs: {inputs:40} {p.node.caption}")
    return 0


def fetch(project, options, args) -> int:
    # Resolving downloads what is configured (unless --check); what could not be had is reported as missing.
    may_fetch = not args.check and not options.offline
    planned, _ = build_.prepare(project, options, build_.settings_for(project, options), may_fetch=may_fetch)
    missing = 0
    for choice in build_.choices_of(planned):
        if choice.substitute:
            missing += 1
            print(f"{'MISSING':8} {choice.section:14} {choice.asked}: {choice.reason} (stand-in: {choice.used})")
    for name, assets in build_.check_assets(planned).items():
        p = planned[name]
        if not args.check and not all(a.ok for a in assets) and p.node.meta.fetch:
            if options.offline:
                raise UserError("fetch --offline cannot download; drop --offline or use --check")
            try:
                p.node.meta.fetch(**p.params)
            except AssetError as error:  # no network, a failed or wrong download: say so and go on
                print(f"FAILED   {name:14} {error}")
            assets = p.node.meta.assets(**p.params) if p.node.meta.assets else []
        for a in assets:
            missing += not a.ok
            detail = "" if a.ok else f" ({a.problem}" + (f"; from {a.url})" if a.url else ")")
            print(f"{'ok' if a.ok else 'MISSING':8} {name:14} {a.name}: {a.path}{detail}")
    return 1 if missing else 0

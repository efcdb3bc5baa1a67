"""The command line: build, status, list, fetch, clean."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from reportgen import build as build_
from reportgen.cache import Cache, explain
from reportgen.errors import UserError
from reportgen.project import find_project
from reportgen.status import Status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reportgen", description="Compute a practical's answers and render the report.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="run what is stale, then write build/report.html, report.pdf, results.json")
    _common(b)
    b.add_argument("--only", action="append", default=[], metavar="PATTERN",
                   help="run only experiments matching this glob (and what they need that is not cached)")
    b.add_argument("--force", action="append", default=[], metavar="PATTERN", help="rerun matching experiments even if cached")
    b.add_argument("--keep-going", action="store_true", help="offline with missing files: build what does not need them")
    b.add_argument("--no-pdf", dest="pdf", action="store_false", help="write the HTML only")
    b.add_argument("--self-contained", action="store_true", help="embed the figures in report.html")
    for name, text in (("status", "say which experiments are fresh, stale (and why), failed or never run"),
                       ("list", "list experiments and resources with their inputs")):
        _common(sub.add_parser(name, help=text))
    f = sub.add_parser("fetch", help="download every file the configuration needs (weights, datasets)")
    _common(f)
    f.add_argument("--check", action="store_true", help="only list what is present and what is missing")
    sub.add_parser("clean", help="delete build/ (cached results and outputs)")
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="TOML configuration (default: the project's reportgen.toml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. networks.transfer.weights=none (repeatable)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where PyTorch runs")
    p.add_argument("--offline", action="store_true", help="never download; fail fast listing missing files")


def main(argv: list[str] | None = None) -> int:
    # OpenMP threads that sleep instead of spinning: several times faster on a CPU shared with other work
    # (measured on 2 cores), and it must be set before torch starts; an explicit setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = _parser().parse_args(argv)
    try:
        project = find_project(Path.cwd())
        os.chdir(project.root)  # relative paths in the configuration are relative to the project
        if args.command == "clean":
            shutil.rmtree(project.build, ignore_errors=True)
            print(f"removed {project.build}")
            return 0
        options = build_.Options(
            config=args.config, overrides=tuple(args.overrides), device=args.device, offline=args.offline,
            only=tuple(getattr(args, "only", ())), force=tuple(getattr(args, "force", ())),
            keep_going=getattr(args, "keep_going", False), pdf=getattr(args, "pdf", True),
            self_contained=getattr(args, "self_contained", False),
        )
        if args.command == "build":
            return build_.build(project, options)
        return {"status": status, "list": list_, "fetch": fetch}[args.command](project, options, args)
    except UserError as exc:
        print(f"reportgen: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("reportgen: interrupted; finished experiments are cached and the rest runs next time", file=sys.stderr)
        return 130


def status(project, options, args) -> int:
    planned, _ = build_.prepare(project, options, build_.settings_for(project, options))
    cache = Cache(project.build / "cache")
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
    planned, _ = build_.prepare(project, options, build_.settings_for(project, options))
    for name, p in planned.items():
        inputs = ", ".join(p.node.inputs) or "-"
        print(f"{p.node.meta.kind:10} {name:32} inputs: {inputs:40} {p.node.caption}")
    return 0


def fetch(project, options, args) -> int:
    planned, _ = build_.prepare(project, options, build_.settings_for(project, options))
    missing = 0
    for name, assets in build_.check_assets(planned).items():
        p = planned[name]
        if not args.check and not all(a.ok for a in assets) and p.node.meta.fetch:
            if options.offline:
                raise UserError("fetch --offline cannot download; drop --offline or use --check")
            p.node.meta.fetch(**p.params)
            assets = p.node.meta.assets(**p.params)
        for a in assets:
            missing += not a.ok
            detail = "" if a.ok else f" ({a.problem}" + (f"; from {a.url})" if a.url else ")")
            print(f"{'ok' if a.ok else 'MISSING':8} {name:14} {a.name}: {a.path}{detail}")
    return 1 if missing else 0

"""Parallel builds: the same selection built cold sequentially and with `-j N`, side by side in one run.

    .venv/bin/python benchmarks/parallel.py [--config FILE] [--device auto|cpu|cuda] [-j N] [--only PATTERN ...]
                                            [--set key=value ...] [--tiny]

Each build runs offline, without the PDF, in its own temporary copy of the project (your build/ is untouched).
Prints both wall times and their ratio, then the `-j` build's timeline (when each experiment started and ended, from
its cache entry), how many ran at once, and which overlapped. `--tiny` builds the test suite's tiny project (tiny
networks and synthetic data: checks the benchmark in a minute; its times say nothing about the real report).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from cold import ROOT, _run_live, project_copy


def tiny(copy: Path) -> str:
    """Write the tiny project's data and configuration into the copy; returns the configuration's name."""
    sys.path.insert(0, str(ROOT))
    from tests.test_tiny_build import CONFIG
    from tests.tiny import write_imagenet_val, write_scene15

    write_scene15(copy / "data" / "scene15", train=4, test=2)
    write_imagenet_val(copy / "data" / "val.npz", n=4)
    (copy / "tiny.toml").write_text(CONFIG, encoding="utf-8")
    return "tiny.toml"


def cold(args: argparse.Namespace, jobs: int) -> tuple[float, dict[str, dict]]:
    """One cold build; its wall time and each experiment that ran: its start and end (seconds since the start)."""
    with project_copy() as copy:
        config = tiny(copy) if args.tiny else args.config
        cmd = [sys.executable, "-m", "reportgen", "build", "--config", config, "--offline", "--device", args.device,
               "--no-pdf", "-j", str(jobs), *[f"--only={p}" for p in args.only],
               *[f"--set={o}" for o in args.overrides]]
        env_start, start = time.time(), time.perf_counter()
        code, errors = _run_live(cmd, copy, start)
        wall = time.perf_counter() - start
        if code not in (0, 1):
            sys.exit(f"benchmark: the build failed:\n{errors[-3000:]}")
        if args.results_dir:
            args.results_dir.mkdir(parents=True, exist_ok=True)
            (args.results_dir / f"results-j{jobs}.json").write_bytes((copy / "build" / "results.json").read_bytes())
        ran = {}
        for meta in (copy / "build" / "cache").glob("*/*/meta.json"):
            m = json.loads(meta.read_text(encoding="utf-8"))
            ran[meta.parent.parent.name] = {"start": m["finished"] - m["wall_s"] - env_start,
                                            "end": m["finished"] - env_start, "wall": m["wall_s"]}
    return wall, ran


def overlaps(ran: dict[str, dict]) -> tuple[int, list[tuple[str, str, float]]]:
    """The most experiments running at one moment, and each pair that overlapped (by how many seconds)."""
    edges = sorted([(r["start"], 1) for r in ran.values()] + [(r["end"], -1) for r in ran.values()])
    most, now = 0, 0
    for _, step in edges:
        now += step
        most = max(most, now)
    pairs = []
    names = sorted(ran, key=lambda n: ran[n]["start"])
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            shared = min(ran[a]["end"], ran[b]["end"]) - max(ran[a]["start"], ran[b]["start"])
            if shared > 0:
                pairs.append((a, b, shared))
    return most, sorted(pairs, key=lambda p: -p[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/offline.toml")
    parser.add_argument("--device", default="auto")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--tiny", action="store_true", help="the test suite's tiny project instead")
    parser.add_argument("--results-dir", type=Path, help="keep each build's results.json here (results-j1.json, "
                        "results-jN.json; `benchmarks/cold.py --summary` tabulates one)")
    args = parser.parse_args()
    print("== sequential ==", flush=True)
    sequential, _ = cold(args, 1)
    print(f"== -j {args.jobs} ==", flush=True)
    parallel, ran = cold(args, args.jobs)
    inside = sum(r["wall"] for r in ran.values())
    most, pairs = overlaps(ran)
    print(f"\ncold build, sequential {sequential:8.1f} s")
    ratio = sequential / parallel
    print(f"cold build, -j {args.jobs:<2}      {parallel:8.1f} s   (×{ratio:.2f}; {os.cpu_count()} cores here)")
    print(f"experiments' own time {inside:8.1f} s in the -j build; at most {most} at once")
    print("\ntimeline of the -j build (s since it started):")
    for name, r in sorted(ran.items(), key=lambda item: item[1]["start"]):
        print(f"  {name:24s} {r['start']:7.1f} → {r['end']:7.1f}  ({r['wall']:6.1f} s)")
    print("\nlongest overlaps:" if pairs else "\nno two experiments overlapped")
    for a, b, shared in pairs[:15]:
        print(f"  {a} + {b}: {shared:.1f} s")


if __name__ == "__main__":
    main()

"""Engine benchmark: a cold build, a no-op build and a template-only rebuild, side by side in one run.

    .venv/bin/python benchmarks/engine.py [--config FILE] [--set key=value ...] [--no-pdf]

Runs in a temporary copy of the project (your build/ is untouched) and prints wall times and ratios.
Targets (issue 2): no-op build under 1.5 s, template-only rebuild under 3 s on a 2-core machine.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from cold import project_copy


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"benchmark: {' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="reportgen.toml")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args()
    with project_copy() as copy:
        cmd = [sys.executable, "-m", "reportgen", "build", "--config", args.config]
        cmd += [f"--set={o}" for o in args.overrides] + (["--no-pdf"] if args.no_pdf else [])
        cold = timed(cmd, copy)
        noop = timed(cmd, copy)
        with open(copy / "templates" / "report.css", "a") as css:
            css.write("\n/* benchmark edit */\n")
        template_only = timed(cmd, copy)
    print(f"cold build            {cold:8.2f} s")
    print(f"no-op build           {noop:8.2f} s   ({noop / cold:.1%} of cold; target < 1.5 s)")
    print(f"template-only rebuild {template_only:8.2f} s   ({template_only / cold:.1%} of cold; target < 3 s)")


if __name__ == "__main__":
    main()

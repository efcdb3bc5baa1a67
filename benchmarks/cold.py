"""A chapter built cold in a temporary copy of the project, timed: shared by the chapter benchmarks.

The copy leaves out build/, the virtual environment, git's folder, local/ and gpu/ (data carried to a GPU machine);
`../shared` is linked beside it, so relative paths of the configuration keep working. Your build/ is untouched.
"""
from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = ("build", ".venv", ".git", "__pycache__", "local", "gpu")


@contextmanager
def project_copy() -> Iterator[Path]:
    """A throwaway copy of the project, with `../shared` linked beside it when there is one."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / ROOT.name
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*LEFT_OUT))
        if (ROOT.parent / "shared").exists():
            (Path(tmp) / "shared").symlink_to(ROOT.parent / "shared")
        yield copy


def _run_live(cmd: list[str], cwd: Path, start: float) -> tuple[int, str]:
    """Run `cmd`, echoing its progress lines (stderr) with the seconds since `start`, so that a run stopped by a
    time limit still shows how far it got; returns (exit code, the stderr)."""
    lines = []
    with subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as build:
        for line in build.stderr:
            lines.append(line)
            print(f"  {time.perf_counter() - start:6.1f} s | {line.rstrip()}", flush=True)
    return build.returncode, "".join(lines)


def cold_build(label: str, config: str, device: str, patterns: Sequence[str], overrides: Sequence[str],
               target: str, results_to: Path | None = None) -> None:
    """Build the experiments matching `patterns` cold (offline, no PDF); print wall time, peak memory, each part."""
    with project_copy() as copy:
        cmd = [sys.executable, "-m", "reportgen", "build", "--config", config, "--offline", "--device", device,
               "--no-pdf", *[f"--only={p}" for p in patterns], *[f"--set={o}" for o in overrides]]
        start = time.perf_counter()
        code, errors = _run_live(cmd, copy, start)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if code not in (0, 1):
            sys.exit(f"benchmark: the build failed:\n{errors[-3000:]}")
        results = json.loads((copy / "build" / "results.json").read_text(encoding="utf-8"))
        if results_to is not None:
            shutil.copyfile(copy / "build" / "results.json", results_to)
    print(f"{label} cold build {wall:8.1f} s   ({target})")
    print(f"peak memory {peak:8.0f} MB  (largest process)")
    for name, row in results["experiments"].items():
        if row["status"] in ("ran", "failed") and row.get("wall_s") is not None:
            extra = f"  {row['status']}: {row['reason']}" if row["status"] == "failed" else ""
            gpu = f"  GPU {row['peak_gpu_mb']:7.0f} MB" if row.get("peak_gpu_mb") is not None else ""
            print(f"  {name:22s} {row['wall_s']:8.1f} s  {row.get('peak_mem_mb') or 0:7.0f} MB{gpu}{extra}")

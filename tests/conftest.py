"""One real report, built once per test session for the report tests (tests/test_report_*.py).

The project itself (engine, experiments, questions, templates, configuration) is copied into a temporary folder
and built there with only the cheap experiments (`--only 'architecture_*'`, on the CPU, offline with
--keep-going so that nothing is downloaded and nothing of ../shared is needed). Every other question therefore
shows a "not computed" box, which the tests check too.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
COPIED = ("reportgen", "experiments", "templates", "pyproject.toml", "reportgen.toml")
CHEAP = "architecture_*"


@dataclass(frozen=True)
class BuiltReport:
    """A project copy after `reportgen build`: its outputs and what the build said."""

    root: Path
    code: int
    log: str

    @property
    def build(self) -> Path:
        return self.root / "build"

    @property
    def html(self) -> Path:
        return self.build / "report.html"

    @property
    def pdf(self) -> Path:
        return self.build / "report.pdf"

    def results(self) -> dict[str, Any]:
        return json.loads((self.build / "results.json").read_text(encoding="utf-8"))


def copy_project(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in COPIED:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="session")
def built_report(tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    base = tmp_path_factory.mktemp("real-report")
    root = copy_project(base / "project")
    cache = base / "cache"  # downloads and memo files of this build only: nothing is found, nothing fetched
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "TORCH_HOME": str(cache / "torch")}
    command = [sys.executable, "-m", "reportgen", "build", "--offline", "--keep-going", "--only", CHEAP]
    run = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    report = BuiltReport(root, run.returncode, run.stdout + run.stderr)
    if not (report.html.is_file() and report.pdf.is_file() and (report.build / "results.json").is_file()):
        pytest.fail(f"`{' '.join(command)}` wrote no report (exit {run.returncode}):\n{report.log[-4000:]}")
    return report

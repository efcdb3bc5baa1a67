"""The whole report, end to end, on the CPU: tiny networks, tiny synthetic data, the real experiments and templates."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from experiments.practical import QUESTIONS
from tests.tiny import tiny_net, write_imagenet_val, write_scene15

ROOT = Path(__file__).resolve().parents[1]

NETWORK = 'input_size = 32\nmean = [0.485, 0.456, 0.406]\nstd = [0.229, 0.224, 0.225]\nweights = "none"\n'
CONFIG = f"""
[report]
title = "Tiny build"
authors = ["test"]

[networks.transfer]
# The practical's network, whose weights are not in this build's torch cache (offline): the stand-in replaces it.
model = "squeezenet1_1"
weights = "IMAGENET1K_V1"
standin_model = "py:tests.tiny:tiny_net"
standin_weights = "none"
input_size = 32
mean = [0.485, 0.456, 0.406]
std = [0.229, 0.224, 0.225]
[networks.visualize]
model = "py:tests.tiny:tiny_net"
{NETWORK}
[networks.compare]
model = "py:tests.tiny:tiny_net_wide"
{NETWORK}
[data]
scene15 = "data/scene15"
imagenet_val = "data/val.npz"

[architecture_params]
input_size = 32
[architecture_output]
input_size = 32
[scene_features]
workers = 0
[class_images]
steps = 20
snapshot_steps = [0, 10, 20]
[class_image_grids]
grid_class = 76
[class_images_regularized]
steps = 5
cpu_steps = 4
[naive_attack]
max_steps = 10
[attack_comparison]
pgd_steps = 2
cpu_pgd_steps = 2
eps_levels = [2.0, 8.0]
[saliency_limits]
smooth_samples = 2
[eval_mode_effect]
passes = 2
[pca]
dims = [4, 8]
[svm_c]
cs = [0.1, 1.0]
folds = 2
[network_classifier]
head_epochs = 3
finetune_epochs = 1
finetune_seconds = 300.0  # budgets that never bind: a time-bound run would make the builds differ
workers = 0
[from_scratch]
cpu_input_size = 32
epochs = 1
max_seconds = 300.0
cpu_max_seconds = 300.0
workers = 0
[grayscale]
workers = 0
[pretrained_vs_random]
workers = 0
[other_network]
workers = 0
"""


def add_question(project: Path) -> None:
    """The README's "Adding a question", done to the copy with the files of tests/tiny_question/."""
    example = ROOT / "tests" / "tiny_question"
    shutil.copy(example / "brightness.py", project / "experiments" / "brightness.py")
    shutil.copy(example / "brightness_verdict.py", project / "experiments" / "verdicts" / "brightness.py")
    with open(project / "experiments" / "practical.py", "a", encoding="utf-8") as questions:
        questions.write((example / "question.py").read_text(encoding="utf-8"))
    chapter = project / "templates" / "chapter2.html.j2"
    text = chapter.read_text(encoding="utf-8")
    end = text.rindex("</section>\n</section>")
    chapter.write_text(text[:end] + (example / "answer.html.j2").read_text(encoding="utf-8") + text[end:],
                       encoding="utf-8")


def tiny_project(project: Path) -> Path:
    """A copy of this project with the tiny configuration, tiny data and the README's added question."""
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns("build", ".venv", ".git", "__pycache__", "local",
                                                                 "*.egg-info"))
    add_question(project)
    write_scene15(project / "data" / "scene15", train=4, test=2)
    write_imagenet_val(project / "data" / "val.npz", n=4)
    (project / "tiny.toml").write_text(CONFIG, encoding="utf-8")
    return project


# One thread per process in every tiny build, as in each worker of a two-worker build on two cores: float sums then
# run in the same order, and builds made another way (-j, Dask) compute bit for bit what the sequential one does
# (with two threads, argmax ties of the tiny random networks could fall either way between builds).
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def tiny_build_of(project: Path, *options: str) -> Path:
    env = {**os.environ, **ONE_THREAD, "TORCH_HOME": str(project / "torch")}  # no practical's weights at hand
    done = subprocess.run([sys.executable, "-m", "reportgen", "build", "--config", "tiny.toml", "--offline",
                           "--device", "cpu", *options], cwd=project, capture_output=True, text=True, timeout=600,
                          env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return project / "build"


@pytest.fixture(scope="module")
def tiny_build(tmp_path_factory) -> Path:
    return tiny_build_of(tiny_project(tmp_path_factory.mktemp("tiny") / "project"))


def test_every_question_is_answered(tiny_build: Path) -> None:
    results = json.loads((tiny_build / "results.json").read_text())
    assert len(results["questions"]) == len(QUESTIONS) + 1  # with the question added by add_question
    missing = {q: r["reason"] for q, r in results["questions"].items() if r["status"] != "answered"}
    assert not missing
    assert all(e["status"] == "ran" for e in results["experiments"].values())


def test_pdf_and_html_show_the_computed_numbers(tiny_build: Path) -> None:
    total = sum(p.numel() for p in tiny_net().parameters())
    text = "\n".join(page.extract_text() for page in PdfReader(tiny_build / "report.pdf").pages)
    assert f"{total:,}" in text
    assert "Not computed" not in text
    html = (tiny_build / "report.html").read_text()
    assert f"{total:,}" in html
    figures = list((tiny_build / "figures").iterdir())
    assert len(figures) >= 20 and all(f.stat().st_size > 0 for f in figures)


def test_the_stand_in_is_recorded_and_shown_on_the_title_page(tiny_build: Path) -> None:
    choice = json.loads((tiny_build / "results.json").read_text())["resources"]["networks.transfer"]
    assert choice["substitute"] and choice["asked"] == "squeezenet1_1 (IMAGENET1K_V1)"
    assert choice["used"] == "py:tests.tiny:tiny_net (none)" and "offline" in choice["reason"]
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(tiny_build / "report.pdf").pages[:2])
    assert "Stand-in networks" in text and "stands in for" in text and "squeezenet1_1 (IMAGENET1K_V1)" in text
    html = (tiny_build / "report.html").read_text()
    assert html.count("stand-in for") >= 1  # the chapter header names the network it used


def test_the_cpu_budgets_are_listed_on_the_title_page_and_said_in_place(tiny_build: Path) -> None:
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(tiny_build / "report.pdf").pages]
    title = " ".join(pages[:2])
    assert "Reduced to fit a CPU" in title
    listed = title.split("Reduced to fit a CPU")[1].split("Networks and data")[0]
    assert "2.Q8: the regularized class images and their ablation take 4 steps instead of 5" in listed
    # only what was cut: the tiny network's 32 pixels and the 1 epoch set are taken in full
    assert "1.Q5: training from random weights takes 30 images per class, not all. 1.Q6" in listed
    assert "2.Q7" not in listed  # PGD: 2 steps set, 2 taken
    assert "4 Adam steps of 0.02, a budget for this CPU where 5 are set" in " ".join(pages)


def test_strict_refuses_the_stand_in_before_anything_runs(tiny_build: Path) -> None:
    project = tiny_build.parent
    env = {**os.environ, **ONE_THREAD, "TORCH_HOME": str(project / "torch")}
    done = subprocess.run([sys.executable, "-m", "reportgen", "build", "--config", "tiny.toml", "--offline",
                           "--device", "cpu", "--strict", "--force", "*"], cwd=project, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 2
    assert "--strict" in done.stderr and "squeezenet1_1 (IMAGENET1K_V1)" in done.stderr
    assert "running" not in done.stderr and "Traceback" not in done.stderr
def test_the_added_question_is_answered_with_its_verdict(tiny_build: Path) -> None:
    results = json.loads((tiny_build / "results.json").read_text())
    assert results["questions"]["2.Q12"]["status"] == "answered"
    level = results["questions"]["2.Q12"]["key_numbers"]["mean level"]
    html = (tiny_build / "report.html").read_text()
    assert '<p class="brightness">' in html
    assert ("they are dark" if level < 100 else "they are not dark") in html


def test_second_build_runs_nothing(tiny_build: Path) -> None:
    project = tiny_build.parent
    env = {**os.environ, **ONE_THREAD, "TORCH_HOME": str(project / "torch")}
    done = subprocess.run([sys.executable, "-m", "reportgen", "build", "--config", "tiny.toml", "--offline",
                           "--device", "cpu"], cwd=project, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0
    assert "nothing changed" in done.stderr and "running" not in done.stderr
    statuses = {e["status"] for e in json.loads((tiny_build / "results.json").read_text())["experiments"].values()}
    assert statuses == {"cached"}  # results.json says what this build did, not what the previous one did


def comparable(build: Path) -> dict:
    """What a build computed, to compare builds made another way: each experiment's status, cache key and values,
    and each question's key numbers. Timings are left out (they differ by nature), and other floats are compared
    to 1e-6 relative: float32 sums may differ in their last bits with the number of threads a process uses (a
    difference of 2e-8 relative seen in class_images between 2 threads and 1)."""
    results = json.loads((build / "results.json").read_text())

    def rounded(values: dict) -> dict:
        return {k: float(f"{v:.6e}") if isinstance(v, float) else v for k, v in values.items() if "second" not in k}

    computed = lambda status: "computed" if status in ("ran", "cached") else status  # noqa: E731 — a rebuild caches
    experiments = {n: (computed(e["status"]), e["cache_key"], rounded(e["values"]))
                   for n, e in results["experiments"].items()}
    questions = {q: (r["status"], rounded(r["key_numbers"])) for q, r in results["questions"].items()}
    entries = sorted(p.relative_to(build).as_posix() for p in (build / "cache").glob("*/*") if p.name != "last.json")
    return {"experiments": experiments, "questions": questions, "cache entries": entries}


def test_two_worker_processes_compute_what_the_sequential_build_does(tiny_build: Path, tmp_path: Path) -> None:
    build = tiny_build_of(tiny_project(tmp_path / "project"), "-j", "2", "--no-pdf")
    mine, theirs = comparable(build), comparable(tiny_build)
    differ = {n: (mine["experiments"].get(n), v) for n, v in theirs["experiments"].items()
              if mine["experiments"].get(n) != v}
    assert mine == theirs, differ


def test_a_dask_cluster_of_two_processes_computes_what_the_sequential_build_does(tiny_build: Path, tmp_path: Path,
                                                                                 monkeypatch) -> None:
    from distributed import LocalCluster

    project = tiny_project(tmp_path / "project")
    for name, value in ONE_THREAD.items():  # the cluster's worker processes inherit this process's environment
        monkeypatch.setenv(name, value)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        build = tiny_build_of(project, "--scheduler", cluster.scheduler_address, "--no-pdf")
    assert comparable(build) == comparable(tiny_build)


def test_a_verdict_cut_off_renders_again_and_runs_nothing(tiny_build: Path) -> None:
    """Kept last: it changes the build's settings. class_images is the 200-step ascent (20 steps here)."""
    project = tiny_build.parent
    certain = "The network is almost certain about images that are not photographs"
    assert certain not in (tiny_build / "report.html").read_text()  # tiny random networks are not sure
    done = subprocess.run([sys.executable, "-m", "reportgen", "build", "--config", "tiny.toml", "--offline",
                           "--device", "cpu", "--no-pdf", "--set", "class_images.certain_above=0.0"],
                          cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **ONE_THREAD, "TORCH_HOME": str(project / "torch")})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "running" not in done.stderr and "class_images: cached" in done.stderr
    assert certain in (tiny_build / "report.html").read_text()

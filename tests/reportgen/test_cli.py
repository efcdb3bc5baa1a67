"""The command line: help, build, status (fresh / stale and why / failed / never run), list, clean, and errors as
one line with exit code 2."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.cli import main

ROOT = Path(__file__).resolve().parents[2]


def cli(tiny, capsys, *args: str) -> tuple[int, str, str]:
    """Run `reportgen ARGS` in this process, as a fresh process would (the tiny package imported afresh)."""
    tiny.purge()
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def states(out: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r"^(\w+) +(.+)$", out, re.M)}


@pytest.mark.parametrize("argv", [["--help"], ["build", "--help"], ["status", "--help"], ["list", "--help"],
                                  ["clean", "--help"], ["fetch", "--help"], ["sweep", "--help"]])
def test_every_command_has_help(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: reportgen")


def test_help_lists_the_commands_and_build_options(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(word in out for word in ("build", "status", "list", "clean"))
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    out = capsys.readouterr().out
    for option in ("--config", "--set", "--only", "--force", "--device", "--offline", "--no-pdf", "--jobs",
                   "--scheduler"):
        assert option in out


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_must_be_a_positive_number(jobs: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["build", "-j", jobs])
    assert info.value.code == 2 and "expected a number of experiments at once" in capsys.readouterr().err


def test_sweep_builds_each_combination_and_the_index(tiny, capsys) -> None:
    code, _, err = cli(tiny, capsys, "sweep", "--no-pdf", "--device", "cpu", "--set", "numbers.n=4,5",
                       "--set", "numbers.label=x")
    assert code == 0, err
    assert "sweep 2/2: numbers.n=5" in err and "sweep index in" in err
    folder = tiny.build_dir / "sweep"
    assert sorted(p.name for p in folder.iterdir()) == ["index.csv", "index.html", "numbers.n=4", "numbers.n=5"]
    assert '"label": "x"' in (folder / "numbers.n=5" / "results.json").read_text()


def test_python_dash_m_reportgen_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "reportgen", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "usage: reportgen" in done.stdout


def test_build_writes_the_report_and_status_says_fresh(tiny, capsys) -> None:
    assert states(cli(tiny, capsys, "status", "--device", "cpu")[1]) == dict.fromkeys(
        ("ramp", "numbers", "picture", "curve"), "never run")
    code, _, err = cli(tiny, capsys, "build", "--no-pdf", "--device", "cpu")
    assert code == 0
    assert "numbers: ran in" in err and "4 of 4 experiments computed" in err
    assert (tiny.build_dir / "report.html").is_file() and not (tiny.build_dir / "report.pdf").exists()
    code, out, _ = cli(tiny, capsys, "status", "--device", "cpu")
    assert code == 0 and set(states(out).values()) == {"fresh"} and len(states(out)) == 4


def test_status_says_why_an_experiment_is_stale(tiny, capsys) -> None:
    tiny.build()
    tiny.edit(tiny.module("helpers"), "FACTOR = 3", "FACTOR = 5")
    found = states(cli(tiny, capsys, "status", "--device", "cpu")[1])
    assert found == {"ramp": "fresh", "picture": "fresh", "numbers": f"stale: source {tiny.pkg}/helpers.py changed",
                     "curve": "stale: input numbers changed"}


def test_status_names_a_changed_setting(tiny, capsys) -> None:
    tiny.build()
    found = states(cli(tiny, capsys, "status", "--device", "cpu", "--set", "numbers.n=2")[1])
    assert found["numbers"] == "stale: setting n 4 → 2"
    assert found["ramp"] == "fresh"


def test_status_reports_a_failure_with_its_reason(tiny, capsys) -> None:
    tiny.edit(tiny.module("basic"), "    return {", "    raise ValueError('boom')\n    return {")
    tiny.build()
    found = states(cli(tiny, capsys, "status", "--device", "cpu")[1])
    assert re.fullmatch(r"failed: ValueError: boom \(at basic\.py:\d+\)", found["numbers"])
    assert found["curve"] == "never run" and found["ramp"] == "fresh"


def test_build_exit_code_is_1_when_an_experiment_fails(tiny, capsys) -> None:
    tiny.edit(tiny.module("images"), "    fig, ax", "    1 / 0\n    fig, ax")
    code, _, err = cli(tiny, capsys, "build", "--no-pdf", "--device", "cpu")
    assert code == 1
    assert "  not computed: picture\n    because: ZeroDivisionError: division by zero (at images.py:" in err


def test_list_shows_experiments_resources_inputs_and_captions(tiny, capsys) -> None:
    code, out, _ = cli(tiny, capsys, "list")
    assert code == 0
    rows = {line.split()[1]: line for line in out.splitlines()}
    assert set(rows) == {"ramp", "numbers", "picture", "curve"}
    assert rows["curve"].startswith("experiment") and "inputs: numbers, ramp" in rows["curve"]
    assert rows["curve"].rstrip().endswith("A plot of the ramp, scaled by n.")
    assert "inputs: -" in rows["numbers"]


def test_clean_removes_the_build_folder(tiny, capsys) -> None:
    tiny.build()
    code, out, _ = cli(tiny, capsys, "clean")
    assert code == 0 and out.strip() == f"removed {tiny.build_dir}"
    assert not tiny.build_dir.exists()
    assert set(states(cli(tiny, capsys, "status", "--device", "cpu")[1]).values()) == {"never run"}


@pytest.mark.parametrize(("args", "message"), [
    (["build", "--set", "oops"], "--set 'oops': expected section.key=value"),
    (["build", "--set", "numbers.nn=3"], "[numbers] has no setting 'nn' (did you mean 'n'?)"),
    (["status", "--set", "numbers.n=many"], "[numbers] n = 'many': expected a int like 4"),
    (["build", "--set", "numbrs.n=3"], "unknown section [numbrs]"),
    (["list", "--config", "absent.toml"], "config file absent.toml not found"),
    (["build", "--only", "nmbers"], "--only 'nmbers' matches no experiment; the experiments are: "),
    (["build", "--set", "report.nosuch=1"], "[report] has no setting 'nosuch'"),
])
def test_user_errors_are_one_line_with_exit_code_2(tiny, capsys, args: list[str], message: str) -> None:
    code, out, err = cli(tiny, capsys, *args, "--device", "cpu")
    assert code == 2
    assert err.startswith("reportgen: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tiny.build_dir / "report.html").exists()


def test_outside_a_project_is_a_user_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["status"]) == 2
    assert "no pyproject.toml with a [tool.reportgen] table" in capsys.readouterr().err


def test_unknown_command_is_rejected_by_argparse(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


WEIGHTS = """\
from reportgen import experiment, resource
from reportgen.assets import Asset


def _assets(path: str = "/nowhere/weights.pth"):
    return [Asset("test weights", path, "https://example.invalid/weights.pth", "missing")]


@resource(assets=_assets)
def weights(path: str = "/nowhere/weights.pth") -> str:
    \"\"\"Weights that are never there.\"\"\"
    raise AssertionError("an offline build must not load a resource whose file is missing")


@experiment
def uses_weights(weights: str) -> dict:
    \"\"\"Needs the missing weights.\"\"\"
    return {"w": weights}
"""


def test_offline_preflight_checks_only_what_the_selected_experiments_need(tiny, capsys) -> None:
    tiny.write(f"{tiny.pkg}/weights.py", WEIGHTS)
    code, _, err = cli(tiny, capsys, "build", "--offline", "--no-pdf", "--device", "cpu")
    assert code == 2
    assert "test weights: missing — download https://example.invalid/weights.pth and put it at /nowhere/weights.pth" \
        in err
    code, _, err = cli(tiny, capsys, "build", "--offline", "--no-pdf", "--device", "cpu", "--only", "numbers")
    assert code == 0 and "numbers: ran in" in err and "test weights" not in err  # what --only asked for ran
    code, _, err = cli(tiny, capsys, "build", "--offline", "--no-pdf", "--device", "cpu", "--keep-going")
    assert code == 1 and "uses_weights" in err and "ramp: ran in" in err


def test_an_only_build_whose_selection_succeeds_exits_0(tiny, capsys) -> None:
    code, _, err = cli(tiny, capsys, "build", "--no-pdf", "--device", "cpu", "--only", "numbers")
    assert code == 0 and "numbers: ran in" in err and "picture: skipped" in err
    tiny.edit(tiny.module("basic"), "    return {", "    raise ValueError('boom')\n    return {")
    code, _, err = cli(tiny, capsys, "build", "--no-pdf", "--device", "cpu", "--only", "numbers")
    assert code == 1  # what was asked for failed


def test_an_only_pattern_that_matches_nothing_lists_the_experiments(tiny, capsys) -> None:
    code, _, err = cli(tiny, capsys, "build", "--no-pdf", "--device", "cpu", "--only", "numbers", "--only", "pic*x")
    assert code == 2 and "--only 'pic*x' matches no experiment" in err
    assert all(name in err for name in ("numbers", "ramp", "picture", "curve"))
    assert not (tiny.build_dir / "cache").exists()


def test_a_config_file_that_is_not_utf8_is_one_line_with_exit_code_2(tiny, capsys) -> None:
    (tiny.root / "latin1.toml").write_bytes('[report]\ntitle = "R\xe9sum\xe9"\n'.encode("latin-1"))
    code, _, err = cli(tiny, capsys, "build", "--config", "latin1.toml", "--device", "cpu")
    assert code == 2 and err.count("\n") == 1 and "is not UTF-8 text" in err


def test_clean_waits_for_a_running_build_to_finish(tiny, capsys) -> None:
    import threading

    from reportgen.build import exclusive

    tiny.build()
    holding, release, done = threading.Event(), threading.Event(), []

    def running_build() -> None:
        with exclusive(tiny.build_dir, lambda line: None):
            holding.set()
            release.wait(10)
            done.append((tiny.build_dir / "report.html").exists())  # still there at the build's end

    worker = threading.Thread(target=running_build)
    worker.start()
    holding.wait(10)
    threading.Timer(0.5, release.set).start()
    code, out, err = cli(tiny, capsys, "clean")
    worker.join()
    assert done == [True] and code == 0 and "waiting for it to finish" in err and not tiny.build_dir.exists()


FETCH = """\
from reportgen import experiment, resource
from reportgen.assets import Asset, AssetError

ASSET = Asset("test data", "/nowhere/data.zip", "https://example.invalid/data.zip", "missing")


def _fetch(path: str = "") -> None:
    raise AssetError([Asset(ASSET.name, ASSET.path, ASSET.url, "download failed (<urlopen error [Errno -3] "
                            "Temporary failure in name resolution>)")])


@resource(assets=lambda path="": [ASSET], fetch=_fetch)
def data(path: str = "") -> str:
    \"\"\"Data that cannot be fetched here.\"\"\"
    return path


@experiment
def uses_data(data: str) -> dict:
    \"\"\"Needs the data.\"\"\"
    return {"d": data}
"""


def test_fetch_without_network_says_so_in_one_line_per_file(tiny, capsys) -> None:
    tiny.write(f"{tiny.pkg}/fetching.py", FETCH)
    code, out, err = cli(tiny, capsys, "fetch", "--device", "cpu")
    assert code == 1 and "Traceback" not in out + err
    assert "FAILED   data           test data: download failed (<urlopen error" in out
    expected = "test data: /nowhere/data.zip (missing; from https://example.invalid/data.zip)"
    assert f"MISSING  data           {expected}" in out


def test_sigterm_while_writing_the_pdf_keeps_the_previous_report_and_exits_143(tiny, capsys, monkeypatch) -> None:
    import os
    import signal
    import time

    from reportgen import pdf

    assert cli(tiny, capsys, "build", "--no-pdf", "--device", "cpu")[0] == 0
    before = (tiny.build_dir / "report.html").read_bytes(), (tiny.build_dir / "results.json").read_bytes()

    def killed(self, html, base, stylesheet=""):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        raise AssertionError("SIGTERM did not stop the PDF")

    monkeypatch.setattr(pdf.Printer, "pdf", killed)
    code, _, err = cli(tiny, capsys, "build", "--set", "numbers.n=9", "--device", "cpu")
    assert code == 143 and "interrupted" in err and "Traceback" not in err
    assert ((tiny.build_dir / "report.html").read_bytes(), (tiny.build_dir / "results.json").read_bytes()) == before
    assert not list(tiny.build_dir.glob(".staging-*"))

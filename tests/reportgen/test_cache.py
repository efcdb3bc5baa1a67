"""The cache: what reruns an experiment, what does not, and that no partial or failed result is ever stored."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from reportgen import UserError, store
from reportgen.cache import Cache, digest, explain, key_parts

ALL = {"numbers", "ramp", "curve", "picture"}


def entries(tiny, name: str) -> list[Path]:
    folder = tiny.build_dir / "cache" / name
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


# --- builds of the tiny project -------------------------------------------------------------------------------


def test_first_build_runs_everything_and_later_builds_nothing(tiny) -> None:
    first = tiny.build()
    assert first.code == 0 and first.ran == ALL
    assert tiny.statuses() == dict.fromkeys(ALL, "ran")
    report = tiny.build_dir / "report.html"
    os.utime(report, ns=(1_000_000_000, 1_000_000_000))  # so that any rewrite shows
    for _ in range(3):  # a no-op build must stay a no-op, however often it is repeated
        again = tiny.build()
        assert again.code == 0 and again.ran == set()
        assert "nothing changed since the last build" in again.text
        assert report.stat().st_mtime_ns == 1_000_000_000, again.text
    assert tiny.statuses() == dict.fromkeys(ALL, "cached")


def test_a_build_that_runs_nothing_keeps_the_planning_order(tiny) -> None:
    """The report's appendix lists the experiments in the order of the plan, also when a build runs nothing."""
    tiny.build()
    planned = list(tiny.json("results.json")["experiments"])
    assert planned != sorted(planned)  # so that an alphabetical order would show
    assert list(tiny.json("manifest.json")["outcomes"]) == planned
    (tiny.build_dir / "report.html").unlink()
    again = tiny.build()  # runs nothing, writes the report again
    assert again.ran == set() and (tiny.build_dir / "report.html").exists()
    assert list(tiny.json("results.json")["experiments"]) == planned


def test_changed_helper_module_reruns_its_importer_and_dependents_only(tiny) -> None:
    tiny.build()
    tiny.edit(tiny.module("helpers"), "FACTOR = 3", "FACTOR = 5")
    run = tiny.build()
    assert run.ran == {"numbers", "curve"}
    assert run.cached == {"ramp", "picture"}
    assert tiny.json("results.json")["experiments"]["numbers"]["values"]["total"] == 20000
    assert "Total: 20,000" in tiny.html()


def test_changed_project_module_outside_the_package_reruns_its_importer(tiny) -> None:
    tiny.write(f"{tiny.pkg}_lib.py", "OFFSET = 1\n")
    tiny.edit(tiny.module("basic"), "from reportgen import experiment",
              f"from reportgen import experiment\nfrom {tiny.pkg}_lib import OFFSET")
    tiny.edit(tiny.module("basic"), '"ratio": 0.25', '"ratio": 0.25 * OFFSET')
    assert tiny.build().ran == ALL
    tiny.edit(tiny.root / f"{tiny.pkg}_lib.py", "OFFSET = 1", "OFFSET = 2.0")
    run = tiny.build()
    assert run.ran == {"numbers", "curve"}
    assert tiny.json("results.json")["experiments"]["numbers"]["values"]["ratio"] == 0.5


def test_template_only_change_renders_without_running_anything(tiny) -> None:
    tiny.build()
    tiny.edit(tiny.root / "tpl/chapter.html.j2", "Total:", "Grand total:")
    run = tiny.build()
    assert run.code == 0 and run.ran == set()
    assert "Grand total: 12,000" in tiny.html()


def test_changed_question_text_renders_again(tiny) -> None:
    tiny.build()
    tiny.edit(tiny.module("questions"), "How many things are there?", "How many things exist?")
    run = tiny.build()
    assert run.ran == set()
    assert "How many things exist?" in tiny.html()


def test_change_in_an_unrelated_experiment_module_reruns_only_its_experiments(tiny) -> None:
    tiny.build()
    tiny.edit(tiny.module("images"), "np.eye(4)", "np.eye(5)")
    run = tiny.build()
    assert run.ran == {"picture"}
    assert run.cached == {"numbers", "ramp", "curve"}


def test_set_reruns_that_experiment_and_its_dependents(tiny) -> None:
    tiny.build()
    run = tiny.build("numbers.n=5")
    assert run.ran == {"numbers", "curve"} and run.cached == {"ramp", "picture"}
    assert tiny.json("results.json")["experiments"]["curve"]["values"]["peak"] == 10.0
    assert tiny.build("numbers.n=5").ran == set()
    back = tiny.build()  # the result for n=4 is still in the cache
    assert back.ran == set() and back.cached == ALL
    assert tiny.json("results.json")["experiments"]["numbers"]["values"]["n"] == 4


def test_set_of_an_unknown_setting_names_it(tiny) -> None:
    with pytest.raises(UserError, match=r"\[numbers\] has no setting 'lable' \(did you mean 'label'\?\)"):
        tiny.build("numbers.lable=x")
    with pytest.raises(UserError, match=r"\[numbers\] n = 'five': expected a int"):
        tiny.build("numbers.n=five")


def test_failing_experiment_leaves_no_entry_and_records_the_failure(tiny) -> None:
    tiny.edit(tiny.module("basic"), "    return {", "    raise ValueError('boom')\n    return {")
    run = tiny.build()
    assert run.code != 0
    assert entries(tiny, "numbers") == []
    last = Cache(tiny.build_dir / "cache").last("numbers")
    assert last["status"] == "failed" and last["key"] == tiny.json("manifest.json")["outcomes"]["numbers"]["key"]
    assert last["reason"].startswith("ValueError: boom (at basic.py:")
    assert "ValueError: boom" in (tiny.build_dir / "logs" / "numbers.log").read_text()
    # A failure is not remembered as a result: once fixed, the next build runs it (and what needs it).
    tiny.edit(tiny.module("basic"), "    raise ValueError('boom')\n", "")
    fixed = tiny.build()
    assert fixed.code == 0 and fixed.ran == {"numbers", "curve"}
    assert Cache(tiny.build_dir / "cache").last("numbers")["status"] == "ran"


def test_unchanged_rebuild_after_a_failure_runs_nothing_and_still_reports_it(tiny) -> None:
    tiny.edit(tiny.module("basic"), "    return {", "    raise ValueError('boom')\n    return {")
    assert tiny.build().code != 0
    again = tiny.build()
    assert again.code != 0 and again.ran == set()
    assert "nothing changed" in again.text and "because: ValueError: boom" in again.text
    assert tiny.json("results.json")["experiments"]["numbers"]["status"] == "failed"


def test_interrupted_write_leaves_no_entry(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    real = store._write_json

    def interrupted(path: Path, data) -> None:
        if path.name == store.META:  # the result and the arrays are written by then
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(store, "_write_json", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tiny.build()
    cache_root = tiny.build_dir / "cache"
    assert list(cache_root.glob("*/*")) == []  # no <name>/<key>/, no .tmp-*, not even last.json
    monkeypatch.setattr(store, "_write_json", real)
    run = tiny.build()
    assert run.code == 0 and run.ran == ALL


def test_sweep_removes_leftovers_of_killed_writes(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    store.write_entry(cache.entry("exp", "k1"), {"a": 1}, {})
    (tmp_path / "exp" / ".tmp-k2-1234").mkdir()
    (tmp_path / "exp" / ".tmp-k2-1234" / store.RESULT).write_text("{")
    (tmp_path / "exp" / ".tmp-last.json-1234").write_text("{")
    cache.record("exp", {"key": "k1", "status": "ran"})
    cache.sweep()
    assert sorted(p.name for p in (tmp_path / "exp").iterdir()) == ["k1", "last.json"]
    assert cache.has("exp", "k1") and not cache.has("exp", "k2")


def test_sweep_keeps_the_newest_entries(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for i in range(5):
        store.write_entry(cache.entry("exp", f"k{i}"), i, {})
        os.utime(cache.entry("exp", f"k{i}") / store.META, (1000 + i, 1000 + i))
    cache.sweep(keep=3)
    assert [k for k in ("k0", "k1", "k2", "k3", "k4") if cache.has("exp", k)] == ["k2", "k3", "k4"]


def test_sweep_keeps_by_last_use_and_always_what_is_needed(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for i in range(5):
        store.write_entry(cache.entry("exp", f"k{i}"), i, {})
        os.utime(cache.entry("exp", f"k{i}") / store.META, (1000 + i, 1000 + i))
    assert cache.sweep(keep=2, needed={"exp": {"k0"}}) == 3  # k0 is used now: it is the newest
    assert [k for k in ("k0", "k1", "k2", "k3", "k4") if cache.has("exp", k)] == ["k0", "k4"]
    assert cache.sweep(keep=0, needed={"exp": {"k4"}}) == 1
    assert [k for k in ("k0", "k4") if cache.has("exp", k)] == ["k4"]


def test_trying_set_variants_does_not_evict_what_the_plain_build_needs(tiny) -> None:
    assert tiny.build().code == 0
    for n in (5, 6, 7, 8, 9):
        assert "numbers" in tiny.build(f"numbers.n={n}").ran
    run = tiny.build()
    assert run.ran == set() and {"numbers", "curve"} <= run.cached


def test_clean_unused_removes_what_the_configuration_does_not_use(tiny, capsys) -> None:
    from reportgen.cli import main

    tiny.build()
    tiny.build("numbers.n=5")
    tiny.purge()
    assert main(["clean", "--unused", "--device", "cpu"]) == 0
    assert "removed 2 cached result(s)" in capsys.readouterr().out  # numbers and curve of n=5
    assert len(list((tiny.build_dir / "cache" / "numbers").glob("*/meta.json"))) == 1
    run = tiny.build()
    assert run.ran == set() and run.code == 0


def test_cache_entry_is_only_an_entry_with_its_meta(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    (tmp_path / "exp" / "half").mkdir(parents=True)
    (tmp_path / "exp" / "half" / store.RESULT).write_text("{}")
    assert not cache.has("exp", "half") and cache.last("exp") is None


# --- keys and their explanation ---------------------------------------------------------------------------------


def parts(**changes):
    base = dict(sources={"exp/a.py": "d1", "exp/helpers.py": "d2"}, params={"x": 1, "name": "a"},
                inputs={"numbers": "k1"}, versions={"torch": "2.0", "numpy": "1.0"}, device="cpu", fingerprint=None)
    return key_parts(**{**base, **changes})


def test_key_covers_each_part() -> None:
    keys = {digest(parts())}
    for change in [dict(sources={"exp/a.py": "d1", "exp/helpers.py": "XX"}), dict(params={"x": 2, "name": "a"}),
                   dict(inputs={"numbers": "k2"}), dict(versions={"torch": "2.1", "numpy": "1.0"}),
                   dict(device="cuda"), dict(fingerprint={"size": 1})]:
        keys.add(digest(parts(**change)))
    assert len(keys) == 7
    assert digest(parts()) == digest(parts())


def test_explain_says_which_part_changed() -> None:
    assert explain(None, parts()) == ["never run"]
    assert explain(parts(), parts()) == ["unknown"]
    new = parts(sources={"exp/a.py": "d1", "exp/helpers.py": "XX", "exp/new.py": "d3"}, params={"x": 2, "name": "a"},
                inputs={"numbers": "k2"}, versions={"torch": "2.1", "numpy": "1.0"}, device="cuda",
                fingerprint={"size": 1})
    assert explain(parts(), new) == [
        "source exp/helpers.py changed", "source exp/new.py changed", "setting x 1 → 2", "input numbers changed",
        "library torch '2.0' → '2.1'", "device cpu → cuda", "data or weights changed",
    ]


DATA = """\
import hashlib
from pathlib import Path

from reportgen import experiment, resource


def _fingerprint(path: str = "data.txt") -> dict:
    return {"sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}


@resource(fingerprint=_fingerprint, watch=lambda path="data.txt": [path])
def data(path: str = "data.txt") -> str:
    \"\"\"A data file.\"\"\"
    return Path(path).read_text()


@experiment
def words(data: str) -> dict:
    \"\"\"Words in the data.\"\"\"
    return {"count": len(data.split())}


@experiment
def longer(words: dict) -> dict:
    \"\"\"Depends on the data through words.\"\"\"
    return {"count": words["count"] + 1}
"""


def test_editing_a_resources_data_file_reruns_its_dependents_and_nothing_else(tiny) -> None:
    data = tiny.root / "data.txt"
    data.write_text("one two three")
    tiny.write(f"{tiny.pkg}/data_words.py", DATA)
    assert {"words", "longer"} <= tiny.build().ran
    stat = data.stat()
    data.write_text("one two four!")  # the same size: only the content (the resource's fingerprint) differs
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # (the no-op check looks at sizes and mtimes)
    run = tiny.build()
    assert run.ran == {"words", "longer"} and {"numbers", "ramp", "curve", "picture"} <= run.cached
    assert tiny.json("results.json")["experiments"]["words"]["values"] == {"count": 3}
    changed_key = tiny.json("manifest.json")["outcomes"]["words"]["key"]
    data.write_text("one two three")
    assert tiny.build().cached >= {"words", "longer"}  # back to the first content: its cached entry
    assert tiny.json("manifest.json")["outcomes"]["words"]["key"] != changed_key


def test_a_moved_data_file_with_the_same_content_reuses_the_cache(tiny) -> None:
    """A resource's location settings stay out of cache keys when its fingerprint identifies the content."""
    (tiny.root / "data.txt").write_text("one two three")
    tiny.write(f"{tiny.pkg}/data_words.py", DATA.replace("@resource(fingerprint=_fingerprint,",
                                                         "@resource(fingerprint=_fingerprint, locations=('path',),"))
    assert {"words", "longer"} <= tiny.build().ran
    (tiny.root / "elsewhere").mkdir()
    (tiny.root / "data.txt").rename(tiny.root / "elsewhere" / "copy.txt")
    run = tiny.build("data.path=elsewhere/copy.txt")
    assert run.ran == set() and {"words", "longer"} <= run.cached
    (tiny.root / "elsewhere" / "copy.txt").write_text("one two three four")
    assert tiny.build("data.path=elsewhere/copy.txt").ran == {"words", "longer"}  # new content: computed again

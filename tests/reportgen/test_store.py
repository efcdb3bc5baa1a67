"""The store: results round-trip as data (JSON, .npz, SVG/PNG), all or nothing, and never through pickle."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from reportgen import store

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@dataclass(frozen=True)
class Inner:
    name: str
    scores: np.ndarray


@dataclass(frozen=True)
class Outer:
    count: int
    inner: Inner
    tags: tuple[str, ...]


def round_trip(tmp_path: Path, value, meta=None):
    entry = tmp_path / "exp" / "key"
    store.write_entry(entry, value, meta or {"wall_s": 1.0})
    return store.read_entry(entry)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".tmp-")]


def test_numbers_strings_and_nested_containers(tmp_path: Path) -> None:
    value = {"int": 138357544, "float": 0.8936, "str": "vgg16 ✓", "none": None, "flag": True,
             "list": [1, [2, 3], {"a": "b"}], "tuple": (4, 5), "nested": {"x": {"y": {"z": -1.5e-9}}}}
    back = round_trip(tmp_path, value)
    assert back == {**value, "tuple": [4, 5]}
    assert type(back["int"]) is int and type(back["flag"]) is bool


def test_a_plain_scalar_result(tmp_path: Path) -> None:
    assert round_trip(tmp_path, 42) == 42


def test_non_finite_floats_come_back(tmp_path: Path) -> None:
    back = round_trip(tmp_path, {"nan": float("nan"), "inf": math.inf, "neg": -math.inf,
                                 "np_nan": np.float64("nan"), "list": [math.inf, 1.0]})
    assert math.isnan(back["nan"]) and math.isnan(back["np_nan"])
    assert back["inf"] == math.inf and back["neg"] == -math.inf and back["list"] == [math.inf, 1.0]
    json.loads((tmp_path / "exp/key" / store.RESULT).read_text(), parse_constant=pytest.fail)  # strict JSON


def test_numpy_scalars_become_python_numbers(tmp_path: Path) -> None:
    back = round_trip(tmp_path, {"i": np.int64(7), "f": np.float32(1.5), "b": np.bool_(True)})
    assert back == {"i": 7, "f": 1.5, "b": True}
    assert (type(back["i"]), type(back["f"]), type(back["b"])) == (int, float, bool)


@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.array([[1, -2], [3, 4]], dtype=np.int64),
    np.zeros((2, 3, 4, 5), dtype=np.uint8) + 7,
    np.array([True, False]),
    np.array(3.25),
    np.array([np.nan, np.inf, -1.0]),
    np.array(["cat", "dog"]),
    np.zeros((0, 3), dtype=np.float16),
], ids=lambda a: f"{a.dtype}{a.shape}")
def test_arrays_keep_dtype_shape_and_values(tmp_path: Path, array: np.ndarray) -> None:
    back = round_trip(tmp_path, {"a": array, "again": [array]})
    for got in (back["a"], back["again"][0]):
        assert isinstance(got, np.ndarray)
        assert got.dtype == array.dtype and got.shape == array.shape
        np.testing.assert_array_equal(got, array)


def test_dataclasses_come_back_as_themselves(tmp_path: Path) -> None:
    value = Outer(3, Inner("svm", np.array([0.5, 0.25])), ("a", "b"))
    entry = tmp_path / "exp" / "key"
    store.write_entry(entry, {"result": value}, {})
    back = store.read_entry(entry, packages=("tests",))["result"]
    assert type(back) is Outer and type(back.inner) is Inner
    assert back.count == 3 and back.tags == ("a", "b") and back.inner.name == "svm"
    np.testing.assert_array_equal(back.inner.scores, [0.5, 0.25])
    stored = json.loads((entry / store.RESULT).read_text())["result"]
    assert stored["__dataclass__"] == f"{__name__}:Outer"


def test_a_class_outside_the_named_packages_is_never_imported(tmp_path: Path, monkeypatch) -> None:
    entry = tmp_path / "exp" / "key"
    store.write_entry(entry, Outer(1, Inner("x", np.zeros(1)), ()), {})
    data = json.loads((entry / store.RESULT).read_text())
    data["__dataclass__"] = "os:PathLike"  # a data file naming a class of another package
    (entry / store.RESULT).write_text(json.dumps(data))
    imported = []
    monkeypatch.setattr(store.importlib, "import_module", lambda name: imported.append(name))
    with pytest.raises(ValueError, match="not from this project's packages"):
        store.read_entry(entry, packages=("tests",))
    with pytest.raises(ValueError, match="not from this project's packages"):
        store.read_entry(entry)
    assert imported == []


def test_a_stored_name_that_is_no_dataclass_is_refused(tmp_path: Path) -> None:
    entry = tmp_path / "exp" / "key"
    store.write_entry(entry, Inner("x", np.zeros(1)), {})
    data = json.loads((entry / store.RESULT).read_text())
    data["__dataclass__"] = f"{__name__}:round_trip"
    (entry / store.RESULT).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="no dataclass"):
        store.read_entry(entry, packages=("tests",))


def test_a_dataclass_defined_in_a_function_is_refused_when_written(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class Local:
        x: int

    with pytest.raises(TypeError, match="module level"):
        store.write_entry(tmp_path / "e" / "k", {"a": Local(1)}, {})
    assert not (tmp_path / "e" / "k").exists()


def test_tensors_come_back_as_arrays(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    tensor = torch.arange(6.0).reshape(2, 3).requires_grad_()
    back = round_trip(tmp_path, {"t": tensor * 2, "ints": torch.tensor([1, 2], dtype=torch.int32)})
    assert back["t"].dtype == np.float32 and back["t"].shape == (2, 3)
    np.testing.assert_array_equal(back["t"], np.arange(6.0).reshape(2, 3) * 2)
    assert back["ints"].dtype == np.int32 and back["ints"].tolist() == [1, 2]


def test_paths_are_stored_as_strings(tmp_path: Path) -> None:
    assert round_trip(tmp_path, {"p": Path("data/x.jpg")}) == {"p": "data/x.jpg"}


def test_plots_are_svg_and_images_png(tmp_path: Path) -> None:
    plot, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    image, ax = plt.subplots(figsize=(1, 1))
    ax.imshow(np.eye(4))
    back = round_trip(tmp_path, {"plot": plot, "pictures": [image], "n": 1})
    assert isinstance(back["plot"], store.Figure) and isinstance(back["pictures"][0], store.Figure)
    assert back["plot"].kind == "svg" and back["pictures"][0].kind == "png"
    assert back["plot"].path.parent == tmp_path / "exp/key"
    assert back["plot"].path.read_bytes().lstrip().startswith(b"<?xml")
    assert back["pictures"][0].path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert back["plot"].path != back["pictures"][0].path
    assert not plt.get_fignums()  # the store closes the figures it saved


def test_two_figures_get_two_files(tmp_path: Path) -> None:
    figs = [plt.subplots(figsize=(1, 1))[0] for _ in range(2)]
    back = round_trip(tmp_path, {"a": figs[0], "b": {"c": figs[1]}})
    assert back["a"].path.is_file() and back["b"]["c"].path.is_file()
    assert back["a"].path != back["b"]["c"].path


def test_meta_is_stored_beside_the_result(tmp_path: Path) -> None:
    store.write_entry(tmp_path / "e", {"x": 1}, {"wall_s": 0.5, "device": "cpu"})
    assert store.read_meta(tmp_path / "e") == {"wall_s": 0.5, "device": "cpu"}


def test_unsupported_type_is_a_type_error_naming_where_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"result\['layers'\]\[1\]\['model'\]: cannot store a object"):
        store.write_entry(tmp_path / "exp" / "key", {"layers": [{}, {"model": object()}]}, {})
    assert not (tmp_path / "exp" / "key").exists()
    assert leftovers(tmp_path / "exp") == []


def test_arrays_of_python_objects_are_refused(tmp_path: Path) -> None:
    # They could only be stored with pickle, which the store never uses (and could not read back).
    with pytest.raises(TypeError, match=r"result\['rows'\]"):
        store.write_entry(tmp_path / "exp" / "key", {"rows": np.array([{"a": 1}, None], dtype=object)}, {})
    assert not (tmp_path / "exp" / "key").exists()


def test_no_pickle_in_the_arrays_file(tmp_path: Path) -> None:
    store.write_entry(tmp_path / "e", {"a": np.arange(3)}, {})
    with np.load(tmp_path / "e" / store.ARRAYS, allow_pickle=False) as arrays:
        assert arrays["a0"].tolist() == [0, 1, 2]


def test_a_new_entry_replaces_the_old_one_whole(tmp_path: Path) -> None:
    entry = tmp_path / "exp" / "key"
    store.write_entry(entry, {"a": np.arange(3)}, {"run": 1})
    store.write_entry(entry, {"b": 2}, {"run": 2})
    assert store.read_entry(entry) == {"b": 2}
    assert store.read_meta(entry) == {"run": 2}
    assert not (entry / store.ARRAYS).exists()
    assert leftovers(entry.parent) == []


def test_interrupted_write_leaves_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = store._write_json

    def interrupted(path: Path, data) -> None:
        if path.name == store.META:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(store, "_write_json", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.write_entry(tmp_path / "exp" / "key", {"a": np.arange(3), "b": 1}, {"wall_s": 1})
    assert not (tmp_path / "exp" / "key").exists()
    assert leftovers(tmp_path / "exp") == []


def test_write_text_atomic_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    store.write_text_atomic(target, "old")
    store.write_text_atomic(target, b"new \xe2\x9c\x93")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


class _DiskFullAfterHalf:
    """A file opened for writing that takes half of what it is given, then fails as a full disk does."""

    def __init__(self, path, mode="r", *args, **kwargs):
        self._file = open(path, mode, *args, **kwargs)  # noqa: SIM115 — closed in __exit__

    def write(self, data):
        self._file.write(data[: len(data) // 2])
        self._file.flush()
        raise OSError(28, "No space left on device")

    def __getattr__(self, name):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()


@pytest.mark.parametrize("interrupt", ["disk full", "ctrl-c"])
def test_an_interrupted_text_write_keeps_the_old_content_and_leaves_no_partial_file(tmp_path: Path, monkeypatch,
                                                                                   interrupt: str) -> None:
    path = tmp_path / "report.html"
    path.write_text("old report")
    if interrupt == "disk full":
        monkeypatch.setattr(store, "open", _DiskFullAfterHalf, raising=False)
        expected = OSError
    else:
        monkeypatch.setattr(store.os, "fsync", lambda fd: (_ for _ in ()).throw(KeyboardInterrupt()))
        expected = KeyboardInterrupt
    with pytest.raises(expected):
        store.write_text_atomic(path, "new report " * 10_000)
    assert path.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_full_disk_while_writing_the_report_is_one_line_and_keeps_the_previous_report(tiny, capsys,
                                                                                        monkeypatch) -> None:
    from reportgen.cli import main

    tiny.build()
    before = (tiny.build_dir / "report.html").read_bytes()
    monkeypatch.setattr(store, "open", _DiskFullAfterHalf, raising=False)
    tiny.purge()
    code = main(["build", "--no-pdf", "--device", "cpu", "--set", "numbers.n=11"])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("reportgen: error")]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0])  # the progress lines, then one line of error
    assert (tiny.build_dir / "report.html").read_bytes() == before


def test_an_entry_travels_as_its_files_and_comes_back_the_same(tmp_path: Path) -> None:
    image, ax = plt.subplots(figsize=(1, 1))
    ax.imshow(np.eye(4))
    store.write_entry(tmp_path / "there", {"n": 3, "a": np.arange(4), "picture": image}, {"wall_s": 1.0})
    files = store.entry_files(tmp_path / "there")
    assert set(files) == {store.RESULT, store.ARRAYS, store.META, "result--picture.png"}
    store.write_files(tmp_path / "here" / "key", files)
    back = store.read_entry(tmp_path / "here" / "key")
    assert back["n"] == 3 and back["a"].tolist() == [0, 1, 2, 3]
    assert back["picture"].path.read_bytes() == (tmp_path / "there" / "result--picture.png").read_bytes()
    assert store.read_meta(tmp_path / "here" / "key") == {"wall_s": 1.0}
    assert not leftovers(tmp_path / "here")


def test_travelling_files_cannot_leave_their_entry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must stay inside its folder"):
        store.write_files(tmp_path / "exp" / "key", {store.RESULT: b"{}", "../../outside.json": b"{}"})
    assert not (tmp_path / "outside.json").exists() and not (tmp_path / "exp" / "key").exists()
    assert not leftovers(tmp_path / "exp")

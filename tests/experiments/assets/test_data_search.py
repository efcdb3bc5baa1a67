"""Where datasets are looked for, in the README's order, before anything is downloaded."""
from pathlib import Path

import pytest

from experiments import resources
from experiments.assets import data_search
from tests.tiny import write_imagenet_val, write_scene15


@pytest.fixture
def places(tmp_path, monkeypatch) -> dict[str, Path]:
    """An empty cache, a folder named by REPORTGEN_DATA, one in the search list, and a project beside ../shared."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("REPORTGEN_DATA", str(tmp_path / "env"))
    monkeypatch.setattr(resources, "PROJECT_ROOT", tmp_path / "clone" / "project")
    return {name: tmp_path / name for name in ("cache", "env", "listed", "clone", "configured")}


def _scene(places, where: str) -> Path:
    return write_scene15(places[where] / "15SceneData", train=1, test=1, size=8)


def _choose(places, configured: str = "", search: tuple = ()):
    return resources._find_scene15(offline=True, scene15=configured, search=search)


def test_the_order_is_configured_cache_environment_search_list_then_shared(places):
    shared = write_scene15(places["clone"] / "shared" / "data" / "15SceneData", train=1, test=1, size=8)
    search = (str(places["listed"]),)
    assert _choose(places, search=search).used == str(shared)
    listed = _scene(places, "listed")
    assert _choose(places, search=search).used == str(listed)
    env = _scene(places, "env")
    assert _choose(places, search=search).used == str(env)
    cached = write_scene15(places["cache"] / "reportgen" / "15SceneData", train=1, test=1, size=8)
    choice = _choose(places, search=search)
    assert choice.used == choice.asked == str(cached) and choice.reason is None
    configured = _scene(places, "configured")
    assert _choose(places, str(configured), search).used == str(configured)


def test_a_copy_found_elsewhere_is_said_and_watched_not_substituted(places):
    env = _scene(places, "env")
    choice = _choose(places)
    assert dict(choice.overrides) == {"scene15": str(env)}
    assert not choice.substitute and choice.reason == "found in $REPORTGEN_DATA"
    assert str(places["cache"] / "reportgen" / "15SceneData") in choice.watch  # fetched later: replan


def test_a_configured_path_without_data_says_so_when_a_copy_is_found(places):
    env = _scene(places, "env")
    choice = _choose(places, str(places["configured"] / "nothing-here"))
    assert choice.used == str(env) and "nothing usable at the configured path" in choice.reason


def test_found_nowhere_keeps_the_place_the_download_goes_to(places, monkeypatch):
    monkeypatch.delenv("REPORTGEN_DATA")
    choice = _choose(places)
    assert choice.used == choice.asked == str(places["cache"] / "reportgen" / "15SceneData")


def test_a_broken_copy_is_passed_over(places):
    (places["env"] / "15SceneData" / "train").mkdir(parents=True)  # no test/ split, no class folders
    listed = _scene(places, "listed")
    assert _choose(places, search=(str(places["listed"]),)).used == str(listed)


def test_the_validation_file_is_found_the_same_way(places):
    places["env"].mkdir()
    found = write_imagenet_val(places["env"] / "imagenet_val_25.npz")
    choice = resources._find_val(offline=True)
    assert choice.used == str(found) and dict(choice.overrides) == {"imagenet_val": str(found)}


def test_several_folders_in_the_environment_variable(places, monkeypatch, tmp_path):
    second = write_scene15(tmp_path / "second" / "15SceneData", train=1, test=1, size=8)
    monkeypatch.setenv("REPORTGEN_DATA", f"{places['env']}:{tmp_path / 'second'}")
    assert _choose(places).used == str(second)
    assert data_search.shared_data(Path("/a/project")) == Path("/a/shared/data")

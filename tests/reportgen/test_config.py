"""The configuration: TOML values on the command line, overrides, type coercion, and errors that say where."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from reportgen import UserError
from reportgen.config import Settings, check_sections, load_settings, parse_value, resolve


@pytest.mark.parametrize(("text", "expected"), [
    ("3", 3), ("-2", -2), ("1e-3", 0.001), ("0.5", 0.5), ("true", True), ("false", False),
    ("[1, 2]", [1, 2]), ('"x y"', "x y"), ("none", "none"), ("IMAGENET1K_V1", "IMAGENET1K_V1"),
    ("path/to/file.pth", "path/to/file.pth"), ("hello world", "hello world"), ("", ""),
])
def test_parse_value_reads_toml_values_else_the_text(text: str, expected) -> None:
    value = parse_value(text)
    assert value == expected and type(value) is type(expected)


def test_parse_value_reads_inf() -> None:
    assert math.isinf(parse_value("inf"))


def test_load_settings_applies_overrides_on_top_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[report]\ntitle = "T"\n\n[networks.transfer]\nmodel = "vgg16"\nweights = "A"\n')
    settings = load_settings(path, ["networks.transfer.weights=none", "svm.c=0.5", "svm.grid=[1, 10]"])
    assert settings.source == str(path)
    assert settings.section("networks.transfer") == {"model": "vgg16", "weights": "none"}
    assert settings.section("svm") == {"c": 0.5, "grid": [1, 10]}
    assert settings.section("report") == {"title": "T"}
    assert settings.section("nothing.here") == {}


def test_load_settings_without_a_file_uses_built_in_defaults() -> None:
    settings = load_settings(None, ["a.b=1"])
    assert settings.tree == {"a": {"b": 1}}
    assert settings.source == "built-in defaults"


def test_section_of_a_value_is_empty() -> None:
    assert Settings({"a": {"b": 1}}, "x").section("a.b") == {}


@pytest.mark.parametrize("item", ["novalue", "key=1", "a..b=1", ".a=1", "a.=1"])
def test_malformed_override_is_a_user_error_naming_it(item: str) -> None:
    with pytest.raises(UserError, match="expected section.key=value") as info:
        load_settings(None, [item])
    assert repr(item) in str(info.value)


def test_override_through_a_value_is_an_error() -> None:
    with pytest.raises(UserError, match="'b' is a value"):
        load_settings(None, ["a.b=1", "a.b.c=2"])


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        load_settings(tmp_path / "absent.toml", [])


def test_invalid_toml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[report\n")
    with pytest.raises(UserError, match="bad.toml: invalid TOML"):
        load_settings(path, [])


def test_resolve_puts_the_section_over_the_defaults_and_coerces() -> None:
    defaults = {"c": 1.0, "folds": 5, "name": "svm", "sizes": (1, 2), "flag": False, "anything": None}
    section = {"c": 2, "sizes": [3, 4], "flag": True, "anything": [1], "sub": {"x": 1}}
    params = resolve(defaults, section, "svm")
    assert params == {"c": 2.0, "folds": 5, "name": "svm", "sizes": (3, 4), "flag": True, "anything": [1]}
    assert type(params["c"]) is float and type(params["sizes"]) is tuple
    assert defaults["c"] == 1.0  # the defaults themselves are untouched


def test_resolve_does_not_share_mutable_defaults() -> None:
    defaults = {"grid": [1, 2]}
    resolve(defaults, {}, "x")["grid"].append(3)
    assert defaults["grid"] == [1, 2]


@pytest.mark.parametrize(("default", "value"), [
    (5, 1.5), (5, "5"), (5, True), (True, 1), (1.0, "1"), ("svm", 3), ((1, 2), "x"), ([1], 1),
])
def test_resolve_rejects_values_of_the_wrong_type(default, value) -> None:
    with pytest.raises(UserError) as info:
        resolve({"k": default}, {"k": value}, "exp")
    message = str(info.value)
    assert "[exp] k" in message and type(default).__name__ in message


def test_unknown_setting_names_it_and_suggests_a_close_one() -> None:
    with pytest.raises(UserError, match=r"\[svm\] has no setting 'fold' \(did you mean 'folds'\?\)"):
        resolve({"folds": 5, "c": 1.0}, {"fold": 3}, "svm")


def test_unknown_setting_without_a_close_one_lists_the_settings() -> None:
    with pytest.raises(UserError, match=r"has no setting 'zzz' \(settings: c, folds\)"):
        resolve({"c": 1.0, "folds": 5}, {"zzz": 3}, "svm")


def test_setting_of_another_function_of_the_same_section_is_not_an_error() -> None:
    params = resolve({"model": "vgg16"}, {"model": "alexnet", "weights": "none"}, "networks.transfer",
                     shared={"model", "weights"})
    assert params == {"model": "alexnet"}


def test_check_sections_accepts_known_and_nested_sections() -> None:
    settings = Settings({"report": {"title": "T"}, "networks": {"transfer": {"model": "x"}}, "svm": {"c": 1}}, "f")
    check_sections(settings, {"networks.transfer", "svm"})


def test_unknown_section_is_an_error_with_a_hint() -> None:
    settings = Settings({"networks": {"transfr": {"model": "x"}}}, "my.toml")
    with pytest.raises(UserError, match=r"my.toml: unknown section \[networks.transfr\] \(did you mean "
                                        r"\[networks.transfer\]\?\)"):
        check_sections(settings, {"networks.transfer", "svm"})


def test_top_level_value_outside_a_section_is_an_error() -> None:
    with pytest.raises(UserError, match="'title' must be inside a section"):
        check_sections(Settings({"title": "T"}, "f"), {"svm"})


def test_unknown_section_from_set_stops_a_build(tiny) -> None:
    with pytest.raises(UserError, match=r"unknown section \[numbrs\] \(did you mean \[numbers\]\?\)"):
        tiny.build("numbrs.n=3")


def test_project_config_file_is_read(tiny) -> None:
    tiny.edit(tiny.root / "reportgen.toml", "size = 3", "size = 2")
    tiny.build()
    results = tiny.json("results.json")
    assert results["experiments"]["ramp"]["values"] == {"size": 2}
    assert "<title>Tiny report</title>" in tiny.html()


def test_config_option_replaces_the_project_file(tiny) -> None:
    other = tiny.root / "other.toml"
    other.write_text("[ramp]\nsize = 4\n")
    tiny.build(config=other)
    assert tiny.json("results.json")["experiments"]["ramp"]["values"] == {"size": 4}
    assert "<title>Report</title>" in tiny.html()  # no [report] section: the default title


# -- valid ranges declared beside each setting (Annotated), checked before anything runs ------------------------

RANGED = """\
from typing import Annotated

from reportgen import Ge, Gt, Le, OneOf, experiment


@experiment
def attack(max_steps: Annotated[int, Gt(0)] = 10, share: Annotated[float, Ge(0), Le(1)] = 0.5,
           eps: Annotated[tuple, Gt(0)] = (1.0, 2.0), mode: Annotated[str, OneOf("fast", "slow")] = "fast") -> dict:
    \"\"\"Ranged settings.\"\"\"
    return {"max_steps": max_steps}
"""


@pytest.mark.parametrize(("override", "message"), [
    ("attack.max_steps=-5", r"^\[attack\] max_steps = -5: must be > 0$"),
    ("attack.max_steps=0", r"^\[attack\] max_steps = 0: must be > 0$"),
    ("attack.share=1.5", r"^\[attack\] share = 1.5: must be ≤ 1$"),
    ("attack.share=nan", r"^\[attack\] share = nan: must be ≥ 0$"),
    ("attack.eps=[1.0, -2.0]", r"^\[attack\] eps = \(1.0, -2.0\): must be > 0$"),
    ("attack.mode=medium", r"^\[attack\] mode = 'medium': must be one of 'fast', 'slow'$"),
])
def test_a_setting_outside_its_declared_range_stops_the_build_before_anything_runs(tiny, override, message) -> None:
    tiny.write(f"{tiny.pkg}/ranged.py", RANGED)
    with pytest.raises(UserError, match=message):
        tiny.build(override)
    assert not (tiny.build_dir / "cache").exists()  # nothing ran


def test_settings_within_range_build_and_keep_their_cache_key(tiny) -> None:
    tiny.write(f"{tiny.pkg}/ranged.py", RANGED)
    first = tiny.build("attack.max_steps=3")
    assert first.code == 0 and "attack" in first.ran
    assert "attack" in tiny.build("attack.max_steps=3", "attack.share=0.5").cached  # same values, same key


def test_the_report_section_rejects_unknown_keys_with_a_hint(tiny) -> None:
    with pytest.raises(UserError, match=r"^\[report\] has no setting 'titel' \(did you mean 'title'\?\)$"):
        tiny.build("report.titel=x")
    with pytest.raises(UserError, match=r"\[report\] has no setting 'nosuch'"):
        tiny.build("report.nosuch=1")
    with pytest.raises(UserError, match=r"\[report\] authors = 3: expected a list"):
        tiny.build("report.authors=3")


def test_a_value_in_a_table_that_only_holds_tables_is_an_error() -> None:
    settings = Settings({"networks": {"transfer": {"model": "x"}, "nosuch": 1}}, "f")
    with pytest.raises(UserError, match=r"\[networks\] has no setting 'nosuch'; it only holds the sections "
                                        r"\[networks.transfer\]"):
        check_sections(settings, {"networks.transfer"})


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[report]\ntitle = "Résumé"\n'.encode("latin-1"))
    with pytest.raises(UserError, match=r"latin1.toml is not UTF-8 text \(byte 0xe9 at offset 19\); save it as UTF-8"):
        load_settings(path, [])


def test_every_numeric_setting_of_the_practical_declares_its_range() -> None:
    """Each experiment's, resource's and verdict's int and float settings carry a range (a bool or a string needs
    none)."""
    from reportgen.registry import discover
    from reportgen.verdicts import discover_verdicts

    registry = discover("experiments")
    nodes = [*registry.nodes.values(), *discover_verdicts("experiments.verdicts")]
    bare = [f"{n.name}.{k}" for n in nodes for k, v in n.defaults.items()
            if isinstance(v, (int, float, tuple)) and not isinstance(v, bool) and k not in n.constraints]
    assert bare == []


@pytest.mark.parametrize(("override", "message"), [
    ("naive_attack.max_steps=-5", r"\[naive_attack\] max_steps = -5: must be > 0"),
    ("naive_attack.max_steps=0", r"\[naive_attack\] max_steps = 0: must be > 0"),
    ("architecture_params.input_size=0", r"\[architecture_params\] input_size = 0: must be ≥ 32"),
    ("attack_comparison.eps_levels=[]", r"\[attack_comparison\] eps_levels = \(\): must be a non-empty list"),
    ("networks.transfer.input_size=16", r"\[networks.transfer\] input_size = 16: must be 0 .* or at least 32"),
    ("networks.visualize.std=[0.5,0,0.5]", r"\[networks.visualize\] std = \(0.5, 0, 0.5\): must be \(\) .* > 0"),
    ("networks.compare.mean=[0.5]", r"\[networks.compare\] mean = \(0.5,\): must be \(\) .* three values"),
    ("data.scene15_seed=-1", r"\[data\] scene15_seed = -1: must be ≥ 0"),
    ("class_images.certain_above=3", r"\[class_images\] certain_above = 3.0: must be ≤ 1"),
])
def test_the_practicals_nonsense_settings_are_refused_while_planning(override, message) -> None:
    from reportgen.plan import Context, plan
    from reportgen.registry import discover
    from reportgen.sources import SourceIndex

    root = Path(__file__).resolve().parents[2]
    settings = load_settings(root / "configs" / "offline.toml", [override])
    with pytest.raises(UserError, match=message):
        plan(discover("experiments"), settings, Context("cpu", True, root / "build" / "nowhere"), SourceIndex(root))


def test_a_config_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[report]\ntitle = 'T'\n")
    assert load_settings(path, []).section("report") == {"title": "T"}

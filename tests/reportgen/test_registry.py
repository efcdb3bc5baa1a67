"""The registry: decorators, nodes from signatures, discovery, and graph errors reported before anything runs."""
from __future__ import annotations

import pytest

from reportgen import UserError, experiment, resource
from reportgen.registry import ATTR, build_registry, discover, node_from_function


def _nodes(*fns):
    return {fn.__name__: node_from_function(fn) for fn in fns}


def test_experiment_decorator_returns_the_function_unchanged() -> None:
    def square(x: int) -> int:
        return x * x

    assert experiment(square) is square
    assert square(3) == 9
    assert getattr(square, ATTR).kind == "experiment"


def test_resource_decorator_keeps_the_function_and_its_section() -> None:
    def net(model: str = "vgg16") -> str:
        return model

    marked = resource(section="networks.transfer")(net)
    assert marked is net and marked() == "vgg16"
    node = node_from_function(net)
    assert (node.meta.kind, node.section, node.is_experiment) == ("resource", "networks.transfer", False)


def test_inputs_are_parameters_without_defaults_and_settings_those_with_defaults() -> None:
    @experiment
    def accuracy(features, labels: list, c: float = 1.0, folds: int = 5, name: str = "svm") -> dict:
        """Accuracy of an SVM.

        More text that is not the caption."""
        return {}

    node = node_from_function(accuracy)
    assert node.name == "accuracy"
    assert node.inputs == ("features", "labels")
    assert node.defaults == {"c": 1.0, "folds": 5, "name": "svm"}
    assert node.section == "accuracy"
    assert node.caption == "Accuracy of an SVM."


def test_caption_without_docstring_is_the_name_in_words() -> None:
    @experiment
    def layer_sweep() -> None: ...

    assert node_from_function(layer_sweep).caption == "layer sweep"


def test_order_puts_inputs_first_and_accepts_builtins() -> None:
    @experiment
    def c(b, a, device) -> int: ...

    @experiment
    def b(a, offline) -> int: ...

    @resource()
    def a(cache_dir) -> int: ...

    registry = build_registry(_nodes(c, b, a))
    assert registry.order.index("a") < registry.order.index("b") < registry.order.index("c")
    assert [n.name for n in registry.experiments] == ["b", "c"]  # resources are not experiments
    assert registry.dependents("a") == {"b", "c"}
    assert registry.dependents("b") == {"c"}
    assert registry.dependents("c") == set()


def test_unknown_input_names_the_experiment_the_input_and_a_close_name() -> None:
    @experiment
    def numbers() -> int: ...

    @experiment
    def total(numbrs) -> int: ...

    with pytest.raises(UserError) as info:
        build_registry(_nodes(numbers, total))
    message = str(info.value)
    assert "'total'" in message and "'numbrs'" in message
    assert "did you mean 'numbers'" in message


def test_unknown_input_without_a_close_name_has_no_suggestion() -> None:
    @experiment
    def total(zzzzqqq) -> int: ...

    with pytest.raises(UserError, match="'zzzzqqq'") as info:
        build_registry(_nodes(total))
    assert "did you mean" not in str(info.value)


def test_cycle_is_reported_by_name() -> None:
    @experiment
    def first(third) -> int: ...

    @experiment
    def second(first) -> int: ...

    @experiment
    def third(second) -> int: ...

    @experiment
    def outside() -> int: ...

    with pytest.raises(UserError, match="cycle") as info:
        build_registry(_nodes(first, second, third, outside))
    message = str(info.value)
    assert all(name in message for name in ("first", "second", "third"))
    assert "outside" not in message


def test_an_experiment_needing_itself_is_a_cycle() -> None:
    @experiment
    def loop(loop) -> int: ...

    with pytest.raises(UserError, match="cycle.*loop"):
        build_registry(_nodes(loop))


def test_discover_finds_each_decorated_function_once(tiny) -> None:
    # A decorated function imported into another module must not count twice.
    tiny.edit(tiny.module("images"), "from reportgen import experiment",
              f"from reportgen import experiment\nfrom {tiny.pkg}.basic import numbers  # noqa: F401")
    tiny.project.importable()
    registry = discover(tiny.pkg)
    assert sorted(n.name for n in registry.experiments) == ["curve", "numbers", "picture", "ramp"]
    assert registry.nodes["curve"].inputs == ("numbers", "ramp")
    assert registry.nodes["numbers"].defaults == {"n": 4, "label": "four"}
    assert registry.dependents("numbers") == {"curve"}


def test_discover_rejects_two_experiments_of_the_same_name(tiny) -> None:
    tiny.write(f"{tiny.pkg}/again.py", """\
        from reportgen import experiment


        @experiment
        def ramp() -> int:
            return 1
        """)
    tiny.project.importable()
    with pytest.raises(UserError, match="'ramp'"):
        discover(tiny.pkg)


def test_discover_rejects_an_experiment_named_like_a_builtin(tiny) -> None:
    tiny.write(f"{tiny.pkg}/clash.py", """\
        from reportgen import experiment


        @experiment
        def device() -> int:
            return 1
        """)
    tiny.project.importable()
    with pytest.raises(UserError, match="'device'"):
        discover(tiny.pkg)


def test_discover_reports_a_missing_package(tiny) -> None:
    with pytest.raises(UserError, match="nosuchpackage_"):
        discover("nosuchpackage_" + tiny.pkg)


def test_graph_errors_stop_a_build_before_anything_runs(tiny) -> None:
    tiny.edit(tiny.module("images"), "def picture()", "def picture(curv)")
    with pytest.raises(UserError, match="'picture'.*'curv'.*did you mean 'curve'"):
        tiny.build()
    assert not (tiny.build_dir / "cache").exists()

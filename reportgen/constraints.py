"""What values a setting admits, declared beside it: `max_steps: Annotated[int, Gt(0)] = 10`.

The engine reads these from the function's signature (`typing.Annotated` metadata) and checks every setting
before anything runs; a value outside the range is one line naming the setting, the value and what is allowed.
"""
from __future__ import annotations

import math
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reportgen.errors import UserError


class Constraint:
    """A check on one setting's value: `problem(value)` is None when allowed, else what is allowed."""

    def problem(self, value: Any) -> str | None:
        raise NotImplementedError


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Bound(Constraint):
    bound: float
    op: str = ""

    def problem(self, value: Any) -> str | None:
        values = value if isinstance(value, (list, tuple)) else [value]  # a tuple setting: each element
        for v in values:
            if not _number(v) or math.isnan(v) or not self._ok(v):
                return f"must be {self.op} {self.bound:g}"
        return None

    def _ok(self, v: float) -> bool:
        raise NotImplementedError


class Gt(_Bound):
    def __init__(self, bound: float):
        super().__init__(bound, ">")

    def _ok(self, v: float) -> bool:
        return v > self.bound


class Ge(_Bound):
    def __init__(self, bound: float):
        super().__init__(bound, "≥")

    def _ok(self, v: float) -> bool:
        return v >= self.bound


class Lt(_Bound):
    def __init__(self, bound: float):
        super().__init__(bound, "<")

    def _ok(self, v: float) -> bool:
        return v < self.bound


class Le(_Bound):
    def __init__(self, bound: float):
        super().__init__(bound, "≤")

    def _ok(self, v: float) -> bool:
        return v <= self.bound


@dataclass(frozen=True)
class OneOf(Constraint):
    """The value (or, for a list or tuple setting, each element) is one of `choices`."""

    choices: tuple[Any, ...]

    def __init__(self, *choices: Any):
        object.__setattr__(self, "choices", choices)

    def problem(self, value: Any) -> str | None:
        values = value if isinstance(value, (list, tuple)) else [value]
        if all(v in self.choices for v in values):
            return None
        return "must be one of " + ", ".join(repr(c) for c in self.choices)


@dataclass(frozen=True)
class NonEmpty(Constraint):
    """A list, tuple or string with at least one element."""

    def problem(self, value: Any) -> str | None:
        return None if len(value) else "must not be empty"


@dataclass(frozen=True)
class Check(Constraint):
    """Any predicate, with the words saying what it allows: `Check(lambda v: v % 2 == 1, "an odd number")`."""

    test: Callable[[Any], bool]
    allowed: str

    def problem(self, value: Any) -> str | None:
        try:
            return None if self.test(value) else f"must be {self.allowed}"
        except (TypeError, ValueError):
            return f"must be {self.allowed}"


def of_function(fn: Callable, names: typing.Iterable[str]) -> dict[str, tuple[Constraint, ...]]:
    """The constraints declared in `fn`'s signature for the parameters `names` (those that have any)."""
    raw = getattr(fn, "__annotations__", {})
    found: dict[str, tuple[Constraint, ...]] = {}
    for name in names:
        hint = raw.get(name)
        if isinstance(hint, str):  # `from __future__ import annotations`: evaluate in the function's module
            try:
                hint = eval(hint, getattr(fn, "__globals__", {}))  # noqa: S307 — the project's own source
            except Exception as exc:  # noqa: BLE001 — a broken annotation is the module's to fix
                raise UserError(f"{fn.__module__}.{fn.__name__}: cannot read the annotation of '{name}' "
                                f"({type(exc).__name__}: {exc}); fix it") from None
        if typing.get_origin(hint) is typing.Annotated:
            found[name] = tuple(m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Constraint))
    return {k: v for k, v in found.items() if v}


def problems(values: dict[str, Any], constraints: dict[str, tuple[Constraint, ...]]) -> list[tuple[str, str]]:
    """(setting, what is allowed) for every value its constraints refuse."""
    return [(name, why) for name, checks in constraints.items() if name in values
            for why in (c.problem(values[name]) for c in checks) if why]

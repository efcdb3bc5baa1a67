"""The questions a report answers, and whether each is answered by what was computed."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reportgen.errors import UserError
from reportgen.status import Status


@dataclass(frozen=True)
class Question:
    """One question of the practical: where it sits, how it is labelled, and what its answer rests on."""

    id: str  # "1.Q1"
    section: str  # "1.1"
    label: str  # "★" or "Bonus"
    text: str  # the question, restated in the project's own words
    needs: tuple[str, ...] = ()  # experiments the answer shows
    # (label, "experiment.key.key", format) of the numbers it rests on; format names a filter ("pct", "thousands",
    # "sig", "num"); without one, integers get thousands separators and other numbers 3 significant figures
    key_numbers: tuple[tuple[str, ...], ...] = ()

    @property
    def chapter(self) -> int:
        return int(self.id.split(".")[0])

    @property
    def anchor(self) -> str:
        return "q" + self.id.replace(".", "-").lower()

    @property
    def number_formats(self) -> dict[str, str]:
        """Each key number's format (the filter that shows it), "" where none is given."""
        return {entry[0]: entry[2] if len(entry) > 2 else "" for entry in self.key_numbers}


@dataclass(frozen=True)
class Answer:
    """The state of one question after a build."""

    question: Question
    status: str  # "answered" | "not computed"
    reason: str | None
    key_numbers: dict[str, Any]

    @property
    def answered(self) -> bool:
        return self.status == "answered"


def lookup(results: Mapping[str, Any], path: str) -> Any:
    """`results["a"]["b"]["c"]` for the path "a.b.c" (numeric parts index lists, names a dataclass's fields)."""
    value: Any = results
    for part in path.split("."):
        if isinstance(value, (list, tuple)):
            value = value[int(part)]
        elif dataclasses.is_dataclass(value):
            if part not in {f.name for f in dataclasses.fields(value)}:
                raise KeyError(part)
            value = getattr(value, part)
        else:
            value = value[part]
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", 1) == 0 else value


def answer(question: Question, statuses: Mapping[str, tuple[str, str | None]], results: Mapping[str, Any]) -> Answer:
    """Answered when every experiment it needs succeeded; otherwise the first reason it was not."""
    if not question.needs:
        return Answer(question, "not computed", "no experiment computes this answer yet", {})
    for name in question.needs:
        if name not in statuses:
            return Answer(question, "not computed", f"experiment {name} does not exist in this project yet", {})
        status, reason = statuses[name]
        if not Status(status).computed:
            return Answer(question, "not computed", f"{name} {status}: {reason}", {})
    numbers = {label: _key_number(question, path, results) for label, path, *_ in question.key_numbers}
    return Answer(question, "answered", None, numbers)


def _key_number(question: Question, path: str, results: Mapping[str, Any]) -> Any:
    try:
        return lookup(results, path)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise UserError(f"question {question.id}: key number '{path}' is not in the results "
                        f"({type(exc).__name__}: {exc}); fix its path in the questions") from None

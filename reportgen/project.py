"""Where a project keeps its experiments, questions, templates and configuration (`[tool.reportgen]`)."""
from __future__ import annotations

import importlib
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from reportgen.errors import UserError
from reportgen.questions import Question


@dataclass(frozen=True)
class Project:
    root: Path
    experiments: str  # package name
    questions: str  # "module:ATTRIBUTE"
    templates: Path
    main_template: str
    default_config: Path | None
    out: Path | None = None  # where this build's report goes, when not build/ (a sweep's combination)
    verdicts: str | None = None  # package of the verdict functions, imported alone when rendering

    @property
    def build(self) -> Path:
        return self.out or self.root / "build"

    @property
    def cache(self) -> Path:
        """Cached results, shared by every build of the project."""
        return self.root / "build" / "cache"

    @property
    def packages(self) -> tuple[str, ...]:
        """The top-level packages whose dataclasses a stored result may name."""
        return (self.experiments.split(".")[0],)

    def importable(self) -> None:
        """Make the project's packages importable (also when it is not installed)."""
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))

    def load_questions(self) -> tuple[Question, ...]:
        self.importable()
        module, _, attr = self.questions.partition(":")
        try:
            return tuple(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError) as exc:
            raise UserError(f"questions '{self.questions}' (pyproject [tool.reportgen]) not found: {exc}") from None


def find_project(start: Path) -> Project:
    """The nearest folder upwards with a pyproject.toml that has a [tool.reportgen] table."""
    for folder in [start, *start.parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("reportgen")
            if table is not None:
                return _project(folder.resolve(), table)
    raise UserError(f"no pyproject.toml with a [tool.reportgen] table in {start} or above; run inside the project")


def _project(root: Path, table: dict) -> Project:
    config = root / table.get("config", "reportgen.toml")
    return Project(
        root=root,
        experiments=table.get("experiments", "experiments"),
        questions=table.get("questions", "experiments.practical:QUESTIONS"),
        templates=root / table.get("templates", "templates"),
        main_template=table.get("main_template", "report.html.j2"),
        default_config=config if config.is_file() else None,
        verdicts=table.get("verdicts", table.get("experiments", "experiments") + ".verdicts"),
    )

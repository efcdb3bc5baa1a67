"""Which project files a function's result depends on: its module and the project modules it imports."""
from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from pathlib import Path


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dataclass
class SourceIndex:
    """Resolves modules to files under `root` (excluding `exclude`) and memoises their import closures."""

    root: Path
    exclude: tuple[Path, ...] = ()
    _closures: dict[str, dict[str, str]] = field(default_factory=dict)

    def closure(self, module: str) -> dict[str, str]:
        """{relative path: digest} for `module` and every project module it imports, transitively."""
        if module not in self._closures:
            found: dict[str, str] = {}
            self._visit(module, found, set())
            self._closures[module] = found
        return self._closures[module]

    def _visit(self, module: str, found: dict[str, str], seen: set[str]) -> None:
        if module in seen:
            return
        seen.add(module)
        path = self._project_file(module)
        if path is None:
            return
        found[path.relative_to(self.root).as_posix()] = file_digest(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        parent = [module.rpartition(".")[0]] if "." in module else []  # importing a.b runs a/__init__.py
        for name in parent + _imported_modules(path, package):
            self._visit(name, found, seen)

    def _project_file(self, module: str) -> Path | None:
        """The module's file under the project root, found without importing anything."""
        base = self.root.joinpath(*module.split("."))
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file() and not any(path.resolve().is_relative_to(e) for e in self.exclude):
                return path.resolve()
        return None


def _imported_modules(path: Path, package: str) -> list[str]:
    """Every module an `import` or `from … import` in the file may name (relative imports resolved)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return [n for n in names if n]

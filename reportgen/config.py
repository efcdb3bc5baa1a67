"""The configuration: a TOML file plus `--set key=value` overrides, resolved into each function's settings."""
from __future__ import annotations

import copy
import difflib
import tomllib
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportgen.constraints import Constraint, Ge, Le, problems
from reportgen.errors import UserError

# Sections read by the renderer, not by experiments: their keys and defaults.
# The renderer's own settings. figure_dpi: the most pixels per inch of a figure in the PDF; figure_jpeg_quality:
# of the pictures the PDF shows as JPEG (see printing.py).
RESERVED: dict[str, dict[str, Any]] = {"report": {"title": "Report", "course": "", "authors": [], "date": "",
                                                  "figure_dpi": 200, "figure_jpeg_quality": 90}}
# The renderer's settings that have a range, checked with everything else before a build runs.
RESERVED_RANGES: dict[str, dict[str, tuple[Constraint, ...]]] = {
    "report": {"figure_dpi": (Ge(50), Le(1200)), "figure_jpeg_quality": (Ge(1), Le(95))}}


@dataclass(frozen=True)
class Settings:
    """The whole configuration tree (read-only by convention) and where it came from."""

    tree: dict[str, Any]
    source: str

    def section(self, dotted: str) -> dict[str, Any]:
        node: Any = self.tree
        for part in dotted.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}


def load_settings(path: Path | None, overrides: list[str]) -> Settings:
    """Read `path` (if any) and apply each `a.b.c=value` override on top."""
    tree: dict[str, Any] = {}
    if path is not None:
        if not path.is_file():
            raise UserError(f"config file {path} not found; pass an existing file with --config")
        try:
            tree = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark (Windows editors) is fine
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"config file {path}: invalid TOML ({exc}); fix the file") from None
        except UnicodeDecodeError as exc:
            raise UserError(f"config file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
                            f"{exc.start}); save it as UTF-8") from None
        except OSError as exc:
            why = exc.strerror or exc
            raise UserError(f"config file {path} cannot be read ({why}); check its permissions") from None
    for item in overrides:
        _apply_override(tree, item)
    return Settings(tree, str(path) if path else "built-in defaults")


def parse_value(text: str) -> Any:
    """A TOML value (`3`, `1e-3`, `true`, `[1, 2]`, `"x"`), else the text itself as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply_override(tree: dict[str, Any], item: str) -> None:
    key, sep, raw = item.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) < 2 or not all(parts):
        raise UserError(f"--set {item!r}: expected section.key=value, e.g. --set networks.transfer.weights=none")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise UserError(f"--set {item!r}: '{part}' is a value, not a section")
    node[parts[-1]] = parse_value(raw.strip())


def resolve(defaults: dict[str, Any], section: dict[str, Any], where: str, shared: Set[str] = frozenset(),
            constraints: dict[str, tuple[Constraint, ...]] | None = None) -> dict[str, Any]:
    """The function's defaults with the section's values on top, type-checked against the defaults and checked
    against the `constraints` declared beside them (`Annotated[int, Gt(0)]`).

    `shared` names the keys that other functions of the same section take: those are theirs, not errors."""
    params = copy.deepcopy(defaults)
    for key, value in section.items():
        if isinstance(value, dict) or (key not in defaults and key in shared):
            continue  # a sub-section (e.g. networks.transfer) or a key of another function of this section
        if key not in defaults:
            known = sorted(set(defaults) | set(shared))
            hint = difflib.get_close_matches(key, known, n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else f" (settings: {', '.join(known) or 'none'})"
            raise UserError(f"[{where}] has no setting '{key}'{extra}")
        params[key] = _coerce(value, defaults[key], f"[{where}] {key}")
    for key, allowed in problems(params, constraints or {}):
        raise UserError(f"[{where}] {key} = {params[key]!r}: {allowed}")
    return params


def _coerce(value: Any, default: Any, where: str) -> Any:
    if default is None:
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        if isinstance(default, bool) and isinstance(value, bool):
            return value
    elif isinstance(default, float) and isinstance(value, (int, float)):
        return float(value)
    elif isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    elif isinstance(value, type(default)):
        return value
    raise UserError(f"{where} = {value!r}: expected a {type(default).__name__} like {default!r}")


def check_sections(settings: Settings, sections: set[str]) -> None:
    """Every table of the configuration must belong to some function or to the renderer, every key of the
    renderer's sections must be one it reads, and no key may sit in a table that only holds tables."""
    known = sections | set(RESERVED)
    for name, defaults in RESERVED.items():
        resolve(defaults, settings.section(name), name, constraints=RESERVED_RANGES.get(name))

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and path not in known:
                if not any(s.startswith(path + ".") for s in known):
                    hint = difflib.get_close_matches(path, known, n=1)
                    extra = f" (did you mean [{hint[0]}]?)" if hint else ""
                    raise UserError(f"{settings.source}: unknown section [{path}]{extra}")
                walk(value, path + ".")
            elif not isinstance(value, dict) and not prefix:
                raise UserError(f"{settings.source}: '{key}' must be inside a section, e.g. [{key}] or [report]")
            elif not isinstance(value, dict) and prefix[:-1] not in known:
                inner = sorted(s for s in known if s.startswith(prefix))
                raise UserError(f"{settings.source}: [{prefix[:-1]}] has no setting '{key}'; it only holds the "
                                f"sections {', '.join(f'[{s}]' for s in inner)}")

    walk(settings.tree, "")

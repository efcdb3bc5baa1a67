"""Where a dataset is looked for, in order, before anything is downloaded:

1. the configured path (`[data] scene15 = …`), when one is set;
2. reportgen's cache (`$XDG_CACHE_HOME/reportgen`, where `reportgen fetch` and a build's download put it);
3. the folders the user names: `$REPORTGEN_DATA` (several separated by `:`), then `[data] search = [...]`;
4. `../shared/data` beside the project (this project's own machines), found with no option.

The first place that holds a usable copy wins; when none does, the configured path (or the cache) is where the
download goes. A folder of 3. or 4. may hold the dataset under any of its usual names.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from reportgen.assets import Choice

ENVIRONMENT = "REPORTGEN_DATA"


def shared_data(project_root: Path) -> Path:
    """`../shared/data` beside the project's root."""
    return project_root.parent / "shared" / "data"


def search_folders(search: tuple[str, ...] | list[str], project_root: Path) -> list[tuple[Path, str]]:
    """The folders of steps 3 and 4, each with where it came from."""
    named = [p for p in os.environ.get(ENVIRONMENT, "").split(os.pathsep) if p.strip()]
    folders = [(Path(p).expanduser(), f"${ENVIRONMENT}") for p in named]
    folders += [(Path(p).expanduser(), "[data] search") for p in search]
    return folders + [(shared_data(project_root), "../shared/data beside the project")]


def candidates(configured: str, cached: Path, names: tuple[str, ...], folders: list[tuple[Path, str]]
               ) -> list[tuple[Path, str]]:
    """Every place to try, in order, with where it came from."""
    places = [(Path(configured).expanduser(), "the configured path")] if configured else []
    places.append((cached, "reportgen's cache"))
    places += [(folder / name, source) for folder, source in folders for name in names]
    return places


def find_data(section: str, key: str, configured: str, cached: Path, names: tuple[str, ...],
              folders: list[tuple[Path, str]],
              usable: Callable[[Path], bool]) -> Choice:
    """The first usable place, as a choice that sets the setting `key` (see the module's doc for the order)."""
    asked = str(Path(configured).expanduser()) if configured else str(cached)
    tried = candidates(configured, cached, names, folders)
    for path, source in tried:
        if usable(path):
            reason = None if str(path) == asked else f"found in {source}"
            if reason and configured:
                reason = f"nothing usable at the configured path; {reason}"
            watch = tuple(str(p) for p, _ in tried[: tried.index((path, source))])
            return Choice(section, asked, str(path), ((key, str(path)),), reason, watch=watch)
    return Choice(section, asked, asked, ((key, asked),), watch=tuple(str(p) for p, _ in tried))

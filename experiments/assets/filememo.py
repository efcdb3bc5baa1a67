"""A small on-disk memo of per-file facts (content hashes, image checks), valid while a file's size and mtime stay."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

Record = dict[str, Any]


def default_cache_dir() -> Path:
    """The user's cache folder for reportgen: `$XDG_CACHE_HOME/reportgen`, else `~/.cache/reportgen`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reportgen"


def default_memo_dir() -> Path:
    """Where the sha256 and decode-check memos of large local files live: `<user cache>/reportgen/memo`."""
    return default_cache_dir() / "memo"


def read_memo(memo_file: Path) -> dict[str, Record]:
    """The memo's entries; an absent, unreadable or malformed memo is an empty one (it is only a cache)."""
    try:
        entries = json.loads(memo_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def write_memo(memo_file: Path, entries: dict[str, Record]) -> None:
    """Write the memo atomically (temp file + rename); a cache folder that cannot be written is not an error."""
    try:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{memo_file.name}.", suffix=".tmp", dir=memo_file.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(entries, out, separators=(",", ":"), sort_keys=True)
        os.replace(tmp, memo_file)
    except OSError:
        return


def recall(entries: dict[str, Record], key: str, path: Path, compute: Callable[[Path], Record]) -> tuple[Record, bool]:
    """The memoised record of `path` under `key`, computed (and stored in `entries`) when absent or stale.

    Returns (record, computed). A record is stale when the file's size or mtime_ns differ from the stored ones.
    """
    st = path.stat()
    record = entries.get(key)
    if isinstance(record, dict) and record.get("size") == st.st_size and record.get("mtime_ns") == st.st_mtime_ns:
        return record, False
    record = {**compute(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if record.get("sha256") is None:  # the file could not be read (permissions): ask again next time
        entries.pop(key, None)
        return record, True
    entries[key] = record
    return record, True

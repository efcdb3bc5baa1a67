"""Atomic downloads with a progress line and sha256 checks; memoised sha256 of large local files."""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from experiments.assets.filememo import read_memo, recall, write_memo
from reportgen.assets import Asset, AssetError

CHUNK = 1 << 20
MEMO_NAME = "sha256.json"


def _hash_file(path: Path) -> dict[str, str]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return {"sha256": digest.hexdigest()}


def sha256_file(path: Path, memo_dir: Path | None) -> str:
    """Hex sha256 of a file, memoised by (path, size, mtime) in `memo_dir/sha256.json` (no memo when None)."""
    path = Path(path)
    if memo_dir is None:
        return _hash_file(path)["sha256"]
    memo_file = Path(memo_dir) / MEMO_NAME
    entries = read_memo(memo_file)
    record, computed = recall(entries, str(path.resolve()), path, _hash_file)
    if computed:
        write_memo(memo_file, entries)
    return str(record["sha256"])


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def _report(label: str, done: int, total: int | None, final: bool = False) -> None:
    of = f" of {_megabytes(total)} ({100 * done // total}%)" if total else ""
    sys.stderr.write(f"\r{label}: {_megabytes(done)}{of}" + ("\n" if final else ""))
    sys.stderr.flush()


def _copy_stream(url: str, out: BinaryIO, label: str, progress: bool) -> tuple[str, int, int | None]:
    """Stream `url` into `out`; returns (sha256 hex, bytes received, Content-Length or None)."""
    digest = hashlib.sha256()
    done, last = 0, 0.0
    with urllib.request.urlopen(url, timeout=60) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        while block := response.read(CHUNK):
            out.write(block)
            digest.update(block)
            done += len(block)
            if progress and time.monotonic() - last > 0.5:
                _report(label, done, total)
                last = time.monotonic()
    if progress:
        _report(label, done, total, final=True)
    return digest.hexdigest(), done, total


def _fail(name: str, dest: Path, url: str, problem: str) -> AssetError:
    return AssetError([Asset(name=name, path=str(dest), url=url, problem=problem)])


def _why(error: BaseException) -> str:
    """A download error in words: urllib's `<urlopen error [Errno -2] Name or service not known>` becomes
    `Name or service not known`."""
    reason = getattr(error, "reason", None)
    reason = getattr(reason, "strerror", None) or reason
    code = getattr(error, "code", None)
    return f"HTTP {code} {reason}" if isinstance(code, int) else str(reason or error)


def download(url: str, dest: Path, sha256_prefix: str | None, progress: bool = True, name: str | None = None) -> Path:
    """Download `url` to `dest` atomically: a temp file in dest's folder, checked, then renamed over `dest`.

    `sha256_prefix`: the expected start of the content's sha256 (torchvision's `vgg16-397923af.pth` convention),
    or None. Raises AssetError (one line: what, where from, where to) when the download fails, stops short or
    has the wrong hash; nothing is left behind then. Progress goes to stderr when `progress`.
    """
    dest = Path(dest)
    name = name or dest.name
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as error:
        raise _fail(name, dest, url, f"cannot write in {dest.parent} ({error.strerror or error})") from error
    try:
        with os.fdopen(fd, "wb") as out:
            digest, done, total = _copy_stream(url, out, f"downloading {name}", progress)
        if total is not None and done < total:
            raise _fail(name, dest, url, f"download incomplete ({_megabytes(done)} of {_megabytes(total)})")
        if sha256_prefix and not digest.startswith(sha256_prefix.lower()):
            problem = f"sha256 mismatch (downloaded file's sha256 is {digest[:12]}…, expected {sha256_prefix}…)"
            raise _fail(name, dest, url, problem)
        os.replace(tmp, dest)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        raise _fail(name, dest, url, f"download failed ({_why(error)})") from error
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest

"""Checking data files one by one: is it an image, does it decode, what is its content hash, size and mode."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


class DataError(ValueError):
    """A dataset is missing, incomplete or malformed; the message (one line) says what, which path, what to do."""


@dataclass(frozen=True)
class Skipped:
    """A file left out of a dataset, and why ("not an image file (.txt)", "truncated image ...")."""

    path: Path
    reason: str


DECODE_ERRORS = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def decode_error_reason(error: BaseException) -> str:
    """Why an image did not decode, in a few words ("truncated image (...)", "cannot decode image (...)")."""
    if isinstance(error, UnidentifiedImageError):
        return "cannot decode image (unknown format or corrupt header)"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{'truncated image' if 'truncated' in text.lower() else 'cannot decode image'} ({text})"


def _decode_problem(data: bytes) -> tuple[str | None, dict[str, Any]]:
    """(reason the bytes are not a usable image or None, {width, height, mode}) by decoding them fully."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return None, {"width": image.width, "height": image.height, "mode": image.mode}
    except DECODE_ERRORS as error:
        return decode_error_reason(error), {}


def inspect_file(path: Path) -> dict[str, Any]:
    """sha256 of the content and, for an image file, whether it decodes: {sha256, reason, width, height, mode}.

    `reason` is None for a usable image, else why it is skipped: an empty file, a file without an image
    suffix, or bytes that do not decode (corrupt, truncated).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as error:  # no permission, a file that vanished, an I/O error: this file is skipped
        return {"sha256": None, "reason": f"unreadable ({error.strerror or error})"}
    record: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest(), "reason": None}
    suffix = Path(path).suffix.lower()
    if not data:
        record["reason"] = "empty file (0 bytes)"
    elif suffix not in IMAGE_SUFFIXES:
        record["reason"] = f"not an image file ({suffix or 'no suffix'})"
    else:
        reason, facts = _decode_problem(data)
        record.update(facts, reason=reason)
    return record


def visible_entries(folder: Path) -> list[Path]:
    """The folder's entries, sorted by name, without hidden ones (`.DS_Store`, `._x.jpg`, `__MACOSX`)."""
    visible = (p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX")
    return sorted(visible, key=lambda p: p.name)

"""Weights files: torchvision's hub-cache file for a weights enum entry, checks, and reading/matching state dicts."""
from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from experiments.assets.download import sha256_file

TRUNCATION_SLACK = 4096  # bytes: torchvision's `_file_size` meta is in MiB rounded to 3 decimals (about ±0.5 kB)


def hub_file(url: str) -> Path:
    """Where torchvision keeps the file of `url`: `$TORCH_HOME/hub/checkpoints/<last part of the url>`."""
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def hash_prefix(file_name: str) -> str | None:
    """The sha256 prefix in a torchvision file name (`vgg16-397923af.pth` -> `397923af`), None if there is none."""
    match = re.search(r"-([0-9a-f]{6,64})\.[A-Za-z]+$", file_name)
    return match.group(1) if match else None


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


def cached_weights_problem(path: Path, expected_mib: float | None, memo_dir: Path | None) -> str | None:
    """What is wrong with a torchvision cache file: missing, truncated (by the enum's recorded size), or a
    sha256 that does not start with the prefix in its name; None when sound. The hash is memoised."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    expected = round(expected_mib * 2**20) if expected_mib else None
    if expected and size < expected - TRUNCATION_SLACK:
        return f"truncated ({_mb(size)} of {_mb(expected)} MB)"
    prefix = hash_prefix(path.name)
    if prefix:
        digest = sha256_file(path, memo_dir)
        if not digest.startswith(prefix):
            return f"sha256 mismatch (file is not {path.name}: its sha256 starts {digest[:8]}, expected {prefix})"
    return None


def weights_file_problem(path: Path) -> str | None:
    """Cheap check of a local weights file: missing, empty, or not in torch.save's format (zip or pickle)."""
    if not path.is_file():
        return "missing"
    with path.open("rb") as f:
        head = f.read(4)
    if not head:
        return "empty file (0 bytes)"
    if head == b"PK\x03\x04" and not zipfile.is_zipfile(path):
        return f"truncated or damaged ({TRUNCATED})"
    if not (zipfile.is_zipfile(path) or head[:1] == b"\x80"):
        return "not a PyTorch weights file (torch.save format expected)"
    return None


TRUNCATED = "the archive's end is missing: an incomplete download or copy; copy or download it again"


def why_not_loadable(error: BaseException) -> str:
    """torch.load's error in a few words, whole sentences only: truncated, refused by the safe loader (and why),
    or the first sentence of the message."""
    text = " ".join(str(error).split())
    if "central directory" in text or isinstance(error, EOFError) or "unexpected end" in text.lower():
        return f"truncated or damaged ({TRUNCATED})"
    refused = re.search(r"WeightsUnpickler error: (.+?)(?= Check the documentation|\. |\.$|$)", text)
    if refused:
        return f"not weights that torch loads safely (its weights_only loader stopped: {refused.group(1)})"
    if not isinstance(error, (RuntimeError, OSError)) or "invalid load key" in text:  # garbage inside the pickle
        return f"not a file that torch.save wrote: its bytes do not decode ({type(error).__name__})"
    first = re.split(r"(?<=[.!?]) ", text, maxsplit=1)[0] if text else type(error).__name__
    return first if len(first) <= 200 else first[:200].rsplit(" ", 1)[0] + " …"


def _unwrap(obj: object) -> object:
    """A state dict nested in a training checkpoint ({"state_dict": ...}, {"model": ...}) or saved from
    DataParallel ("module." prefixes) becomes the plain state dict."""
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model", "state_dict_ema"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
        if obj and all(isinstance(k, str) and k.startswith("module.") for k in obj):
            obj = {k.removeprefix("module."): v for k, v in obj.items()}
    return obj


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in `path`, loaded with `weights_only=True` on the CPU; ValueError saying why if it is none."""
    try:
        with warnings.catch_warnings():  # torch's warnings about odd pickle protocols: the error below says it
            warnings.simplefilter("ignore")
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 — arbitrary bytes fail in arbitrary ways (IndexError, KeyError…)
        raise ValueError(f"not a loadable state dict: {why_not_loadable(error)}") from error
    state = _unwrap(obj)
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"not a state dict (it holds a {type(obj).__name__}, not names -> tensors)")
    return state


def _short(keys: set[str] | list[str], limit: int = 3) -> str:
    keys = sorted(keys)
    more = f" … (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def state_dict_mismatch(module: nn.Module, state: dict[str, torch.Tensor]) -> str | None:
    """Why `state` does not fit `module` (missing/unexpected keys, shapes, shortened), None if it does.
    BatchNorm's `num_batches_tracked` counters may be absent (older checkpoints)."""
    own = module.state_dict()
    missing = {k for k in own if k not in state and not k.endswith("num_batches_tracked")}
    unexpected = set(state) - set(own)
    shapes = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items() if k in own
              and v.shape != own[k].shape]
    parts = []
    if missing:
        parts.append(f"missing keys: {_short(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {_short(unexpected)}")
    if shapes:
        parts.append(f"shape mismatch (file vs model): {_short(shapes, 2)}")
    return "; ".join(parts) or None


def num_classes_in(state: dict[str, torch.Tensor], classifier: str) -> int | None:
    """Number of classes of a state dict, read from its classifier's weight (Linear or 1×1 conv)."""
    weight = state.get(f"{classifier}.weight")
    return int(weight.shape[0]) if weight is not None else None

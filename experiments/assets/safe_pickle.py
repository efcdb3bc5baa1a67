"""Reading a pickled object array out of an .npz without running code: an unpickler that admits only numpy's
array and scalar constructors, then a check that what came out is a dict of int -> str.

`np.load(allow_pickle=True)` would call any function the file names (`os.system`, `eval`…): a crafted .npz runs
code on load. Here every global the pickle names must be on `ALLOWED` (the constructors numpy itself uses to
pickle an object array and its string scalars; torch's `weights_only` loader admits the same ones), else the read
stops with UnsafePickle before anything is called.
"""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

ALLOWED = frozenset({
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
})


class UnsafePickle(ValueError):
    """The pickle names something other than numpy's array constructors, or holds more than int -> str."""


class _Restricted(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D102 — pickle's hook
        if (module, name) not in ALLOWED:
            raise UnsafePickle(f"it asks to run {module}.{name}, which a label map never needs (refused)")
        return super().find_class(module, name)


def _read_header(stream) -> None:
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    if not dtype.hasobject or shape != ():
        raise UnsafePickle(f"it is {dtype} {shape}, expected a 0-d object array holding a dict")


def read_int_str_dict(archive: zipfile.ZipFile, member: str) -> dict[int, str]:
    """The dict of int -> str held by the 0-d object array `member` (an .npy inside the .npz) — or UnsafePickle."""
    with archive.open(member) as raw:
        stream = io.BytesIO(raw.read())
    _read_header(stream)
    try:
        value = _Restricted(stream).load()
    except UnsafePickle:
        raise
    except Exception as error:  # noqa: BLE001 — any malformed stream: say so in one line
        raise UnsafePickle(f"unreadable pickle ({type(error).__name__}: {error})") from None
    held = value.item() if isinstance(value, np.ndarray) and value.shape == () else value
    if not isinstance(held, dict) or not all(
            isinstance(k, (int, np.integer)) and isinstance(v, str) for k, v in held.items()):
        raise UnsafePickle(f"it holds a {type(held).__name__}, expected a dict of class index -> name")
    return {int(k): str(v) for k, v in held.items()}

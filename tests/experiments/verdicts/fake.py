"""Stand-ins for experiments' results in verdict tests: only the fields a verdict reads, as attributes."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def fake(value: Any) -> Any:
    """`value` with every dict turned into an object whose attributes are its keys (lists kept, recursively)."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: fake(v) for k, v in value.items()})
    if isinstance(value, list):
        return [fake(v) for v in value]
    return value

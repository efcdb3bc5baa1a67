"""What happened to one experiment in a build, as a type rather than strings spelled out at each use."""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """An experiment's state after a build; a str, so that JSON and old manifests read it unchanged."""

    RAN = "ran"
    CACHED = "cached"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def computed(self) -> bool:
        """Its result is in the cache (ran in this build or an earlier one)."""
        return self in (Status.RAN, Status.CACHED)

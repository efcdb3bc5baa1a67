"""The worker side of a parallel build: it runs only the sources the client planned with."""
from __future__ import annotations

import pytest

from reportgen import UserError
from reportgen.build import prepare, settings_for
from reportgen.worker import BuildPlugin


def test_a_worker_refuses_to_run_sources_that_differ_from_the_clients(tiny) -> None:
    tiny.purge()
    options = tiny.options()
    planned, context = prepare(tiny.project, options, settings_for(tiny.project, options))
    BuildPlugin("b1", str(tiny.root), tiny.pkg, context).check_sources(planned["numbers"])  # the same files
    tiny.edit(tiny.module("helpers"), "FACTOR = 3", "FACTOR = 4")  # numbers imports helpers
    with pytest.raises(UserError, match=rf"worker's copy of {tiny.pkg}/helpers.py differs from the client's"):
        BuildPlugin("b2", str(tiny.root), tiny.pkg, context).check_sources(planned["numbers"])
    BuildPlugin("b3", str(tiny.root), tiny.pkg, context).check_sources(planned["ramp"])  # ramp does not import it

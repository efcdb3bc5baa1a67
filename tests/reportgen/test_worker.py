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
    BuildPlugin("b1", str(tiny.root), tiny.pkg, context).check_like_client(planned["numbers"])  # the same files
    tiny.edit(tiny.module("helpers"), "FACTOR = 3", "FACTOR = 4")  # numbers imports helpers
    with pytest.raises(UserError, match=rf"worker's copy of {tiny.pkg}/helpers.py differs from the client's"):
        BuildPlugin("b2", str(tiny.root), tiny.pkg, context).check_like_client(planned["numbers"])
    BuildPlugin("b3", str(tiny.root), tiny.pkg, context).check_like_client(planned["ramp"])  # ramp does not import it


def test_a_worker_refuses_other_library_versions_or_a_missing_gpu(tiny, monkeypatch) -> None:
    import dataclasses

    from reportgen import worker

    tiny.purge()
    options = tiny.options()
    planned, context = prepare(tiny.project, options, settings_for(tiny.project, options))
    numbers = planned["numbers"]
    other = dataclasses.replace(numbers, parts={**numbers.parts, "versions": {**numbers.parts["versions"],
                                                                               "numpy": "0.0.1"}})
    with pytest.raises(UserError, match=r"this worker has numpy .* \(client: 0.0.1\); install the client's"):
        BuildPlugin("b", str(tiny.root), tiny.pkg, context).check_like_client(other)
    monkeypatch.setattr(worker, "_cuda_usable", lambda: False)
    cuda = dataclasses.replace(context, device="cuda")
    with pytest.raises(UserError, match="runs on CUDA and this worker has no usable CUDA GPU"):
        BuildPlugin("b", str(tiny.root), tiny.pkg, cuda).check_like_client(numbers)

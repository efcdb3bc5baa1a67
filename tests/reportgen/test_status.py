from reportgen.status import Status


def test_only_ran_and_cached_are_computed() -> None:
    assert [s for s in Status if s.computed] == [Status.RAN, Status.CACHED]


def test_a_status_is_its_string() -> None:
    assert Status("failed") is Status.FAILED and Status.SKIPPED == "skipped" and f"{Status.RAN}" == "ran"

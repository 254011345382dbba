"""`agent.warmup.warm_up`: every part is tried, one that fails is reported, none raises."""

from __future__ import annotations

from agent.warmup import warm_up


def test_a_part_that_fails_is_reported_and_the_next_ones_still_run(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    ran = []

    def broken() -> None:
        raise RuntimeError("no luck")

    report = warm_up(extra=[("broken", broken), ("after", lambda: ran.append("after"))])

    assert str(report["computer"]).startswith("failed: No display: DISPLAY is not set")
    assert report["broken"] == "failed: no luck"
    assert ran == ["after"]
    for part in ("engine", "model client", "image encoders", "after"):
        assert isinstance(report[part], float), report


def test_without_the_desktop_it_does_not_touch_the_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)

    report = warm_up(desktop=False)

    assert set(report) == {"engine", "model client", "image encoders"}
    assert all(isinstance(seconds, float) for seconds in report.values()), report


def test_it_warms_the_model_client_from_a_thread_that_runs_an_event_loop():
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def from_async_code():
        return warm_up(desktop=False)

    # A thread of its own for the loop: this one may run the browser tests' loop already.
    with ThreadPoolExecutor(max_workers=1) as pool:
        report = pool.submit(asyncio.run, from_async_code()).result()
    assert isinstance(report["model client"], float), report

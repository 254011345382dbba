"""A worker warms up (imports, the desktop, the system description) before it takes work, and a
warm-up that cannot do everything (no display) or breaks does not keep the worker from starting."""

from __future__ import annotations

import pytest

from runs import worker_hooks
from runs.models import Machine
from tests.fixtures.deployment import Deployment, display_of


@pytest.fixture(scope="module")
def web(tmp_path_factory, fake_model):
    """A web tier with no display; each test starts its own worker beside it."""
    deployment = Deployment(tmp_path_factory.mktemp("warm-up"), fake_model)
    # No worker inherits the test process's display unless a test gives it one.
    deployment.env = {k: v for k, v in deployment.env.items() if k not in display_of(deployment.env)}
    deployment.serve(no_worker=True, headless=True)
    try:
        yield deployment
    finally:
        deployment.stop()


@pytest.mark.desktop
def test_a_worker_warms_up_its_desktop_before_it_registers_its_machine(web, desktop):
    web.worker("warm", display_env=desktop.env)  # returns once the machine is online

    log = web.log("warm")
    assert "Warmed up in" in log, log[-3000:]
    assert "Warm-up of the" not in log, log[-3000:]  # no part failed


def test_a_worker_without_a_display_starts_all_the_same(web):
    web.worker("no-display")

    assert web.machine_online("no-display")
    log = web.log("no-display")
    assert "Warm-up of the computer failed" in log and "DISPLAY is not set" in log, log[-3000:]
    assert "Warmed up in" in log, log[-3000:]


@pytest.mark.django_db(transaction=True)
def test_a_warm_up_that_breaks_does_not_keep_the_worker_from_registering(monkeypatch, settings):
    def broken(**kwargs):
        raise RuntimeError("a bug in the warm-up")

    monkeypatch.setattr("agent.warmup.warm_up", broken)
    monkeypatch.setattr(worker_hooks, "_machine_id", None)
    monkeypatch.setattr(worker_hooks, "_sweeper", None)

    worker_hooks.on_worker_ready()
    try:
        machine = Machine.objects.get(name=settings.MACHINE_NAME)
        assert machine.last_heartbeat is not None and worker_hooks._machine_id == machine.pk
    finally:
        worker_hooks.on_worker_shutdown()

"""What a worker does about its machine row on the way out."""

import threading

import pytest

from runs import worker_hooks
from runs.execution import process
from runs.models import Machine
from runs.services import machine_register

pytestmark = pytest.mark.django_db(transaction=True)  # the shutdown hook closes its connection


@pytest.fixture
def shutdown_state(monkeypatch):
    """This test's own process state: shutting down must not leak into the tests after it."""
    monkeypatch.setattr(process, "_shutdown", threading.Event())
    monkeypatch.setattr(process, "_reason", "")
    monkeypatch.setattr(worker_hooks, "_going_offline", None)


def test_a_worker_shutting_down_stays_offline_though_its_heartbeat_still_ticks(monkeypatch, shutdown_state):
    machine = machine_register()
    monkeypatch.setattr(worker_hooks, "_machine_id", machine.pk)
    worker_hooks._heartbeat()
    assert Machine.objects.get(pk=machine.pk).last_heartbeat is not None

    worker_hooks.on_worker_shutting_down(sig="SIGTERM")
    worker_hooks.on_worker_shutting_down(sig="SIGTERM")  # a second signal: one offline write, not two
    worker_hooks._heartbeat()  # the sweeper's next tick, before the process has exited
    worker_hooks.on_worker_shutdown()  # waits for the offline write
    assert Machine.objects.get(pk=machine.pk).last_heartbeat is None
    assert process.shutdown_reason()

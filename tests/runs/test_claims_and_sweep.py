"""Atomic claims, the sweeper and confirmations, against the database the suite runs on
(SQLite by default, PostgreSQL with `-m scaled`)."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from agent.sink import ConfirmationRequest
from events.models import Event
from runs import execution, services
from runs.models import Confirmation, Machine, Run
from tests.fixtures.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.scaled]


def in_threads(count, target):
    results, barrier = [None] * count, threading.Barrier(count)

    def work(n):
        try:
            barrier.wait()
            results[n] = target(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_only_one_of_many_concurrent_claims_gets_the_desktop():
    machine = Machine.objects.create(name="claims")
    won = in_threads(6, lambda n: execution.desktop_claim(machine_id=machine.pk, holder=f"run_{n}"))
    assert won.count(True) == 1
    holder = Machine.objects.get(pk=machine.pk).desktop_holder
    assert holder == f"run_{won.index(True)}"
    assert not execution.desktop_release(machine_id=machine.pk, holder="run_other")
    assert execution.desktop_release(machine_id=machine.pk, holder=holder)


def test_an_older_waiting_run_goes_first(settings):
    machine = Machine.objects.create(name="fifo")
    now = timezone.now()
    older = Run.objects.create(
        scenario_id="x",
        auth_provider="api-key",
        model="m",
        machine=machine,
        claim_token="a",
        heartbeat_at=now,
        created_at=now - timezone.timedelta(seconds=5),
    )
    newer = Run.objects.create(
        scenario_id="x",
        auth_provider="api-key",
        model="m",
        machine=machine,
        claim_token="b",
        heartbeat_at=now,
        created_at=now,
    )
    assert not execution.desktop_claim(machine_id=machine.pk, holder=newer.id, queued_before=newer)
    # An older queued run whose worker died (stale heartbeat) does not block the line.
    Run.objects.filter(pk=older.pk).update(heartbeat_at=now - timezone.timedelta(seconds=600))
    assert execution.desktop_claim(machine_id=machine.pk, holder=newer.id, queued_before=newer)


def test_a_duplicated_task_message_executes_the_run_once(monkeypatch, scenarios_dir, settings):
    from runs.tasks import run_execute_task

    monkeypatch.setattr(run_execute_task, "delay_on_commit", lambda run_id: None)
    executed, returned = [], []

    def fake_execute(run_id, token, machine):
        executed.append(token)
        # Still executing while the duplicate deliveries arrive: they are turned away, not queued.
        wait_until(lambda: len(returned) == 2, 20, what="the two duplicate deliveries to return")
        return services._finish(run_id, token, status="succeeded", summary="ok", error="", reason="", usage={})

    def deliver(n):
        result = services.run_execute(run_id=run.id)
        returned.append(result)
        return result

    monkeypatch.setattr(services, "_execute_claimed", fake_execute)
    run = services.run_create(scenario_id="shell-task", auth_provider="api-key")
    results = in_threads(3, deliver)
    assert sorted(results, key=str) == [None, None, "succeeded"]
    assert len(executed) == 1
    assert Machine.objects.get(name=settings.MACHINE_NAME).desktop_holder == ""
    # A message delivered again after the run ended does nothing either.
    assert services.run_execute(run_id=run.id) is None


def test_the_sweep_interrupts_stale_runs_frees_their_desktop_and_leaves_live_ones(settings):
    settings.HEARTBEAT_STALE_SECONDS = 30
    machine = Machine.objects.create(name="sweep")
    old = timezone.now() - timezone.timedelta(seconds=120)
    stale = Run.objects.create(
        scenario_id="x",
        auth_provider="api-key",
        model="m",
        status="running",
        machine=machine,
        claim_token="t",
        started_at=old,
        heartbeat_at=old,
    )
    never_beat = Run.objects.create(
        scenario_id="x",
        auth_provider="api-key",
        model="m",
        status="running",
        started_at=old,
        heartbeat_at=None,
        created_at=old,
    )
    live = Run.objects.create(
        scenario_id="x",
        auth_provider="api-key",
        model="m",
        status="running",
        started_at=old,
        heartbeat_at=timezone.now(),
    )
    waiting_orphan = Run.objects.create(
        scenario_id="x",
        auth_provider="api-key",
        model="m",
        status="queued",
        claim_token="w",
        heartbeat_at=old,
        created_at=old,
    )
    unpicked = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status="queued", created_at=old)
    Machine.objects.filter(pk=machine.pk).update(
        desktop_holder=stale.id, desktop_claimed_at=old, desktop_heartbeat_at=old
    )

    result = services.runs_sweep()

    assert set(result["interrupted"]) == {stale.id, never_beat.id, waiting_orphan.id}
    for run in (stale, never_beat, waiting_orphan):
        run.refresh_from_db()
        assert run.status == "interrupted" and "heartbeats" in run.status_reason and run.finished_at
        last = Event.objects.filter(owner_id=run.id).order_by("-seq").first()
        assert last.type == "status" and last.data["status"] == "interrupted"
    assert Run.objects.get(pk=live.pk).status == "running"
    assert Run.objects.get(pk=unpicked.pk).status == "queued"  # never picked up: it waits for a worker
    assert Machine.objects.get(pk=machine.pk).desktop_holder == ""
    assert services.runs_sweep()["interrupted"] == []  # nothing is swept twice


def test_a_run_that_lost_its_claim_notices_and_cannot_overwrite_the_verdict():
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status="running", claim_token="mine")
    sink = execution.DjangoSink(
        execution.ExecutionOwner(
            model=Run,
            pk=run.id,
            running_status="running",
            waiting_status="waiting_confirmation",
            claim={"claim_token": "mine"},
        )
    )
    assert not sink.should_stop()
    Run.objects.filter(pk=run.pk).update(status="interrupted")
    sink.heartbeat()
    assert sink.should_stop()
    assert services._finish(run.id, "mine", status="succeeded", summary="", error="", reason="", usage={}) is None
    assert Run.objects.get(pk=run.pk).status == "interrupted"


def _waiting_sink(run):
    return execution.DjangoSink(
        execution.ExecutionOwner(
            model=Run,
            pk=run.id,
            running_status="running",
            waiting_status="waiting_confirmation",
            claim={"claim_token": "c"},
        ),
        confirmation_timeout_s=10,
    )


def _confirm_in_background(sink, request):
    answer = {}
    thread = threading.Thread(target=lambda: (answer.setdefault("value", sink.confirm(request)), connection.close()))
    thread.start()
    wait_until(lambda: Confirmation.objects.filter(owner_id=sink.owner.pk).exists(), 5, what="the confirmation row")
    return thread, answer


def test_a_confirmation_approves_one_exact_action_once(api):
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status="running", claim_token="c")
    request = ConfirmationRequest.build("shell_command", {"command": "sudo ls"}, "privilege escalation")
    thread, answer = _confirm_in_background(_waiting_sink(run), request)
    assert api.get(f"/api/runs/{run.id}").json()["status"] == "waiting_confirmation"

    wrong = api.post(f"/api/runs/{run.id}/confirm", {"choice": "confirmed", "fingerprint": "0" * 64}, format="json")
    assert wrong.status_code == 409
    right = api.post(
        f"/api/runs/{run.id}/confirm", {"choice": "confirmed", "fingerprint": request.fingerprint}, format="json"
    )
    assert right.status_code == 200
    thread.join(5)
    assert answer["value"] == "confirmed"
    assert Confirmation.objects.get(owner_id=run.id).status == "used"
    assert Run.objects.get(pk=run.pk).status == "running"
    again = api.post(f"/api/runs/{run.id}/confirm", {"choice": "confirmed"}, format="json")
    assert again.status_code == 409


def test_a_stop_while_waiting_for_a_confirmation_declines_it():
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status="running", claim_token="c")
    request = ConfirmationRequest.build("gui_action", {"type": "click"}, "sensitive")
    thread, answer = _confirm_in_background(_waiting_sink(run), request)
    services.run_stop(run_id=run.id)
    thread.join(5)
    assert answer["value"] == "declined"
    assert Confirmation.objects.get(owner_id=run.id).status == "expired"

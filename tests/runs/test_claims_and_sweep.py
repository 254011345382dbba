"""Atomic claims, the sweeper and confirmations, against the database the suite runs on
(SQLite by default, PostgreSQL with `-m scaled`)."""

import threading

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from agent.sink import ConfirmationRequest
from events.models import Event
from runs import dispatch, services
from runs.execution.claims import desktop_claim, desktop_release
from runs.models import Confirmation, Machine, Run
from tests.fixtures.sinks import run_sink
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
    won = in_threads(6, lambda n: desktop_claim(machine_id=machine.pk, holder=f"run_{n}"))
    assert won.count(True) == 1
    holder = Machine.objects.get(pk=machine.pk).desktop_holder
    assert holder == f"run_{won.index(True)}"
    assert not desktop_release(machine_id=machine.pk, holder="run_other")
    assert desktop_release(machine_id=machine.pk, holder=holder)


@pytest.fixture
def sent(monkeypatch):
    """Task messages the dispatcher sends: (run id, queue)."""
    from runs.tasks import run_execute_task

    messages = []
    monkeypatch.setattr(
        run_execute_task, "apply_async", lambda args, queue: messages.append((args[0], queue)), raising=False
    )
    return messages


def _queued(created_at, **fields):
    return Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", created_at=created_at, **fields)


@pytest.fixture
def only_these_machines():
    """Machines other than the test's own (a worker another test started, still heartbeating) are
    made busy for the test, so no dispatcher, in this process or in theirs, hands them the test's runs."""
    holding = timezone.now() + timezone.timedelta(hours=1)  # a claim that never goes stale meanwhile
    # The suite's own worker registers its machine again at its next heartbeat when an earlier
    # test's flush removed the row: it is made busy from the start too.
    Machine.objects.get_or_create(name=settings.MACHINE_NAME)
    others = list(Machine.objects.values_list("pk", flat=True))
    Machine.objects.filter(pk__in=others).update(desktop_holder="test-hold", desktop_heartbeat_at=holding)
    yield
    Machine.objects.filter(pk__in=others, desktop_holder="test-hold").update(
        desktop_holder="", desktop_heartbeat_at=None
    )


def _handed(runs) -> list[str | None]:
    """Which machine each run was handed to (by this process's dispatcher or another one's)."""
    names = dict(Run.objects.filter(pk__in=[r.pk for r in runs]).values_list("pk", "machine__name"))
    return [names[r.pk] for r in runs]


def test_the_dispatcher_hands_each_free_machine_the_oldest_run_one_at_a_time(sent, only_these_machines):
    now = timezone.now()
    alpha = Machine.objects.create(name="alpha", last_heartbeat=now)
    Machine.objects.create(name="beta", last_heartbeat=now)
    Machine.objects.create(name="gone", last_heartbeat=now - timezone.timedelta(hours=1))
    runs = [_queued(now - timezone.timedelta(seconds=10 - n)) for n in range(4)]
    pinned = _queued(now - timezone.timedelta(seconds=60), requested_machine="gone")

    dispatch.runs_dispatch()
    assert _handed(runs) == ["alpha", "beta", None, None]  # the pinned run waits for its machine
    assert all(Run.objects.get(pk=r.pk).dispatched_at for r in runs[:2])
    dispatch.runs_dispatch()
    assert _handed(runs) == ["alpha", "beta", None, None]  # each machine has its run on the way
    assert _handed([pinned]) == [None]

    # alpha's run ends: alpha gets the next one in creation order.
    Run.objects.filter(pk=runs[0].pk).update(status="succeeded")
    dispatch.runs_dispatch()
    assert _handed(runs)[2] == "alpha"
    # beta's worker goes away before picking its run up: the run goes back to the line, keeps its
    # place, and goes to the next free machine.
    Machine.objects.filter(name="beta").update(last_heartbeat=None)
    Run.objects.filter(pk=runs[2].pk).update(status="succeeded")
    dispatch.runs_dispatch()
    assert _handed(runs)[1] == "alpha" and Run.objects.get(pk=runs[1].pk).machine_id == alpha.pk


def test_a_run_in_the_line_says_which_machine_it_waits_for_and_whether_it_is_offline(sent, only_these_machines):
    now = timezone.now()
    beta = Machine.objects.create(name="beta", last_heartbeat=now - timezone.timedelta(hours=1))
    pinned = _queued(now - timezone.timedelta(seconds=1), requested_machine="beta")
    anywhere = _queued(now)

    dispatch.runs_dispatch()
    pinned.refresh_from_db()
    assert pinned.status == "queued" and pinned.machine_id is None
    assert pinned.status_reason.startswith("Waiting for machine beta, which is offline")
    assert Run.objects.get(pk=anywhere.pk).status_reason  # it says what it waits for too

    # beta comes back: it takes the oldest run it may, the pinned one; the other waits for a free machine.
    Machine.objects.filter(pk=beta.pk).update(last_heartbeat=timezone.now())
    dispatch.runs_dispatch()
    assert _handed([pinned, anywhere]) == ["beta", None]
    assert Run.objects.get(pk=pinned.pk).status_reason == ""  # handed out: no longer waiting
    assert Run.objects.get(pk=anywhere.pk).status_reason == "Waiting for a free machine."


def test_a_message_no_worker_picked_up_is_sent_again(sent, only_these_machines):
    now = timezone.now()
    machine = Machine.objects.create(name="lossy", last_heartbeat=now)
    run = _queued(now)
    dispatch.runs_dispatch()
    first = Run.objects.get(pk=run.pk).dispatched_at
    assert _handed([run]) == ["lossy"] and first is not None
    dispatch.runs_dispatch()
    assert Run.objects.get(pk=run.pk).dispatched_at == first  # sent just now: not again
    late = now - timezone.timedelta(seconds=dispatch.REDISPATCH_SECONDS + 1)
    Run.objects.filter(pk=run.pk).update(dispatched_at=late)
    dispatch.runs_dispatch()
    assert Run.objects.get(pk=run.pk).dispatched_at > late  # sent again, to the machine's own queue
    assert not sent or sent[-1] == (run.id, dispatch.machine_queue(machine.name))
    # Picked up meanwhile (a worker holds it): never sent again.
    Run.objects.filter(pk=run.pk).update(dispatched_at=late, claim_token="mine", heartbeat_at=now)
    dispatch.runs_dispatch()
    assert Run.objects.get(pk=run.pk).dispatched_at == late


def test_queue_names_are_safe_for_every_broker():
    assert dispatch.machine_queue("alpha-1") == "deskhand-machine-alpha-1"
    odd = dispatch.machine_queue("desk/top 2.example")
    assert odd.startswith("deskhand-machine-desk-top-2-example-") and "/" not in odd and "." not in odd
    assert dispatch.machine_queue("desk/top") != dispatch.machine_queue("desk.top")


def test_a_duplicated_task_message_executes_the_run_once(monkeypatch, scenarios_dir, settings, sent):
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
    machine = services.machine_register()
    run = services.run_create(scenario_id="shell-task", auth_provider="api-key")
    assert Run.objects.get(pk=run.pk).machine_id == machine.pk  # handed out once the creation committed
    assert [run_id for run_id, _ in sent] == [run.id]
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

    assert set(result["interrupted"]) == {stale.id, never_beat.id}
    assert result["released"] == 1  # the queued run a dead worker had picked up: back in the line
    waiting_orphan.refresh_from_db()
    assert (waiting_orphan.status, waiting_orphan.claim_token, waiting_orphan.machine_id) == ("queued", "", None)
    for run in (stale, never_beat):
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
    sink = run_sink(run, claim_token="mine")
    assert not sink.should_stop()
    Run.objects.filter(pk=run.pk).update(status="interrupted")
    sink.heartbeat()
    sink.writer.flush()  # a beat is a queued write, like the events
    assert sink.should_stop()
    assert services._finish(run.id, "mine", status="succeeded", summary="", error="", reason="", usage={}) is None
    assert Run.objects.get(pk=run.pk).status == "interrupted"
    sink.close()  # ends its writer thread, and that thread's database connection


def _confirm_in_background(sink, request):
    answer = {}

    def confirm():
        try:
            answer["value"] = sink.confirm(request)
        finally:
            sink.close()  # its writer thread's database connection, and this thread's, end here
            connection.close()

    thread = threading.Thread(target=confirm)
    thread.start()
    wait_until(lambda: Confirmation.objects.filter(owner_id=sink.owner.pk).exists(), 5, what="the confirmation row")
    return thread, answer


def test_a_confirmation_approves_one_exact_action_once(api):
    run = Run.objects.create(scenario_id="x", auth_provider="api-key", model="m", status="running", claim_token="c")
    request = ConfirmationRequest.build("shell_command", {"command": "sudo ls"}, "privilege escalation")
    thread, answer = _confirm_in_background(run_sink(run, confirmation_timeout_s=10), request)
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
    thread, answer = _confirm_in_background(run_sink(run, confirmation_timeout_s=10), request)
    services.run_stop(run_id=run.id)
    thread.join(5)
    assert answer["value"] == "declined"
    assert Confirmation.objects.get(owner_id=run.id).status == "expired"

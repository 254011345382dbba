import pytest

TEST_SCENARIOS = {
    "shell-task": """
id: shell-task
title: A shell task
route: cli
instruction: "Do this in the shell: ${what}"
input:
  type: object
  properties:
    what: {type: string, default: "nothing"}
  additionalProperties: false
limits: {maxTurns: 3, timeoutSeconds: 60}
""",
    "quick-timeout": """
id: quick-timeout
title: Runs out of time
route: cli
instruction: wait a long time
limits: {maxTurns: 5, timeoutSeconds: 5}
""",
    "type-secret": """
id: type-secret
title: Types a password into the editor
route: desktop
instruction: "Click into the text editor and type ${password} exactly, nothing else."
input:
  type: object
  required: [password]
  properties:
    password: {type: string, format: password, minLength: 12}
  additionalProperties: false
limits: {maxTurns: 5, timeoutSeconds: 60}
""",
    "with-form": """
id: with-form
title: Needs input
route: cli
instruction: "Send ${count} messages to ${email}"
input:
  type: object
  required: [email]
  properties:
    email: {type: string, pattern: "^[^@]+@[^@]+$"}
    count: {type: integer, minimum: 1, maximum: 5, default: 1}
  additionalProperties: false
""",
}


@pytest.fixture
def scenarios_dir(settings, tmp_path):
    """The shipped scenarios plus small test ones (the worker never reads the folder: a run keeps a copy)."""
    import shutil

    for source in settings.SCENARIOS_DIR.glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    for name, text in TEST_SCENARIOS.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    settings.SCENARIOS_DIR = tmp_path
    return tmp_path


@pytest.fixture
def no_enqueue(monkeypatch, django_capture_on_commit_callbacks):
    """These tests check the API alone: nothing reaches a broker. The dispatcher runs at once (these
    tests' transactions never commit) and the runs it hands out are recorded."""
    from runs import dispatch, services
    from runs.tasks import run_execute_task

    sent = []
    monkeypatch.setattr(run_execute_task, "apply_async", lambda args, queue: sent.append(args[0]), raising=False)

    def dispatch_now():
        with django_capture_on_commit_callbacks(execute=True):
            dispatch.runs_dispatch()

    monkeypatch.setattr(services, "runs_dispatch_on_commit", dispatch_now)
    return sent


@pytest.fixture
def machine_online(db, settings):
    """This machine, with a live worker as far as the dispatcher can tell."""
    from django.utils import timezone

    from runs.models import Machine

    return Machine.objects.create(name=settings.MACHINE_NAME, last_heartbeat=timezone.now())

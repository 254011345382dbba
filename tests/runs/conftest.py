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

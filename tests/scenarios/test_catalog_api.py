"""GET /api/scenarios: what the files in the scenarios folder describe, broken ones included."""

import pytest

from scenarios.catalog import catalog_summary, load_catalog

pytestmark = [pytest.mark.django_db, pytest.mark.portable]

SHIPPED = {
    "notepad-hello",
    "web-search",
    "file-organiser",
    "screen-describe",
    "form-fill",
    "disk-usage-report",
    "web-sign-in",
}


def test_it_lists_the_shipped_scenarios_with_their_input_schema_and_limits(api):
    response = api.get("/api/scenarios")
    assert response.status_code == 200
    body = response.json()
    by_id = {s["id"]: s for s in body["scenarios"]}
    assert set(by_id) >= SHIPPED
    assert body["errors"] == [] and body["count"] == len(by_id)
    hello = by_id["notepad-hello"]
    assert hello["route"] == "desktop"
    assert hello["inputSchema"]["properties"]["text"]["default"] == "hello"
    assert hello["limits"] == {"maxTurns": 20, "timeoutSeconds": 300}
    assert hello["checks"] == [{"textInWindow": "${text}"}]


def test_a_broken_file_is_listed_with_its_error_and_the_rest_still_loads(api, settings, tmp_path):
    (tmp_path / "good.yaml").write_text("id: good\ntitle: Good\ninstruction: do ${x}\n")
    (tmp_path / "bad-yaml.yaml").write_text("id: [unclosed\n")
    (tmp_path / "bad-schema.yaml").write_text("id: Not Valid\ntitle: x\ninstruction: y\n")
    (tmp_path / "bad-input.yaml").write_text("id: bad-input\ntitle: x\ninstruction: y\ninput: {type: nonsense}\n")
    (tmp_path / "zz-dupe.yml").write_text("id: good\ntitle: Again\ninstruction: z\n")
    settings.SCENARIOS_DIR = tmp_path
    body = api.get("/api/scenarios").json()
    assert [s["id"] for s in body["scenarios"]] == ["good"]
    errors = {e["file"]: e["error"] for e in body["errors"]}
    assert set(errors) == {"bad-yaml.yaml", "bad-schema.yaml", "bad-input.yaml", "zz-dupe.yml"}
    assert "duplicate id 'good'" in errors["zz-dupe.yml"]
    assert "invalid YAML" in errors["bad-yaml.yaml"] and "(line " in errors["bad-yaml.yaml"]
    assert errors["bad-schema.yaml"].startswith("id:")
    assert catalog_summary()["errors"] == body["errors"]


def test_the_shipped_checks_and_instructions_fill_in_from_the_input():
    catalog = load_catalog()
    hello = catalog.scenarios["notepad-hello"]
    assert "type exactly: hi there" in hello.render_instruction({"text": "hi there"})
    assert hello.render_checks({"text": "hi there"}) == [{"textInWindow": "hi there"}]
    assert hello.render_checks({}) == [{"textInWindow": "hello"}]


def test_scenarios_need_the_api_token(anonymous):
    assert anonymous.get("/api/scenarios").status_code == 401


def test_scenarios_refuse_other_methods(api):
    assert api.post("/api/scenarios", {}, format="json").status_code == 405

"""The fake model server through the real `openai` SDK: it refuses what the real service refuses, with
the same status and error body, and behaves like a real service under load when scripted to."""

import base64
import io
import json
import socket

import openai
import pytest
from PIL import Image

from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.timeout(60)

KEY = "sk-test-fake-0123456789abcdef"


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), "white").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


PNG = _png()
USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}


def _sdk(fake, **kw) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=fake.api_base_url, max_retries=0, **kw)


def _create(fake, input_items, **params):
    return _sdk(fake).responses.create(model="gpt-5.4", input=input_items, store=params.pop("store", False), **params)


def _computer_call(call_id="call_1", checks=()):
    return {
        "type": "computer_call",
        "call_id": call_id,
        "status": "completed",
        "actions": [{"type": "screenshot"}],
        "pending_safety_checks": list(checks),
    }


def _screenshot(call_id="call_1", image_url=PNG, **extra):
    return {
        "type": "computer_call_output",
        "call_id": call_id,
        "output": {"type": "computer_screenshot", "image_url": image_url, "detail": "original"},
        **extra,
    }


def _function_call(call_id="call_1"):
    return {"type": "function_call", "call_id": call_id, "name": "shell", "arguments": "{}", "status": "completed"}


def _function_output(call_id="call_1", output="ok"):
    return {"type": "function_call_output", "call_id": call_id, "output": output}


CHECK = {"id": "sc_1", "code": "malicious_instructions", "message": "Odd page."}
NOT_IMAGE = "data:image/png;base64," + base64.b64encode(b"hello, not a picture").decode()

REFUSED = [
    (
        "a function call without its output",
        [USER, _function_call()],
        400,
        "No tool output found for function call call_1.",
    ),
    (
        "a computer call without its output",
        [USER, _computer_call()],
        400,
        "No tool output found for computer call call_1.",
    ),
    (
        "an output for an unknown call",
        [USER, _function_output("call_9")],
        400,
        "No tool call found for function call output with call_id call_9.",
    ),
    (
        "a screenshot answering a function call",
        [USER, _function_call(), _screenshot()],
        400,
        "No tool call found for computer call output with call_id call_1.",
    ),
    (
        "an output before its call",
        [USER, _function_output(), _function_call()],
        400,
        "No tool call found for function call output with call_id call_1.",
    ),
    (
        "two outputs for one call",
        [USER, _function_call(), _function_output(), _function_output()],
        400,
        "Duplicate output for function call call_1",
    ),
    (
        "a pending safety check left unacknowledged",
        [USER, _computer_call(checks=[CHECK]), _screenshot()],
        400,
        "Computer tool has unacknowledged safety check for ['sc_1']",
    ),
    (
        "a safety check acknowledged that was not pending",
        [USER, _computer_call(), _screenshot(acknowledged_safety_checks=[CHECK])],
        400,
        "Acknowledged safety check ['sc_1'] is not pending on computer call call_1.",
    ),
    (
        "a computer call answered with an input_image",
        [USER, _computer_call(), {**_screenshot(), "output": {"type": "input_image", "image_url": PNG}}],
        400,
        "Invalid value: 'input_image'. Supported values are: 'computer_screenshot'.",
    ),
    (
        "an image URL that is neither data nor http(s)",
        [USER, _computer_call(), _screenshot(image_url="file:///tmp/shot.png")],
        400,
        "Expected a valid URL, but got a value with an invalid format.",
    ),
    (
        "a data URL that is not an image type",
        [USER, _computer_call(), _screenshot(image_url="data:text/plain;base64,aGk=")],
        400,
        "unsupported MIME type 'text/plain'",
    ),
    (
        "image bytes that are no image",
        [USER, _computer_call(), _screenshot(image_url=NOT_IMAGE)],
        400,
        "does not represent a valid image",
    ),
    (
        "an item id under store false",
        [USER, {**_computer_call(), "id": "cu_1"}, _screenshot()],
        404,
        "Item with id 'cu_1' not found. Items are not persisted when `store` is set to false.",
    ),
    (
        "an item reference under store false",
        [USER, {"type": "item_reference", "id": "msg_1"}],
        404,
        "Item with id 'msg_1' not found.",
    ),
    (
        "a computer call without its pending_safety_checks",
        [USER, {k: v for k, v in _computer_call().items() if k != "pending_safety_checks"}, _screenshot()],
        400,
        "Missing required parameter: 'input[1].pending_safety_checks'.",
    ),
    (
        "input text in an assistant message",
        [USER, {"type": "message", "role": "assistant", "content": [{"type": "input_text", "text": "x"}]}],
        400,
        "Invalid value: 'input_text'. Supported values are: 'output_text', and 'refusal'.",
    ),
    (
        "a function output that is an object",
        [USER, _function_call(), _function_output(output={"text": "ok"})],
        400,
        "Invalid type for 'input[2].output'",
    ),
]


@pytest.mark.parametrize("case, items, status, message", REFUSED, ids=[c[0] for c in REFUSED])
def test_it_refuses_what_the_real_service_refuses_with_its_status_and_body(fake_openai, case, items, status, message):
    fake_openai.expect_refusals()
    fake_openai.add_turn(fake_openai.message("kept for the next valid request"))
    with pytest.raises(openai.APIStatusError) as info:
        _create(fake_openai, items)
    assert info.value.status_code == status
    error = info.value.body
    assert message in error["message"] and error["type"] == "invalid_request_error", error
    assert fake_openai.requests[-1].refusal == {"error": error}
    # A refused request uses no turn: the next valid one gets it.
    assert _create(fake_openai, [USER]).output_text == "kept for the next valid request"


def test_a_well_formed_conversation_is_accepted(fake_openai):
    fake_openai.add_turn(fake_openai.message("fine"))
    items = [
        USER,
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "look"}], "encrypted_content": "enc:x"},
        _computer_call(checks=[CHECK]),
        _screenshot(acknowledged_safety_checks=[CHECK]),
        _function_call("call_2"),
        _function_output(
            "call_2",
            [{"type": "input_text", "text": "shot"}, {"type": "input_image", "image_url": "https://x.test/a.png"}],
        ),
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "ok"}],
            "phase": "commentary",
        },
    ]
    assert _create(fake_openai, items).output_text == "fine"
    assert fake_openai.refused() == []


def test_unknown_parameters_and_open_strict_schemas_are_refused(fake_openai):
    fake_openai.expect_refusals()
    with pytest.raises(openai.BadRequestError, match="Unknown parameter: 'temprature'"):
        _create(fake_openai, [USER], extra_body={"temprature": 0.2})
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"]}
    open_schema = {"type": "json_schema", "name": "x", "schema": schema, "strict": True}
    with pytest.raises(openai.BadRequestError) as info:
        _create(fake_openai, [USER], text={"format": open_schema})
    assert "'additionalProperties' is required to be supplied and to be false" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError) as info:
        _create(
            fake_openai, [USER], text={"format": {**open_schema, "schema": {**schema, "additionalProperties": False}}}
        )
    assert "Missing 'b'" in info.value.body["message"] and info.value.body["code"] == "invalid_json_schema"
    tool = {"type": "function", "name": "shell", "parameters": {"type": "string"}, "strict": False}
    with pytest.raises(openai.BadRequestError, match="schema must be a JSON Schema of 'type: \"object\"'"):
        _create(fake_openai, [USER], tools=[tool])


def test_previous_response_id_needs_a_stored_response_and_continues_its_conversation(fake_openai):
    fake_openai.expect_refusals()
    fake_openai.add_turn(fake_openai.function_call("shell", {"command": "ls"}, call_id="call_7"))
    unstored = _create(fake_openai, [USER])  # store false: nothing to continue from
    with pytest.raises(openai.BadRequestError, match=f"Previous response with id '{unstored.id}' not found."):
        _create(fake_openai, [_function_output("call_7")], previous_response_id=unstored.id)

    fake_openai.add_turn(fake_openai.function_call("shell", {"command": "ls"}, call_id="call_8"))
    fake_openai.add_turn(fake_openai.message("listed"))
    stored = _create(fake_openai, [USER], store=True)
    # The stored call needs its output in the continuation, and gets it.
    with pytest.raises(openai.BadRequestError, match="No tool output found for function call call_8."):
        _create(fake_openai, [USER], previous_response_id=stored.id, store=True)
    follow = _create(fake_openai, [_function_output("call_8")], previous_response_id=stored.id, store=True)
    assert follow.output_text == "listed"
    # Its items were stored, so their ids may be sent back.
    assert fake_openai.requests[-1].refusal is None and stored.output[0].id


def test_the_codex_backend_refuses_what_it_refuses(fake_openai):
    fake_openai.expect_refusals()
    sdk = openai.OpenAI(api_key="tok", base_url=fake_openai.codex_base_url, max_retries=0)
    headers = {"ChatGPT-Account-ID": "acct"}
    base = {"model": "gpt-5.4", "input": [USER], "instructions": "Be brief.", "stream": True, "store": False}
    for change, detail in [
        ({"store": True}, "Store must be set to false"),
        ({"stream": False}, "Stream must be set to true"),
        ({"instructions": ""}, "Instructions are required"),
        ({"previous_response_id": "resp_1"}, "Unsupported parameter: previous_response_id"),
        ({"max_output_tokens": 100}, "Unsupported parameter: max_output_tokens"),
    ]:
        with pytest.raises(openai.BadRequestError) as info:
            sdk.responses.create(**{**base, **change}, extra_headers=headers)
        assert info.value.body == {"detail": detail}
    # The shared checks hold on this path too (its errors come back in the API's shape).
    with pytest.raises(openai.BadRequestError, match="No tool output found for computer call call_1."):
        sdk.responses.create(**{**base, "input": [USER, _computer_call()]}, extra_headers=headers)


# -- a real service under load --
def test_a_delayed_turn_answers_after_its_delay_and_records_the_times(fake_openai):
    fake_openai.add_turn(fake_openai.message("slow"), delay_s=0.5)
    assert _create(fake_openai, [USER]).output_text == "slow"
    record = fake_openai.requests[0]
    assert record.answered_at - record.arrived_at >= 0.5 and not record.cancelled and record.status == 200


def test_a_client_that_gives_up_during_the_delay_is_recorded_as_cancelled(fake_openai):
    fake_openai.add_turn(fake_openai.message("never delivered"), delay_s=30)
    with pytest.raises(openai.APITimeoutError):
        _sdk(fake_openai, timeout=0.5).responses.create(model="gpt-5.4", input=[USER], store=False)
    record = wait_until(lambda: fake_openai.requests[0].cancelled and fake_openai.requests[0], what="the cancel")
    assert record.answered_at is None and record.status is None


def test_a_connection_closed_during_the_delay_cancels_the_request(fake_openai):
    """What a stop that closes the in-flight request looks like from the server."""
    fake_openai.add_turn(fake_openai.message("never delivered"), delay_s=30)
    body = json.dumps({"model": "gpt-5.4", "input": [USER], "store": False}).encode()
    with socket.create_connection(("127.0.0.1", int(fake_openai.url.rsplit(":", 1)[1]))) as conn:
        conn.sendall(
            b"POST /v1/responses HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer "
            + KEY.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        wait_until(lambda: fake_openai.requests, what="the request to arrive")
    record = wait_until(lambda: fake_openai.requests[0].cancelled and fake_openai.requests[0], what="the cancel")
    assert record.answered_at is None and record.status is None


@pytest.mark.parametrize("retry_after", [1, None])
def test_a_rate_limit_with_and_without_retry_after(fake_openai, retry_after):
    fake_openai.add_error(429, retry_after=retry_after)
    with pytest.raises(openai.RateLimitError) as info:
        _create(fake_openai, [USER])
    headers = info.value.response.headers
    assert info.value.code == "rate_limit_exceeded" and "Rate limit reached for gpt-5.4" in info.value.message
    assert headers.get("retry-after") == (str(retry_after) if retry_after else None)
    assert headers["x-ratelimit-remaining-tokens"] == "0" and "x-ratelimit-reset-requests" in headers


def test_quota_unknown_model_and_invalid_key(fake_openai):
    fake_openai.add_error(429, code="insufficient_quota")
    fake_openai.add_error(400, code="model_not_found")
    fake_openai.add_error(401)
    with pytest.raises(openai.RateLimitError) as quota:
        _create(fake_openai, [USER])
    assert quota.value.code == "insufficient_quota" and "retry-after" not in quota.value.response.headers
    with pytest.raises(openai.BadRequestError) as model:
        _sdk(fake_openai).responses.create(model="gpt-9", input=[USER], store=False)
    assert (
        model.value.code == "model_not_found" and "The requested model 'gpt-9' does not exist." in model.value.message
    )
    with pytest.raises(openai.AuthenticationError) as key:
        _create(fake_openai, [USER])
    assert key.value.code == "invalid_api_key" and "Incorrect API key provided" in key.value.message
    assert KEY not in key.value.message and KEY[-4:] in key.value.message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(fake_openai, status):
    fake_openai.add_error(status)
    with pytest.raises(openai.InternalServerError) as info:
        _create(fake_openai, [USER])
    assert info.value.status_code == status
    if status == 502:  # a gateway's HTML page, not JSON
        assert "502 Bad Gateway" in info.value.response.text


def test_a_reset_and_a_read_timeout_answer_nothing(fake_openai):
    fake_openai.add_reset()
    fake_openai.add_timeout(30)
    with pytest.raises(openai.APIConnectionError) as reset:
        _create(fake_openai, [USER])
    assert not isinstance(reset.value, openai.APITimeoutError)
    with pytest.raises(openai.APITimeoutError):
        _sdk(fake_openai, timeout=0.5).responses.create(model="gpt-5.4", input=[USER], store=False)
    assert fake_openai.requests[0].status is None and fake_openai.requests[0].answered_at is None
    assert wait_until(lambda: fake_openai.requests[1].cancelled, what="the timed-out request to be closed")


def test_incomplete_and_failed_responses_in_json(fake_openai):
    fake_openai.add_incomplete("content_filter", fake_openai.message("Here is how to"))
    fake_openai.add_failed("The model had a problem.")
    incomplete = _create(fake_openai, [USER])
    assert incomplete.status == "incomplete" and incomplete.incomplete_details.reason == "content_filter"
    assert incomplete.output_text == "Here is how to"
    failed = _create(fake_openai, [USER])
    assert failed.status == "failed" and failed.error.message == "The model had a problem." and failed.output == []


def test_the_stream_sends_deltas_before_each_item_is_done(fake_openai):
    text = "Typed hello and saved the file."
    fake_openai.add_turn(
        fake_openai.reasoning("Look at the screen first."),
        fake_openai.function_call("shell", {"command": "ls -la /tmp"}),
        fake_openai.message(text),
    )
    with _sdk(fake_openai).responses.stream(
        model="gpt-5.4", input=[USER], store=False, include=["reasoning.encrypted_content"]
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    names = [e.type for e in events]
    assert names[:2] == ["response.created", "response.in_progress"] and names[-1] == "response.completed"
    for delta in (
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.output_text.delta",
    ):
        first = names.index(delta)
        assert names.count(delta) > 1 and names.index("response.output_item.done", first) > first
    # The SDK's own accumulator rebuilds each item from the deltas.
    assert [e.snapshot for e in events if e.type == "response.output_text.delta"][-1] == text
    assert [e.snapshot for e in events if e.type == "response.function_call_arguments.delta"][-1] == (
        '{"command": "ls -la /tmp"}'
    )
    assert final.output_text == text and [i.type for i in final.output] == ["reasoning", "function_call", "message"]
    assert final.output[0].encrypted_content.startswith("enc:")


def test_the_stream_ends_with_response_incomplete_or_response_failed(fake_openai):
    fake_openai.add_incomplete("max_output_tokens", fake_openai.message("Half an ans"))
    fake_openai.add_failed("overloaded", code="server_error")
    sdk = _sdk(fake_openai)
    incomplete = list(sdk.responses.create(model="gpt-5.4", input=[USER], store=False, stream=True))
    assert "response.output_text.delta" in [e.type for e in incomplete]
    assert incomplete[-1].type == "response.incomplete"
    assert incomplete[-1].response.incomplete_details.reason == "max_output_tokens"
    failed = list(sdk.responses.create(model="gpt-5.4", input=[USER], store=False, stream=True))
    assert [e.type for e in failed] == ["response.created", "response.in_progress", "response.failed"]
    assert failed[-1].response.error.message == "overloaded"

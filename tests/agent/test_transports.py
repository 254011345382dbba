import pytest

from agent.context import PLACEHOLDER_PNG
from agent.errors import (
    AuthFailed,
    AuthMissing,
    ModelNotSupported,
    ModelRequestRejected,
    QuotaExhausted,
    TransportFailure,
)
from agent.transports import ModelRequest, TransportConfig, build_client
from tests.agent.conftest import StaticTokens
from tests.fixtures.waiting import wait_until

pytestmark = pytest.mark.portable


def _config(fake, **kw):
    return TransportConfig(
        openai_api_key="sk-test-key-0123456789abcdef",
        openai_base_url=fake.api_base_url,
        codex_base_url=fake.codex_base_url,
        retry_base_delay_s=0.01,
        retry_budget_s=2,
        **kw,
    )


def _request(**kw):
    return ModelRequest(model="gpt-5.4", instructions="Be brief.", input=[{"role": "user", "content": "hi"}], **kw)


def test_api_key_transport_sends_the_computer_tool_and_reads_the_output(fake_openai):
    fake_openai.add_turn(fake_openai.reasoning("look first"), fake_openai.computer_call({"type": "screenshot"}))
    client = build_client("api-key", _config(fake_openai))
    resp = client.create(_request(tools=[{"type": "computer"}]))
    assert [i["type"] for i in resp.output] == ["reasoning", "computer_call"]
    assert resp.output[0]["encrypted_content"].startswith("enc:")
    assert resp.output[1]["actions"] == [{"type": "screenshot"}]
    assert resp.usage == {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
    sent = fake_openai.requests[0]
    assert sent.path == "/v1/responses"
    assert sent.headers["authorization"] == "Bearer sk-test-key-0123456789abcdef"
    assert sent.body["tools"] == [{"type": "computer"}] and sent.body["store"] is False
    assert sent.body["include"] == ["reasoning.encrypted_content"]


def test_codex_transport_streams_and_collects_items_from_output_item_done(fake_openai, tokens):
    fake_openai.add_turn(fake_openai.message("hello there"))
    client = build_client("codex-oauth", _config(fake_openai), tokens)
    resp = client.create(_request())
    assert resp.output[0]["content"][0]["text"] == "hello there"  # although response.completed had output: []
    sent = fake_openai.requests[0]
    assert sent.path == "/backend-api/codex/responses"
    assert sent.headers["authorization"] == "Bearer tok-1"
    assert sent.headers["chatgpt-account-id"] == "acct-1"
    body = sent.body
    assert body["stream"] is True and body["store"] is False and body["instructions"] == "Be brief."
    assert "previous_response_id" not in body and "max_output_tokens" not in body


def test_codex_401_refreshes_the_token_once_and_succeeds(fake_openai):
    fake_openai.codex_valid_tokens = {"tok-2"}
    fake_openai.add_turn(fake_openai.message("ok"))
    tokens = StaticTokens("tok-1", "tok-2")
    resp = build_client("codex-oauth", _config(fake_openai), tokens).create(_request())
    assert resp.output[0]["content"][0]["text"] == "ok"
    assert tokens.refreshes == ["tok-1"]
    assert [r.headers["authorization"] for r in fake_openai.requests] == ["Bearer tok-1", "Bearer tok-2"]


def test_codex_gives_up_after_one_refresh_with_a_clear_error(fake_openai):
    fake_openai.codex_valid_tokens = {"never"}
    tokens = StaticTokens("tok-1", "tok-2")
    with pytest.raises(AuthFailed, match="Sign in again"):
        build_client("codex-oauth", _config(fake_openai), tokens).create(_request())
    assert len(fake_openai.requests) == 2


@pytest.mark.parametrize("status", [429, 500])
def test_it_retries_rate_limits_and_server_errors(fake_openai, status):
    fake_openai.add_error(status)
    fake_openai.add_error(status)
    fake_openai.add_turn(fake_openai.message("finally"))
    resp = build_client("api-key", _config(fake_openai)).create(_request())
    assert resp.output[0]["content"][0]["text"] == "finally"
    assert len(fake_openai.requests) == 3


def test_it_does_not_retry_a_bad_request(fake_openai):
    fake_openai.add_error(400, {"error": {"message": "Invalid value for 'input'.", "type": "invalid_request_error"}})
    fake_openai.add_turn(fake_openai.message("never sent"))
    with pytest.raises(ModelRequestRejected, match="Invalid value"):
        build_client("api-key", _config(fake_openai)).create(_request())
    assert len(fake_openai.requests) == 1


def test_it_gives_up_after_max_retries(fake_openai):
    for _ in range(5):
        fake_openai.add_error(500)
    with pytest.raises(Exception, match="Gave up after 3 attempts"):
        build_client("api-key", _config(fake_openai, max_retries=2)).create(_request())


def test_quota_exhausted_is_reported_and_not_retried(fake_openai, tokens):
    fake_openai.add_error(
        429,
        {
            "error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "resets_in_seconds": 3600,
            }
        },
    )
    with pytest.raises(QuotaExhausted) as info:
        build_client("codex-oauth", _config(fake_openai), tokens).create(_request())
    assert info.value.details == {"resets_in_seconds": 3600}
    assert len(fake_openai.requests) == 1


def test_an_unsupported_model_gets_its_own_error(fake_openai, tokens):
    fake_openai.add_error(
        400, {"detail": "The 'gpt-9' model is not supported when using Codex with a ChatGPT account."}
    )
    with pytest.raises(ModelNotSupported, match="Choose another model"):
        build_client("codex-oauth", _config(fake_openai), tokens).create(_request())


def test_missing_credentials_say_what_to_do(fake_openai):
    with pytest.raises(AuthMissing, match="OPENAI_API_KEY"):
        build_client("api-key", TransportConfig(openai_api_key=None)).create(_request())
    with pytest.raises(AuthMissing, match="Sign in"):
        build_client("codex-oauth", TransportConfig()).create(_request())


def test_error_messages_never_contain_the_key(fake_openai):
    fake_openai.add_error(
        401,
        {
            "error": {
                "message": "Incorrect API key provided: sk-test-key-0123456789abcdef",
                "type": "invalid_request_error",
            }
        },
    )
    with pytest.raises(AuthFailed) as info:
        build_client("api-key", _config(fake_openai)).create(_request())
    assert "sk-test-key-0123456789abcdef" not in info.value.message


def test_the_history_is_resent_without_item_ids(fake_openai):
    """With store false nothing was stored: the service would look up any id it is sent and answer 404."""
    fake_openai.add_turn(fake_openai.message("ok"))
    call = fake_openai.computer_call({"type": "screenshot"})
    history = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        fake_openai.reasoning("look"),
        call,
        {
            "type": "computer_call_output",
            "call_id": call["call_id"],
            "output": {"type": "computer_screenshot", "image_url": PLACEHOLDER_PNG},
        },
    ]
    request = ModelRequest(model="gpt-5.4", instructions="Be brief.", input=history)
    build_client("api-key", _config(fake_openai)).create(request)
    sent = fake_openai.requests[0].body["input"]
    assert [i["type"] for i in sent] == ["message", "reasoning", "computer_call", "computer_call_output"]
    assert not [i for i in sent if "id" in i] and all("id" in i for i in history[1:3])


def test_a_reset_connection_and_a_read_timeout_are_retried(fake_openai):
    fake_openai.add_reset()
    fake_openai.add_timeout(30)
    fake_openai.add_turn(fake_openai.message("third time"))
    resp = build_client("api-key", _config(fake_openai, timeout_s=0.5)).create(_request())
    assert resp.output[0]["content"][0]["text"] == "third time"
    reset, timed_out, answered = fake_openai.requests
    assert reset.status is None and answered.status == 200
    assert wait_until(lambda: timed_out.cancelled, what="the timed-out request to be closed by the client")


@pytest.mark.parametrize("provider", ["api-key", "codex-oauth"])
def test_an_incomplete_response_carries_its_reason_and_a_failed_one_is_an_error(fake_openai, tokens, provider):
    fake_openai.add_incomplete("max_output_tokens", fake_openai.message("Half"))
    fake_openai.add_failed("The model had a problem.")
    client = build_client(provider, _config(fake_openai), tokens)
    resp = client.create(_request())
    assert resp.status == "incomplete" and resp.incomplete_reason == "max_output_tokens"
    with pytest.raises(TransportFailure, match="The model had a problem."):
        client.create(_request())

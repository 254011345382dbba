"""What the engine needs from the settings: the model client, the computer, memory, the browser,
screenshot settings and the paths it must not touch unasked. Built per execution, never from a
request (a request that chose the base URL could send the API key anywhere)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

from django.conf import settings

if TYPE_CHECKING:
    from agent.browser import BrowserConfig
    from agent.computer import Computer
    from agent.screen import ScreenConfig
    from agent.transports import ModelClient
    from memory.provider import DjangoMemoryProvider

# The web server's default address (`serve`), and the sign-in callback listener: pages the agent's
# browser may never load (a page could otherwise steer the agent into approving its own actions).
OWN_ORIGINS = ("127.0.0.1:3333", "localhost:3333")


def model_client_build(*, provider: str) -> ModelClient:
    """One model client per execution, configured from settings."""
    from agent.transports import TransportConfig, build_client

    config = TransportConfig(
        openai_api_key=settings.OPENAI_API_KEY or None,
        openai_base_url=settings.OPENAI_BASE_URL,
        codex_base_url=settings.CODEX_BASE_URL,
        retry_budget_s=settings.MODEL_RETRY_SECONDS,
    )
    tokens = None
    if provider == "codex-oauth":
        from providers.codex_tokens import CodexTokenSource

        tokens = CodexTokenSource.from_settings()
    return build_client(provider, config, tokens)


def missing_credentials(*, provider: str) -> str | None:
    """What is missing for `provider`, as a message that says what to do; None when it looks usable."""
    if provider == "api-key" and not settings.OPENAI_API_KEY:
        return (
            "No OpenAI API key is configured. Set OPENAI_API_KEY in the environment (or .env) of the "
            'worker and restart it, or sign in with ChatGPT and use authProvider "codex-oauth".'
        )
    return None


class NoDesktop:
    """The computer when this process cannot see a desktop: the cli agent still works, and a
    desktop action fails with the reason (the engine reports it as an error event)."""

    def __init__(self, reason: str):
        self.reason = reason

    def _fail(self, *args: object, **kwargs: object) -> NoReturn:
        from agent.errors import ComputerUnavailable

        raise ComputerUnavailable(self.reason)

    screenshot = click = double_click = drag = move = scroll = keypress = type = _fail

    def windows(self) -> list[dict]:
        return []

    def release_all(self) -> None:
        pass

    def watch_screen(self) -> None:
        return None


def computer_get() -> Computer | NoDesktop:
    from agent.computer import get_computer
    from agent.errors import ComputerUnavailable

    try:
        return get_computer()
    except ComputerUnavailable as exc:
        return NoDesktop(exc.message)


def memory_build(*, owner_id: str) -> DjangoMemoryProvider:
    """What the agent knows (read before a task) and learns (its `remember` tool), in one object;
    what it saves records `owner_id` as its source."""
    from memory.provider import DjangoMemoryProvider

    return DjangoMemoryProvider(owner_id=owner_id)


def browser_config_build() -> BrowserConfig:
    """The browser the engine may drive: a managed one with its profile in the data dir, or the user's
    own browser when DESKHAND_BROWSER_CDP_URL names its loopback debugging address."""
    from agent.browser import BrowserConfig

    own = [*OWN_ORIGINS, f"127.0.0.1:{settings.CODEX_CALLBACK_PORT}"]
    own += [f"{host}:{port}" for host in settings.ALLOWED_HOSTS for port in (settings.SERVER_PORT, 3333)]
    return BrowserConfig(
        profile_dir=str(settings.DATA_DIR / "browser-profile"),
        cdp_url=settings.BROWSER_CDP_URL or None,
        executable=settings.BROWSER_PATH or None,
        forbidden_origins=tuple(dict.fromkeys(own)),
    )


def screen_config_build() -> ScreenConfig:
    """How screenshots reach the model, from the settings."""
    from agent.screen import ScreenConfig

    return ScreenConfig(max_long_edge=settings.SCREENSHOT_MAX_EDGE, image_format=settings.SCREENSHOT_FORMAT)


def protected_paths() -> list[str]:
    """What a shell command may touch, or the desktop agent type, only with a person's approval:
    Deskhand's data, code and API token (the engine never repeats the values; events are redacted)."""
    return [str(settings.DATA_DIR), str(settings.CODEX_HOME), str(settings.BASE_DIR), settings.API_TOKEN]

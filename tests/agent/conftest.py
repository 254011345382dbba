import pytest

# The desktop fixtures (`desktop`, `editor`) come from the tests.fixtures.desktop plugin, `fake_openai`
# from tests.fixtures.model (tests/conftest.py).


class StaticTokens:
    """A TokenSource: hands out tokens in order, one more on each refresh after a 401."""

    def __init__(self, *tokens: str, account: str = "acct-1"):
        self.tokens = list(tokens)
        self.account = account
        self.refreshes: list[str] = []

    def get(self):
        return self.tokens[0], self.account

    def refresh_after_unauthorized(self, rejected_access_token):
        self.refreshes.append(rejected_access_token)
        if len(self.tokens) > 1:
            self.tokens.pop(0)
        return self.tokens[0], self.account


@pytest.fixture
def tokens():
    return StaticTokens("tok-1", "tok-2")

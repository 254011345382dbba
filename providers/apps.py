from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    """Model providers' credentials: the OpenAI API key (from settings) and "Sign in with ChatGPT"."""

    name = "providers"
    label = "providers"
    verbose_name = "Model providers"

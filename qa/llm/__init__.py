"""Chat models by settings: a local GGUF run in-process, or any OpenAI-compatible endpoint."""

from qa.llm.models import chat_model, warm_up

__all__ = ["chat_model", "warm_up"]

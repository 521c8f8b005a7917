"""Chat models by settings: a local GGUF run in-process, or any OpenAI-compatible endpoint; the
reader's structured reply; the bounded queue in front of each model."""

from qa.llm.models import available, chat_model, default_chat_mode, structured_output, warm_up
from qa.llm.queue import Busy, queue_for, queue_length

__all__ = ["Busy", "available", "chat_model", "default_chat_mode", "queue_for", "queue_length",
           "structured_output", "warm_up"]

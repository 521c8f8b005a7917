"""Question answering over news articles, with every answer grounded in cited sentences.

The public API: everything the CLI, the web UI and evaluation use is importable from here.
Importing ``qa`` loads no model; models load on first use.
"""

from qa.chain import Assistant, check_question, parse_as_of
from qa.config import Settings, load_settings
from qa.embeddings import Embedder, FakeEmbedder, make_embedder
from qa.errors import (
    ConfigError,
    DependencyError,
    IndexStateError,
    InputError,
    ModelMismatchError,
    QAError,
)
from qa.eval.report import format_comparison as format_eval_comparison
from qa.eval.report import format_summary as format_eval_summary
from qa.eval.report import load_metrics as load_eval_metrics
from qa.eval.report import write_report as write_eval_report
from qa.eval.runner import EvalItem, EvalResult, run_eval
from qa.eval.runner import load_dataset as load_eval_dataset
from qa.ingest.readers import build_article, read_articles
from qa.llm.models import available as llm_available
from qa.llm.models import default_chat_mode
from qa.llm.queue import queue_length as llm_queue_length
from qa.question.followup import condense
from qa.retrieve import HybridRetriever
from qa.store.index import Index
from qa.store.indexer import IndexReport, Progress, index_articles, index_paths, remove_articles
from qa.store.protocol import Store, StoreReader, open_store
from qa.text import ARTICLE_SUFFIXES, MARKER, strip_markers
from qa.types import ABSTAIN_MESSAGE, Answer, Article, Chunk, Citation, Hit, Sentence

__all__ = [
    "ABSTAIN_MESSAGE",
    "ARTICLE_SUFFIXES",
    "MARKER",
    "Answer",
    "Article",
    "Assistant",
    "Chunk",
    "Citation",
    "ConfigError",
    "DependencyError",
    "Embedder",
    "EvalItem",
    "EvalResult",
    "FakeEmbedder",
    "Hit",
    "HybridRetriever",
    "Index",
    "IndexReport",
    "IndexStateError",
    "InputError",
    "ModelMismatchError",
    "Progress",
    "QAError",
    "Sentence",
    "Settings",
    "Store",
    "StoreReader",
    "build_article",
    "check_question",
    "condense",
    "default_chat_mode",
    "format_eval_comparison",
    "format_eval_summary",
    "index_articles",
    "index_paths",
    "llm_available",
    "llm_queue_length",
    "load_eval_dataset",
    "load_eval_metrics",
    "load_settings",
    "make_embedder",
    "open_store",
    "parse_as_of",
    "read_articles",
    "remove_articles",
    "run_eval",
    "strip_markers",
    "write_eval_report",
]

"""Question answering over news articles, with every answer grounded in cited sentences.

The public API: everything the CLI, the web UI and evaluation use is importable from here.
Importing ``qa`` loads no model; models load on first use.
"""

from qa.chain import Assistant, check_question
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
from qa.followup import condense
from qa.index import Index
from qa.indexer import IndexReport, Progress, index_articles, index_paths, remove_articles
from qa.ingest import build_article, read_articles
from qa.retrieve import HybridRetriever
from qa.types import ABSTAIN_MESSAGE, Answer, Article, Chunk, Citation, Hit, Sentence

__all__ = [
    "ABSTAIN_MESSAGE",
    "Answer",
    "Article",
    "Assistant",
    "Chunk",
    "Citation",
    "ConfigError",
    "DependencyError",
    "Embedder",
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
    "build_article",
    "check_question",
    "condense",
    "index_articles",
    "index_paths",
    "load_settings",
    "make_embedder",
    "read_articles",
    "remove_articles",
]

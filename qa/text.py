"""Text helpers shared by every stage: stop words, the light stemmer, content terms, the ``[n]``
citation marker, and the file types that hold articles.

One copy of each, so that what retrieval, answering, evaluation and the UI call a "content word"
or a "marker" cannot drift apart.
"""

from __future__ import annotations

import functools
import re

STOPWORDS = frozenset(
    """a an the of in on at to for from by with and or but is are was were be been being do does
    did has have had what who whom whose which when where why how many much that this these those
    it its he she they them his her their there here as into about than then so not no nor if
    i you we us our your my me can could would should will shall may might must
    s t""".split()  # "s" and "t": what is left of "minister's" and "don't"
)

ARTICLE_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
"""File types the readers accept (and the page's upload offers)."""

MARKER = re.compile(r"\[(\d+)\]")
"""A citation marker as it appears in an answer: ``[n]`` refers to ``citations[n-1]``."""

_MARKER_WITH_SPACE = re.compile(r"\s*\[\d+\]")
_SUFFIXES = ("ing", "ed", "es", "s", "ly")


def strip_markers(text: str) -> str:
    """The answer without its ``[n]`` markers (what EM/F1 and follow-ups read)."""
    return _MARKER_WITH_SPACE.sub("", text).strip()


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return re.findall(r"\w+", text.lower())


@functools.lru_cache(maxsize=65536)  # called for every word of every span's features
def stem(word: str) -> str:
    """A deliberately light stemmer: chaired/chairing/chairs -> chair, without a model."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    else:
        if len(word) > 4 and word.endswith("e"):
            return word[:-1]  # declare -> declar, as declared and declares are
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]  # planned -> plann -> plan
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed words that are not stop words, in order (with repeats)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]

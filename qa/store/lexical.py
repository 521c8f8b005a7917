"""The full-text query plan both stores follow: which question words to match, so that the rows a
query ranks stay bounded whatever the size of the index.

Ranking (FTS5's BM25, PostgreSQL's ``ts_rank_cd``) scores every row the query matches, and an OR of
a question's words matches nearly every row of a large archive (a few common words suffice), so
its cost grew with the index. The plan, from each word's document frequency as the backend
estimates it cheaply (a capped count in FTS5, the planner's statistics in PostgreSQL):

- the words' rows together fit the budget (``store.lexical_rows``): one OR of every word, exactly
  the unbounded query (a small index, or a question of rare words);
- otherwise an OR of the rarest words whose rows together fit the budget: a name or a rare term
  picks the rows (PostgreSQL still ranks them by every word; FTS5's BM25 by the chosen ones, as
  the common words' IDF is small and counting their rows for it would cost what we avoid);
- when even the rarest word is common, the rows holding every word (AND), then, if they are
  fewer than asked, those holding the rarest word.

Each query ranks at most ``budget`` of its rows (which ones, when more match, is the backend's
scan order); the results are concatenated without repeats, up to ``n``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from qa.text import STOPWORDS

MAX_WORDS = 32  # a pasted paragraph is not a question: its first words are enough


@dataclass(frozen=True)
class Match:
    """One full-text query: ``words`` joined by AND (``every``) or by OR."""

    words: tuple[str, ...]
    every: bool = False


def query_words(text: str) -> list[str]:
    """The question's distinct content words (``\\w+`` only, so no query syntax gets in)."""
    words = [w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def plan(words: Sequence[str], rows: Mapping[str, float], budget: int) -> list[Match]:
    """The queries to run, in order. ``rows``: the estimated rows holding each word (a word not in
    it counts as none: without statistics the plan is the unbounded OR)."""
    if not words:
        return []
    if sum(rows.get(w, 0.0) for w in words) <= budget:
        return [Match(tuple(words))]
    order = sorted(words, key=lambda w: rows.get(w, 0.0))  # stable: ties keep question order
    if rows.get(order[0], 0.0) > budget:  # every word is common
        every = [Match(tuple(words), every=True)] if len(words) > 1 else []
        return [*every, Match(tuple(order[:1]))]
    chosen, total = [order[0]], rows.get(order[0], 0.0)
    for word in order[1:]:
        total += rows.get(word, 0.0)
        if total > budget:
            break
        chosen.append(word)
    return [Match(tuple(chosen))]


def run(matches: Sequence[Match], n: int, search: Callable[[Match], list[int]]) -> list[int]:
    """Ids from each query in turn (each ranked by ``search``), without repeats, up to ``n``."""
    found: dict[int, None] = {}
    for match in matches:
        if len(found) >= n:
            break
        found.update(dict.fromkeys(search(match)))
    return list(found)[:n]


def search(query: str, n: int, budget: int, word_rows: Callable[[list[str]], Mapping[str, float]],
           rank: Callable[[Match, list[str]], list[int]]) -> list[int]:
    """The plan carried out for a backend: its estimate of each word's rows (``word_rows``) and
    its ranking of one query's rows (``rank``, given the match and every question word)."""
    words = query_words(query)
    if not words or n <= 0:
        return []
    return run(plan(words, word_rows(words), budget), n, lambda m: rank(m, words))

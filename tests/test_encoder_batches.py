"""How the encoder's input is cut into batches (``embedding.batch_size``, ``batch_tokens``), and
(integration) that batching changes no vector."""

from __future__ import annotations

import numpy as np
import pytest

from qa import load_settings, make_embedder
from qa.embeddings import CHARS_PER_TOKEN, length_batches

TEXTS = ["a" * n for n in (400, 8, 40, 8, 120, 40, 4)]


def test_every_text_lands_in_exactly_one_batch_shortest_first() -> None:
    batches = length_batches(TEXTS, most=3)
    assert sorted(i for b in batches for i in b) == list(range(len(TEXTS)))
    lengths = [len(TEXTS[i]) for b in batches for i in b]
    assert lengths == sorted(lengths) and [len(b) for b in batches] == [3, 3, 1]


def test_a_token_budget_gives_short_texts_fuller_batches_than_long_ones() -> None:
    batches = length_batches(TEXTS, most=100, tokens=64)
    for batch in batches:  # padded size within the budget, unless a text alone exceeds it
        longest = max(len(TEXTS[i]) // CHARS_PER_TOKEN + 2 for i in batch)
        assert longest * len(batch) <= 64 or len(batch) == 1
    assert len(batches[0]) > len(batches[-1]) == 1  # the 400-character text goes alone


def test_no_texts_no_batches() -> None:
    assert length_batches([], most=8, tokens=100) == []


@pytest.mark.integration
def test_batching_changes_no_vector() -> None:
    texts = [f"Sentence number {i} says {'something rather longer ' * (i % 7)}about the news."
             for i in range(40)]
    plain = make_embedder(load_settings(embedding={"variant": "fp32"}).embedding).encode(texts)
    settings = load_settings(embedding={"variant": "fp32", "batch_size": 512, "batch_tokens": 256})
    budgeted = make_embedder(settings.embedding).encode(texts)
    cosines = np.sum(plain * budgeted, axis=1)
    assert cosines.min() > 0.9999

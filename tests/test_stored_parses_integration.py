"""Stored parses with the real spaCy pipeline: what the indexer stores is exactly what the reader
would parse at question time, in the batches it parses in (the evidence sentences and the
question together)."""

from __future__ import annotations

import pytest

from qa.ingest.chunking import article_sentences
from qa.parsing import SpacyParser, decode, encode
from qa.store.indexer import index_paths
from qa.store.protocol import open_store
from tests.conftest import SEED_ARTICLE, SEED_ID

pytestmark = pytest.mark.integration

MORE = ("Tens of thousands of people were evacuated on Sunday as the river rose 2.4 metres, "
        "officials said. \"We are ready,\" the governor, Maria Lopez, told reporters in Vell. "
        "The dam, built in 1961 for $40 million, holds about 3 billion cubic metres of water.")


def test_the_stored_parse_is_the_parse_at_question_time(settings, fake_embedder, tmp_path):
    extra = tmp_path / "flood.txt"
    extra.write_text("Flood\n\n" + MORE + "\n")
    index_paths([SEED_ARTICLE, extra], settings, embedder=fake_embedder)
    parser = SpacyParser(settings.answer.spacy_model)
    store = open_store(settings)
    try:
        assert store.meta()["parser"] == parser.identity
        with store.snapshot() as reader:
            articles = reader.articles_by_id([SEED_ID, "flood"])
            stored = [s for a in articles.values() for s in reader.sentences(a, 0, 10_000)]
    finally:
        store.close()
    assert len(stored) >= 28
    texts = [s.sentence.text for s in stored]
    for start in range(0, len(texts), 4):  # as the reader parses: 4 sentences and the question
        batch = texts[start:start + 4]
        now = parser([*batch, "Who chaired the meeting?"])[:-1]
        for s, parse in zip(stored[start:start + 4], now, strict=True):
            assert s.parse is not None and s.parse.parser == parser.identity
            assert decode(s.parse.record, s.sentence.text) == parse
    alone = parser([texts[5]])[0]  # and parsed on its own
    assert decode(stored[5].parse.record, texts[5]) == alone


def test_a_record_round_trips_every_field_of_a_real_parse(settings):
    parser = SpacyParser(settings.answer.spacy_model)
    sentences = article_sentences_of(MORE)
    parses = parser(sentences)
    assert all(p.entities and p.chunks for p in parses)  # every field has something to carry
    for sentence, parse in zip(sentences, parses, strict=True):
        assert decode(encode(parse), sentence) == parse


def article_sentences_of(text: str) -> list[str]:
    from qa.types import Article

    return [s.text for s in article_sentences(Article(id="x", title="x", text=text))]

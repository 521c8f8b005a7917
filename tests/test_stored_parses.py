"""Sentence parses stored at index time: the record's round trip, the reader using them instead of
parsing, and the fall-backs (another parser, an older index, a damaged record). With fakes; the
real spaCy pipeline is in ``test_stored_parses_integration``."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from qa.answer.evidence import Candidate
from qa.answer.extractive import ExtractiveAnswerer
from qa.parsing import StoredParse, decode, encode
from qa.question import analyze
from qa.store.indexer import index_paths
from qa.store.protocol import open_store
from qa.types import Article, Sentence
from tests.conftest import SEED_ARTICLE, SEED_ID
from tests.fakes import fake_parse

SENTENCES = [
    "The meeting was chaired by John Healey in Brussels on Friday.",
    "Defence ministers from 30 countries sent 200 military planners.",
    "Rustem Umerov said Ukraine was ready for talks.",
]


class CountingParser:
    """The fake parser with a name, counting the texts it is asked to parse."""

    def __init__(self, identity: str = "fake 1.0") -> None:
        self.identity = identity
        self.parsed: list[str] = []

    def __call__(self, texts):
        self.parsed += list(texts)
        return [fake_parse(t) for t in texts]


def test_a_parse_survives_its_record():
    for text in SENTENCES:
        parse = fake_parse(text)
        record = encode(parse)
        assert decode(record, text) == parse
        assert text not in record  # token texts are slices of the stored sentence, not repeated


def test_a_record_that_does_not_fit_is_not_used():
    text = SENTENCES[0]
    data = json.loads(encode(fake_parse(text)))
    assert decode(json.dumps({**data, "v": 99}), text) is None  # another layout version
    assert decode("not json", text) is None
    assert decode(json.dumps({"v": 1}), text) is None
    assert decode(encode(fake_parse(text)), text[:20]) is None  # offsets past the text
    bad_head = [list(t) for t in data["t"]]
    bad_head[0][5] = len(bad_head) + 3
    assert decode(json.dumps({**data, "t": bad_head}), text) is None
    assert decode(json.dumps({**data, "e": [[0, 999, "PERSON"]]}), text) is None


def candidates(parser: str | None) -> list[Candidate]:
    text = " ".join(SENTENCES)
    article = Article(id="a", title="Ministers meet", text=text, date="2025-04-10")
    out, start = [], 0
    for i, sentence in enumerate(SENTENCES):
        start = text.index(sentence, start)
        stored = StoredParse(encode(fake_parse(sentence)), parser) if parser else None
        out.append(Candidate(Sentence("a", i, start, start + len(sentence), sentence), article,
                             hit_rank=0, dense=0.5, lexical=0.5, score=1.0 - i / 10, parse=stored))
    return out


@pytest.mark.parametrize("question", ["Who chaired the meeting?", "How many planners were sent?"])
def test_the_reader_reads_stored_parses_instead_of_parsing(settings, question):
    asked = analyze(question)
    answers = {}
    for stored_by in ("fake 1.0", "fake 2.0", None):
        parser = CountingParser("fake 1.0")
        reader = ExtractiveAnswerer(settings, parser=parser)
        answers[stored_by] = reader.answer(asked, candidates(stored_by))
        parsed_sentences = [t for t in parser.parsed if t in SENTENCES]
        if stored_by == "fake 1.0":
            assert parsed_sentences == []  # only the question was parsed
            assert parser.parsed == [asked.interrogative]
        else:  # another parser's records, or none: parsed now, as before
            assert sorted(parsed_sentences) == sorted(SENTENCES)
    assert answers["fake 1.0"] == answers["fake 2.0"] == answers[None]
    assert not answers[None].abstained


def test_a_parser_without_a_name_never_uses_stored_parses(settings):
    parsed: list[str] = []

    def anonymous(texts):
        parsed.extend(texts)
        return [fake_parse(t) for t in texts]

    reader = ExtractiveAnswerer(settings, parser=anonymous)
    reader.answer(analyze("Who chaired the meeting?"), candidates("fake 1.0"))
    assert set(SENTENCES) <= set(parsed)


def stored_parses(settings) -> list[StoredParse | None]:
    store = open_store(settings)
    try:
        article = store.articles()[0]["id"]
        with store.snapshot() as reader:
            full = reader.articles_by_id([article])[article]
            return [s.parse for s in reader.sentences(full, 0, 10_000)]
    finally:
        store.close()


def test_the_indexer_stores_each_sentence_parse_and_its_parser(settings, fake_embedder):
    parser = CountingParser("fake 1.0")
    report = index_paths([SEED_ARTICLE], settings, embedder=fake_embedder, parser=parser)
    assert report.indexed == [SEED_ID]
    stored = stored_parses(settings)
    assert len(stored) == report.sentences == len(parser.parsed)
    assert all(s is not None and s.parser == "fake 1.0" for s in stored)
    assert [decode(s.record, t) for s, t in zip(stored, parser.parsed, strict=True)] == [
        fake_parse(t) for t in parser.parsed]
    assert open_store(settings).meta()["parser"] == "fake 1.0"


def test_switched_off_the_indexer_parses_nothing(settings, fake_embedder):
    off = settings.model_copy(update={"index": settings.index.model_copy(update={"store_parses": False})})
    parser = CountingParser()
    index_paths([SEED_ARTICLE], off, embedder=fake_embedder, parser=parser)
    assert parser.parsed == []
    assert set(stored_parses(off)) == {None}
    assert "parser" not in open_store(off).meta()


def test_another_parser_drops_the_parses_of_the_one_before(settings, fake_embedder, tmp_path):
    index_paths([SEED_ARTICLE], settings, embedder=fake_embedder, parser=CountingParser("fake 1.0"))
    other = tmp_path / "other.txt"
    other.write_text("Harbour news\n\nThe harbour bridge reopened on Monday after repairs.\n")
    index_paths([other], settings, embedder=fake_embedder, parser=CountingParser("fake 2.0"))
    store = open_store(settings)
    try:
        assert store.meta()["parser"] == "fake 2.0"
        with store.snapshot() as reader:
            found = reader.articles_by_id([SEED_ID, "other"])
            seed = reader.sentences(found[SEED_ID], 0, 10_000)
            new = reader.sentences(found["other"], 0, 10_000)
    finally:
        store.close()
    assert {s.parse for s in seed} == {None}
    assert new and all(s.parse is not None and s.parse.parser == "fake 2.0" for s in new)


def test_an_index_from_before_stored_parses_is_read_and_then_gains_them(settings, fake_embedder, tmp_path):
    off = settings.model_copy(update={"index": settings.index.model_copy(update={"store_parses": False})})
    index_paths([SEED_ARTICLE], off, embedder=fake_embedder)
    con = sqlite3.connect(settings.index.dir / "qa.sqlite")
    con.execute("ALTER TABLE sentences DROP COLUMN parse")  # as an older release wrote it
    con.commit()
    con.close()
    assert set(stored_parses(settings)) == {None}  # read as it is, without the column
    other = tmp_path / "other.txt"
    other.write_text("Harbour news\n\nThe harbour bridge reopened on Monday after repairs.\n")
    index_paths([other], settings, embedder=fake_embedder, parser=CountingParser("fake 1.0"))
    store = open_store(settings)
    try:
        with store.snapshot() as reader:
            found = reader.articles_by_id([SEED_ID, "other"])
            assert {s.parse for s in reader.sentences(found[SEED_ID], 0, 99)} == {None}
            assert all(s.parse for s in reader.sentences(found["other"], 0, 99))
    finally:
        store.close()


def test_evidence_carries_the_stored_parse(settings, fake_embedder):
    from qa.answer.evidence import load_candidates

    index_paths([SEED_ARTICLE], settings, embedder=fake_embedder, parser=CountingParser("fake 1.0"))
    store = open_store(settings)
    try:
        with store.snapshot() as reader:
            article = reader.articles_by_id([SEED_ID])[SEED_ID]
            chunk = reader.chunks(reader.lexical("Healey meeting", 1, None))
        hits = [_hit(c, article) for c in chunk.values()]
        qvec = fake_embedder.encode(["Who chaired the meeting?"])[0]
        evidence = load_candidates(store, hits, "Who chaired the meeting?", np.asarray(qvec))
    finally:
        store.close()
    assert evidence and all(c.parse is not None for c in evidence)
    assert all(decode(c.parse.record, c.sentence.text) == fake_parse(c.sentence.text) for c in evidence)


def _hit(chunk, article):
    from qa.types import Hit

    return Hit(chunk=replace(chunk), score=1.0, title=article.title)

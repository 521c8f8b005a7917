"""What only the PostgreSQL backend has: filtered HNSW search that never returns too few rows,
the recorded schema version and its migration, and several processes sharing one database."""

from __future__ import annotations

import threading
import time

import numpy as np
import psycopg
import pytest

from qa import Assistant, FakeEmbedder, IndexStateError, Settings, index_articles
from qa.store import pg_schema
from qa.store.pg_reader import PostgresReader
from qa.store.postgres import PostgresStore
from qa.store.protocol import PreparedArticle, open_store
from qa.types import Article, Chunk, Sentence
from tests.conftest import SEED_ARTICLE

DIM = 64
EMBEDDER = FakeEmbedder(name="fake-hash")


def synthetic(n: int, rare_every: int, seed: int = 7) -> list[PreparedArticle]:
    """``n`` one-chunk articles with random unit vectors; every ``rare_every``-th is from "Rare"."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        text = f"Item {i} says little. It is synthetic."
        article = Article(id=f"a{i:05d}", title=f"Item {i}", text=text, date="2025-01-01",
                          source="Rare" if i % rare_every == 0 else "Common")
        sentences = [Sentence(article.id, 0, 0, 20, text[:20]),
                     Sentence(article.id, 1, 21, len(text), text[21:])]
        vectors = rng.standard_normal((3, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        chunks = [Chunk(article.id, 0, 1, text)]
        out.append(PreparedArticle(article, sentences, vectors[:2], chunks, vectors[2:]))
    return out


@pytest.fixture
def big_store(pg_settings: Settings):
    low_ef = pg_settings.model_copy(deep=True)
    low_ef.store.ef_search = 10
    store = PostgresStore.open_for_writing(low_ef, "fake-hash", DIM)
    items = synthetic(3000, rare_every=500)  # 6 "Rare" chunks among 3000
    for start in range(0, len(items), 1000):
        store.write(items[start:start + 1000])
    yield store, items
    store.close()


def exact_top(items: list[PreparedArticle], query: np.ndarray, n: int, source: str | None) -> list[str]:
    chosen = [p for p in items if source is None or p.article.source == source]
    scores = np.array([float(p.chunk_vectors[0] @ query) for p in chosen])
    return [chosen[i].article.id for i in np.argsort(-scores)[:n]]


def test_a_selective_filter_still_returns_the_rows_asked_for(big_store, monkeypatch):
    store, items = big_store
    query = items[1].chunk_vectors[0]
    expected = sorted(exact_top(items, query, 5, "Rare"))
    plain = ("SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id"
             " WHERE a.source = 'Rare' ORDER BY c.vector <#> %s LIMIT 5")
    fallbacks = []
    original = PostgresReader.exact
    monkeypatch.setattr(PostgresReader, "exact",
                        lambda self, *a: fallbacks.append(a[1]) or original(self, *a))
    with store.snapshot() as reader:
        # Without a sort allowed, the planner must walk the graph (with statistics it may prefer
        # the source index and a sort, which is exact). pgvector < 0.8 filters after the graph
        # search, so the plain query comes back short...
        reader.con.execute("SET LOCAL enable_sort = off")
        reader.con.execute("SET LOCAL hnsw.ef_search = 10")
        plan = "\n".join(r[0] for r in reader.con.execute("EXPLAIN " + plain, (query,)).fetchall())
        naive = reader.con.execute(plain, (query,)).fetchall()
        assert "chunks_hnsw" in plan and len(naive) < 5
        # ... and the store's search, on the same plan, falls back to an exact one.
        forced = reader.chunks(reader.dense(query, 5, {"source": "Rare"}))
        assert fallbacks
    assert sorted(c.article_id for c in forced.values()) == expected
    with store.snapshot() as reader:  # whatever plan the planner picks
        found = reader.chunks(reader.dense(query, 5, {"source": "Rare"}))
        everything = reader.dense(query, 50, {"source": "Rare"})
    assert sorted(c.article_id for c in found.values()) == expected
    assert len(everything) == 6  # all there are


def test_unfiltered_and_broad_searches_use_the_graph_with_good_recall(big_store, monkeypatch):
    store, items = big_store
    monkeypatch.setattr(PostgresReader, "exact", lambda *a: pytest.fail("exact search not expected"))
    rng = np.random.default_rng(1)
    recalls = []
    with store.snapshot() as reader:
        for row in rng.choice(len(items), 20, replace=False):
            query = items[row].chunk_vectors[0]
            found = reader.chunks(reader.dense(query, 10, {"source": "Common"}))
            assert len(found) == 10
            truth = set(exact_top(items, query, 10, None))
            recalls.append(len(truth & {c.article_id for c in found.values()}) / 10)
    assert np.mean(recalls) >= 0.5  # ef_search 10 on random 64-d vectors: a floor, not a target


def test_the_schema_version_is_recorded_and_a_newer_one_refused(pg_settings):
    index_articles([Article(id="x", title="X", text="One sentence here. And another.")], pg_settings,
                   embedder=EMBEDDER)
    store = open_store(pg_settings)
    assert store.meta()["schema"] == pg_schema.SCHEMA_VERSION
    store.close()
    pg_schema.ensure_schema(pg_settings.store.dsn, pg_settings.store.schema_name)  # current: a no-op
    with psycopg.connect(pg_settings.store.dsn, autocommit=True) as con:
        con.execute(f"UPDATE {pg_settings.store.schema_name}.meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(IndexStateError, match="newer qa"):
        open_store(pg_settings)


def test_processes_starting_together_migrate_once(pg_settings):
    errors: list[BaseException] = []

    def start() -> None:
        try:
            pg_schema.ensure_schema(pg_settings.store.dsn, pg_settings.store.schema_name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_an_unreachable_database_is_a_one_line_error(pg_settings):
    broken = pg_settings.model_copy(deep=True)
    broken.store.dsn = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    with pytest.raises(IndexStateError, match="cannot reach PostgreSQL"):
        open_store(broken)


def test_an_article_added_through_one_server_is_answered_by_another(pg_settings):
    """Two services with their own connections, as two `qa serve` processes have."""
    from ui.service import ChatService

    index_articles([Article(id="x", title="X", text="Nothing relevant here. Really nothing.")],
                   pg_settings, embedder=EMBEDDER)
    first = ChatService(pg_settings, Assistant(pg_settings, embedder=EMBEDDER))
    second = ChatService(pg_settings, Assistant(pg_settings, embedder=EMBEDDER))
    try:
        assert not second.ask("Who chaired the meeting?").citations
        lines = first.add_text("Coalition planning", SEED_ARTICLE.read_text(encoding="utf-8"))
        added = [line.removeprefix("Indexed: ") for line in lines if line.startswith("Indexed: ")]
        assert len(added) == 1
        answer = second.ask("Who chaired the meeting?")
        assert answer.citations and answer.citations[0].article_id == added[0]
        assert second.health()["articles"] == 2
    finally:
        first.assistant.close()
        second.assistant.close()


def test_word_frequencies_come_from_the_planner_statistics(pg_settings):
    """The full-text plan's document frequencies: none before ANALYZE (the plan is then the
    unbounded OR), then the listed lexemes' frequencies, stemmed as the index is, and a word not
    listed below the least listed one."""
    from tests.store.conftest import refresh_statistics
    from tests.store.test_lexical import COMMON, RARE

    index_articles([*COMMON, RARE], pg_settings, embedder=EMBEDDER)  # 25 chunks: autovacuum waits for 50
    store = PostgresStore.open(pg_settings)
    try:
        with store.snapshot() as reader:
            assert reader.word_rows("chunks", ["council", "zeppelin"]) == {}
        refresh_statistics(pg_settings)
        with store.snapshot() as reader:
            rows = reader.word_rows("chunks", ["councils", "zeppelin", "the"])
            in_sentences = reader.word_rows("sentences", ["councils", "zeppelin", "the"])
            sentences = reader.count("sentences")
    finally:
        store.close()
    assert rows["councils"] == pytest.approx(24)
    assert 0 < in_sentences["councils"] <= sentences and in_sentences["zeppelin"] < 2
    assert 0 < rows["zeppelin"] < 2
    assert "the" not in rows  # a stopword has no lexeme


def test_date_bounds_that_exclude_no_article_are_dropped(pg_settings):
    """A question's as-of date (today) excludes nothing from an archive of past news: dropped, the
    search walks the graph unfiltered (a kept filter costs a 4x larger walk on pgvector < 0.8).
    A bound that excludes an article, or an undated one, stays."""
    dated = [Article(id=f"d{i}", title="T", text="Some words here. More words there.", date=date)
             for i, date in enumerate(["2025-01-05", "2025-03-01T10:00Z", "2025-02-10"])]
    index_articles(dated, pg_settings, embedder=EMBEDDER)
    store = PostgresStore.open(pg_settings)
    try:
        with store.snapshot() as reader:
            assert reader.needed({"as_of": "2025-03-01", "source": "X"}) == {"source": "X"}
            assert reader.needed({"as_of": "2025-02-28"}) == {"as_of": "2025-02-28"}
            assert reader.needed({"date_from": "2025-01-05", "date_to": "2025-03-01"}) is None
            assert reader.needed({"date_from": "2025-01-06", "date_to": "2025-02-28"}) == {
                "date_from": "2025-01-06", "date_to": "2025-02-28"}
        store.write(synthetic_undated())
        with store.snapshot() as reader:  # an undated article fails date_from/date_to, passes as_of
            wide = {"date_from": "2020-01-01", "date_to": "2030-01-01"}
            assert reader.needed({**wide, "as_of": "2030-01-01"}) == wide
    finally:
        store.close()


def synthetic_undated() -> list[PreparedArticle]:
    article = Article(id="undated", title="U", text="No date at all. None.")
    vectors = EMBEDDER.encode(["No date at all.", "None.", "No date at all. None."])
    return [PreparedArticle(article, [Sentence("undated", 0, 0, 15, "No date at all."),
                                      Sentence("undated", 1, 16, 21, "None.")],
                            vectors[:2], [Chunk("undated", 0, 1, article.text)], vectors[2:])]


def test_a_vacuous_as_of_searches_exactly_as_no_filter(big_store, monkeypatch):
    store, items = big_store  # every article dated 2025-01-01; ef_search 10: an approximate graph
    monkeypatch.setattr(PostgresReader, "exact", lambda *a: pytest.fail("exact search not expected"))
    with store.snapshot() as reader:
        for row in (3, 333, 2999):
            query = items[row].chunk_vectors[0]
            assert reader.dense(query, 10, {"as_of": "2026-06-01"}) == reader.dense(query, 10, None)
            assert reader.dense_sentences(query, 10, {"as_of": "2025-01-01"}) == \
                reader.dense_sentences(query, 10, None)


def test_reads_per_question_do_not_grow_with_the_chunks_read(pg_settings, monkeypatch):
    """Articles and sentence runs are read in one query each, however many chunks a question
    keeps: over a network every query is a round trip. (One connection: the sentence searches
    then run in turn, so that every statement is counted in this thread.)"""
    pg_settings = pg_settings.model_copy(deep=True)
    pg_settings.store.pool_size = 1
    seed = Article(id="seed", title="Coalition planning", text=SEED_ARTICLE.read_text(encoding="utf-8"))
    index_articles([seed, *[Article(id=f"n{i}", title=f"Meeting {i}", text=(
        f"The meeting number {i} was chaired by someone. It discussed planning for days. "
        "Ministers attended the meeting. A decision followed.")) for i in range(8)]],
        pg_settings, embedder=EMBEDDER)
    statements: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(self, query, params=None, **kwargs):
        statements.append(str(query))
        return execute(self, query, params, **kwargs)

    assistant = Assistant(pg_settings, embedder=EMBEDDER)
    try:
        assistant.ask("Who attended?")  # the pool's connection set up, outside the count
        monkeypatch.setattr(psycopg.Cursor, "execute", counted)
        counts = {}
        for k in (1, 8):
            statements.clear()
            answer = assistant.ask("Who chaired the meeting?", k=k)
            counts[k] = len(statements)
            assert len(answer.retrieved) == k
    finally:
        assistant.close()
    assert counts[1] == counts[8]
    assert not any("WHERE id = %s" in s or "article_id = %s" in s for s in statements)


def sentence_articles(reader, found) -> set[str]:
    places = reader.sentence_places(found.dense_sentences + found.lexical_sentences)
    return {place[0] for place in places.values()}


def test_the_sentence_searches_run_beside_in_the_same_snapshot(pg_settings, monkeypatch):
    """The sentence searches run on a second connection that imports the snapshot: an article
    committed after the snapshot began is found by neither side, and by both in the next one."""
    from tests.store.test_contract import HARBOUR, ORCHARD, prepared

    index_articles([HARBOUR, ORCHARD], pg_settings, embedder=EMBEDDER)
    late = Article(id="late", title="Zeppelin", text="A zeppelin landed at the harbour. Its crew cheered.")
    threads: list[str] = []
    original = PostgresReader.lexical_sentences

    def recorded(self, *args):
        threads.append(threading.current_thread().name)
        return original(self, *args)

    monkeypatch.setattr(PostgresReader, "lexical_sentences", recorded)
    text = "zeppelin landed at the harbour"
    query = EMBEDDER.encode([text])[0]
    store = PostgresStore.open(pg_settings)
    try:
        with store.snapshot() as reader:
            assert reader.article_dates(["harbour"])  # the snapshot is taken at its first read
            store.write([prepared(late, pg_settings)])
            for _ in range(40):  # the first questions may find the pool still growing
                found = reader.searches(text, lambda: query, 10, None)
                if threads[-1].startswith("qa-pg-side"):
                    break
                time.sleep(0.05)
            assert threads[-1].startswith("qa-pg-side")
            assert "late" not in sentence_articles(reader, found)
            assert "late" not in {c.article_id for c in reader.chunks(found.dense + found.lexical).values()}
            assert "harbour" in sentence_articles(reader, found)
        with store.snapshot() as reader:
            found = reader.searches(text, query, 10, None)
            assert "late" in sentence_articles(reader, found)
            assert "late" in {c.article_id for c in reader.chunks(found.dense + found.lexical).values()}
    finally:
        store.close()


def test_without_a_free_connection_the_searches_run_in_turn(pg_settings):
    from tests.store.test_contract import HARBOUR, ORCHARD

    one = pg_settings.model_copy(deep=True)
    one.store.pool_size = 1
    index_articles([HARBOUR, ORCHARD], one, embedder=EMBEDDER)
    text = "harbour bridge apples cider harvest ribbon"
    query = EMBEDDER.encode([text])[0]
    store = PostgresStore.open(one)
    try:
        with store.snapshot() as reader:
            found = reader.searches(text, query, 5, None)
            assert found.dense == reader.dense(query, 5, None)
            assert found.lexical_sentences == reader.lexical_sentences(text, 5, None)
            assert found.dense_sentences == reader.dense_sentences(query, 5, None)
            assert found.dense_sentences and found.lexical_sentences
    finally:
        store.close()

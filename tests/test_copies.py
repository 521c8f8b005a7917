"""Wire copies: detection quality (fixture and a synthetic set of edited reprints) and story
bookkeeping in the index (incremental, remove, replace, older indexes)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections import defaultdict
from pathlib import Path

from benchmarks.corpus import generate
from benchmarks.wire import _topic, wire_set
from qa import Index, index_articles, index_paths, remove_articles
from qa.ingest import copies
from qa.types import Article

from .conftest import ROOT
from .fakes import MemoryStories

FIXTURE = ROOT / "tests" / "data" / "news_fixture"


def fixture_rows() -> list[dict]:
    return [json.loads(line) for path in sorted(FIXTURE.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def same_story_pairs(stories: dict[str, str]) -> set[tuple[str, str]]:
    groups = defaultdict(list)
    for article_id, story in stories.items():
        groups[story].append(article_id)
    return {tuple(sorted(p)) for members in groups.values() for p in itertools.combinations(members, 2)}


def precision_recall(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float]:
    got, want = same_story_pairs(predicted), same_story_pairs(truth)
    hits = len(got & want)
    return hits / max(1, len(got)), hits / max(1, len(want))


def indexed_stories(settings) -> dict[str, str]:
    return {row["id"]: row["story"] for row in Index.open(settings).articles()}


# ------------------------------------------------------------------ detection


def test_signature_is_stable_and_round_trips() -> None:
    text = generate(1, seed=2)[0]["text"]
    sig = copies.signature(text)
    assert (copies.signature(text).values == sig.values).all()
    again = copies.Signature.from_bytes(sig.to_bytes(), sig.shingles)
    assert (again.values == sig.values).all() and len(copies.band_keys(sig)) == copies.NUM_PERM // copies.ROWS
    assert copies.band_keys(copies.signature("Too short to be a reprint.")) == []


def test_a_trimmed_reprint_is_a_copy_by_containment_not_by_jaccard() -> None:
    rows = {r["id"]: r for r in fixture_rows()}
    wire, trimmed = rows["mpa-tarrow-floods"]["text"], rows["eastmoor-millbeck-shelters"]["text"]
    exact = copies.exact(copies.shingles(wire), copies.shingles(trimmed))
    assert exact.jaccard < copies.JACCARD_COPY <= copies.CONTAINMENT_COPY <= exact.containment
    estimated = copies.estimate(copies.signature(wire), copies.signature(trimmed))
    assert estimated.may_be_copy and abs(estimated.jaccard - exact.jaccard) < 0.15
    column = rows["harlow-flood-defences-column"]["text"]  # quotes one sentence of the wire story
    assert not copies.exact(copies.shingles(wire), copies.shingles(column)).is_copy


def test_grouping_precision_and_recall_on_edited_reprints() -> None:
    rows = wire_set(800, seed=3)
    truth = {r["id"]: r["story"] for r in rows}
    hard_negatives = sum(1 for a, b in itertools.combinations(rows, 2)
                         if _topic(a) == _topic(b) and truth[a["id"]] != truth[b["id"]])
    assert hard_negatives > 10_000  # unrelated articles sharing a topic, names and phrases
    store = MemoryStories()
    for row in rows:
        store.add(row["id"], row["text"])
    precision, recall = precision_recall(store.stories(), truth)
    print(f"synthetic 800: precision {precision:.3f} recall {recall:.3f}")
    assert precision >= 0.98 and recall >= 0.97


def test_grouping_precision_and_recall_on_the_fixture(settings, fake_embedder) -> None:
    report = index_paths([FIXTURE], settings, embedder=fake_embedder)
    assert len(report.indexed) == 12 and not report.errors
    stories = indexed_stories(settings)
    assert precision_recall(stories, {r["id"]: r["story"] for r in fixture_rows()}) == (1.0, 1.0)
    assert stories["eastmoor-millbeck-shelters"] == "mpa-tarrow-floods"  # named after the earliest
    info = Index.open(settings).info()
    assert (info["articles"], info["stories"], info["copies"]) == (12, 8, 4)


# ------------------------------------------------------------------ bookkeeping in the index


def as_article(row: dict, **changes) -> Article:
    fields = {k: row[k] for k in ("id", "title", "text", "date", "source")}
    return Article(**{**fields, **changes})


def test_a_later_copy_joins_the_story_and_nothing_else_is_regrouped(settings, fake_embedder,
                                                                    monkeypatch) -> None:
    rows = [r for r in fixture_rows() if r["story"] in ("flood-wire", "port-wire")]
    index_articles([as_article(r) for r in rows[:2]], settings, embedder=fake_embedder)
    assigned: list[str] = []
    real = copies.assign_story
    monkeypatch.setattr(copies, "assign_story",
                        lambda store, aid, text: assigned.append(aid) or real(store, aid, text))
    index_articles([as_article(r) for r in rows[2:]], settings, embedder=fake_embedder)
    assert assigned == [r["id"] for r in rows[2:]]  # only the new articles were grouped
    stories = indexed_stories(settings)
    assert {stories[r["id"]] for r in rows if r["story"] == "flood-wire"} == {"mpa-tarrow-floods"}
    assert {stories[r["id"]] for r in rows if r["story"] == "port-wire"} == {"mpa-selmark-arrests"}


def _chain() -> list[Article]:
    """A full text and two halves of it: each half is a copy of the whole, not of each other."""
    paragraphs = [p for row in generate(6, seed=9) for p in row["text"].split("\n\n")][:16]
    whole = "\n\n".join(paragraphs)
    return [Article("first-half", "Part one", "\n\n".join(paragraphs[:8])),
            Article("whole", "All of it", whole),
            Article("second-half", "Part two", "\n\n".join(paragraphs[8:]))]


def test_removing_the_link_splits_the_story(settings, fake_embedder) -> None:
    index_articles(_chain(), settings, embedder=fake_embedder)
    assert set(indexed_stories(settings).values()) == {"first-half"}
    remove_articles(["whole"], settings)
    assert indexed_stories(settings) == {"first-half": "first-half", "second-half": "second-half"}


def test_removing_the_earliest_renames_the_story_after_the_next(settings, fake_embedder) -> None:
    rows = [as_article(r) for r in fixture_rows() if r["story"] == "flood-wire"]
    index_articles(rows, settings, embedder=fake_embedder)
    remove_articles(["mpa-tarrow-floods"], settings)
    assert set(indexed_stories(settings).values()) == {"harlow-tarrow-floods"}


def test_replacing_an_article_moves_it_between_stories(settings, fake_embedder) -> None:
    rows = {r["id"]: r for r in fixture_rows()}
    index_articles([as_article(r) for r in rows.values()], settings, embedder=fake_embedder)
    other = rows["northgate-selmark-strike"]["text"] + "\n\nThe strike is the third this year."
    index_articles([as_article(rows["harlow-tarrow-floods"], text=other)], settings, embedder=fake_embedder)
    stories = indexed_stories(settings)
    assert stories["harlow-tarrow-floods"] == "northgate-selmark-strike"
    assert stories["eastmoor-millbeck-shelters"] == "mpa-tarrow-floods"
    index_articles([as_article(rows["harlow-tarrow-floods"])], settings, embedder=fake_embedder)
    stories = indexed_stories(settings)
    assert stories["harlow-tarrow-floods"] == "mpa-tarrow-floods"
    assert stories["northgate-selmark-strike"] == "northgate-selmark-strike"


def test_grouping_off_then_on_catches_up(settings, fake_embedder) -> None:
    off = settings.model_copy(update={"index": settings.index.model_copy(update={"group_copies": False})})
    index_paths([FIXTURE], off, embedder=fake_embedder)
    assert Index.open(off).info()["stories"] == 12
    index_paths([FIXTURE], settings, embedder=fake_embedder)  # nothing new: only the catch-up
    assert Index.open(settings).info()["stories"] == 8


def test_an_index_from_before_grouping_reads_and_is_grouped_on_the_next_run(settings, fake_embedder) -> None:
    index_paths([FIXTURE], settings, embedder=fake_embedder)
    database = Path(settings.index.dir) / "qa.sqlite"
    with sqlite3.connect(database) as con:  # what an index written before this change looks like
        con.executescript("DROP TABLE copy_bands; DROP TABLE copies; DELETE FROM meta WHERE key='copies';")
    index = Index.open(settings)
    assert index.info()["stories"] == 12 and index.stories() == {}
    with index.snapshot() as reader:
        assert reader.stories(["mpa-tarrow-floods"]) == {"mpa-tarrow-floods": "mpa-tarrow-floods"}
    index.close()
    index_paths([FIXTURE], settings, embedder=fake_embedder)
    assert Index.open(settings).info()["stories"] == 8


def test_stories_lists_members_in_indexing_order(settings, fake_embedder) -> None:
    rows = [as_article(r) for r in fixture_rows() if r["story"] == "flood-wire"]
    index_articles(rows, settings, embedder=fake_embedder)
    assert Index.open(settings).stories() == {"mpa-tarrow-floods": [r.id for r in rows]}

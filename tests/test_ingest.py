import json
from pathlib import Path

import pytest

from qa import InputError
from qa.ingest.chunking import article_sentences
from qa.ingest.readers import IngestWarning, iter_files, read_articles

from .conftest import SEED_ARTICLE, SEED_ID


def one(path: Path):
    articles = list(read_articles(path))
    assert len(articles) == 1
    return articles[0]


def test_seed_clean_up() -> None:
    article = one(SEED_ARTICLE)
    assert article.id == SEED_ID
    assert article.title == "UK urges ‘coalition’ to step up Ukraine planning"
    lines = article.text.splitlines()
    assert "|" not in lines  # lone separator dropped
    assert "with Reuters" not in lines and "AP" not in lines  # agency tags dropped
    caption = "Defence Minister Rustem Umerov says “Ukraine is ready for peace … backed by strength”."
    assert article.text.count(caption) == 1  # the caption printed twice is kept once
    captions = [article.text[s:e] for s, e in article.captions]
    assert caption in captions
    assert "John Healey" in captions  # the label above a credited photo caption
    assert any(c.endswith("(AP PHOTO)") for c in captions)
    assert article.text.startswith(caption)  # the headline is the title, not body text


def test_captions_are_labelled_on_sentences() -> None:
    article = one(SEED_ARTICLE)
    flagged = [s.text for s in article_sentences(article) if s.is_caption]
    assert any("(AP PHOTO)" in t for t in flagged)
    body = [s for s in article_sentences(article) if s.text.startswith("Chairing the first meeting")]
    assert body and not body[0].is_caption


def test_every_sentence_offset_reproduces_stored_text() -> None:
    article = one(SEED_ARTICLE)
    for s in article_sentences(article):
        assert article.text[s.start : s.end] == s.text


def test_markdown(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("# Big **news** today\n\nThe [council](http://x) met on *Monday*.\n\n- It voted.\n")
    article = one(path)
    assert article.title == "Big news today"
    assert article.text == "The council met on Monday.\n\nIt voted."


def test_html_drops_scripts_and_keeps_metadata(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Council votes</title>"
        '<meta property="article:published_time" content="2025-04-10T09:00:00Z">'
        '<meta property="og:site_name" content="Daily"></head><body><nav>Home | World</nav>'
        "<h1>Council votes</h1><p>The council <b>voted</b> on Monday.</p>"
        "<script>alert('x')</script><figure><img src=a.jpg><figcaption>The mayor. (Photo: AP)"
        "</figcaption></figure><p>It passed 5-2.<p>Unclosed tags <i>here</div></body></html>"
    )
    article = one(path)
    assert article.title == "Council votes"
    assert article.date == "2025-04-10" and article.source == "Daily"
    assert "alert" not in article.text and "Home" not in article.text
    assert "The council voted on Monday." in article.text
    assert [article.text[s:e] for s, e in article.captions] == ["The mayor. (Photo: AP)"]
    assert "Unclosed tags here" in article.text


def test_jsonl_keeps_good_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    path = tmp_path / "articles.jsonl"
    rows = [
        json.dumps({"id": "a1", "title": "First", "text": "One thing happened.", "date": "2025-01-02",
                    "source": "Wire"}),
        "{not json",
        json.dumps({"title": "No text"}),
        json.dumps({"text": "Headline here\n\nSomething else happened."}),
    ]
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(IngestWarning) as caught:
        articles = list(read_articles(path))
    assert next(a.id for a in articles) == "a1"
    assert articles[0].source == "Wire" and articles[0].date == "2025-01-02"
    assert articles[1].title == "Headline here" and len(articles[1].id) == 16  # content hash id
    messages = [str(w.message) for w in caught]
    assert any(":2:" in m for m in messages) and any(":3:" in m for m in messages)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10)
    with pytest.raises(InputError, match="binary"):
        list(read_articles(path))


def test_non_utf8_is_decoded_with_a_warning_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Café news\n\nThe café reopened on Monday.".encode("cp1252"))
    with pytest.warns(IngestWarning, match="latin.txt"):
        article = one(path)
    assert "café reopened" in article.text


def test_empty_file_yields_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.warns(IngestWarning, match="no text"):
        assert list(read_articles(path)) == []


def test_folder_skips_readme_and_eval_sets(tmp_path: Path) -> None:
    for name in ("a.txt", "README.md", "eval.jsonl", "b.md", "c.pdf"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in iter_files([tmp_path])] == ["a.txt", "b.md"]


def test_unsupported_or_missing_file(tmp_path: Path) -> None:
    (tmp_path / "doc.pdf").write_text("x")
    with pytest.raises(InputError, match="unsupported"):
        list(iter_files([tmp_path / "doc.pdf"]))
    with pytest.raises(InputError, match="no such file"):
        list(iter_files([tmp_path / "missing.txt"]))


def test_first_line_is_a_title_only_when_it_looks_like_a_headline(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    paragraph = "The council met on Monday and voted to close the old bridge for repairs."
    path.write_text(json.dumps({"id": "p", "text": paragraph + "\n\nIt reopens in May."}) + "\n")
    article = one(path)
    assert article.text.startswith(paragraph)  # a paragraph is never lost into the title
    assert article.title.startswith("The council met")
    path.write_text(json.dumps({"id": "h", "text": "Bridge to close\n\nThe council voted."}) + "\n")
    article = one(path)
    assert article.title == "Bridge to close" and article.text == "The council voted."

"""Property-based tests (hypothesis): for any text, sentence offsets reproduce it exactly, sentences
are stripped, non-empty, in order and non-overlapping, and together cover every non-space
character; chunks and captions keep the same promise on cleaned articles."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.ingest.chunking import article_sentences, make_chunks
from qa.ingest.readers import _Line, build_article
from qa.ingest.sentences import MAX_SENTENCE_CHARS, split_sentences

PIECES = [
    "Mr.", "U.S.", "Jan.", "e.g.", "J. K.", "3.5", "$2.4 billion", "…", "...", "!", "?", ".", "。", "！",
    "？", "“", "”", "‘", "’", "\"", "'", "(", ")", "[", "]", "«", "»", "¿", "(AP PHOTO)", " ", "  ", "\n",
    "\n\n", "\r\n", "\r", "\t", "\u2028", "\u00a0", "\u3000", "The", "minister", "said", "Ukraine",
    "Порт", "мэр", "الميناء", "港口", "Ölpreis", "élan", "42", "A", "b", "-", "—",
]

texts = st.one_of(
    st.text(max_size=400),
    st.lists(st.sampled_from(PIECES), max_size=120).map("".join),
    st.lists(st.sampled_from(PIECES + [" "] * 10), min_size=300, max_size=1500).map("".join),
)
common = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@common
@given(texts)
def test_sentence_spans_are_exact_ordered_and_cover_the_text(text: str) -> None:
    spans = split_sentences(text)
    covered = [False] * len(text)
    previous_end = 0
    for start, end in spans:
        piece = text[start:end]
        assert 0 <= previous_end <= start < end <= len(text)  # in order, no overlap, non-empty
        assert piece == piece.strip()
        assert end - start <= MAX_SENTENCE_CHARS
        for i in range(start, end):
            covered[i] = True
        previous_end = end
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(text)), "text was dropped"


lines = st.lists(st.sampled_from(PIECES), min_size=1, max_size=25).map("".join)
blocks = st.lists(
    st.lists(st.tuples(lines, st.booleans()), min_size=1, max_size=6), min_size=1, max_size=8
)


@common
@given(blocks, st.integers(1, 6), st.integers(0, 5))
def test_article_sentences_chunks_and_captions_slice_the_stored_text(raw, size, overlap) -> None:
    article = build_article([[_Line(t, c) for t, c in block] for block in raw], title="T",
                            article_id="a")
    if article is None:
        return
    text = article.text
    for start, end in article.captions:
        assert 0 <= start < end <= len(text)
    sentences = article_sentences(article)
    for s in sentences:
        assert text[s.start : s.end] == s.text
    assert [s.idx for s in sentences] == list(range(len(sentences)))
    chunks = make_chunks(article, sentences, size, overlap)
    if sentences:
        assert chunks[0].first_sentence == 0 and chunks[-1].last_sentence == len(sentences) - 1
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.first_sentence < after.first_sentence <= before.last_sentence + 1
    for c in chunks:
        assert c.text == text[sentences[c.first_sentence].start : sentences[c.last_sentence].end]
        assert c.last_sentence - c.first_sentence < size

from qa.ingest.chunking import article_sentences, make_chunks
from qa.ingest.readers import read_articles

from .conftest import SEED_ARTICLE


def test_chunks_are_overlapping_sentence_windows() -> None:
    article = next(read_articles(SEED_ARTICLE))
    sentences = article_sentences(article)
    chunks = make_chunks(article, sentences, size=5, overlap=2)
    covered = set()
    for chunk in chunks:
        assert chunk.last_sentence - chunk.first_sentence + 1 <= 5
        first, last = sentences[chunk.first_sentence], sentences[chunk.last_sentence]
        assert chunk.text == article.text[first.start : last.end]
        covered.update(range(chunk.first_sentence, chunk.last_sentence + 1))
    assert covered == set(range(len(sentences)))
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.first_sentence == a.first_sentence + 3  # stride = size - overlap
    assert chunks[-1].last_sentence == len(sentences) - 1


def test_overlap_not_smaller_than_size_still_progresses() -> None:
    article = next(read_articles(SEED_ARTICLE))
    sentences = article_sentences(article)
    chunks = make_chunks(article, sentences, size=2, overlap=5)
    assert len(chunks) == len(sentences) - 1

"""Sentences of an article, and sentence-aligned chunks over them.

Chunks are windows of ``size`` sentences that overlap by ``overlap`` sentences, so that an answer
whose evidence straddles a window edge is still inside one chunk. A chunk never splits a sentence,
which is what lets every retrieved chunk be mapped back to citable sentences.
"""

from __future__ import annotations

from qa.ingest.sentences import split_sentences
from qa.types import Article, Chunk, Sentence


def article_sentences(article: Article) -> list[Sentence]:
    return [
        Sentence(
            article_id=article.id,
            idx=i,
            start=start,
            end=end,
            text=article.text[start:end],
            is_caption=_in_caption(article, start, end),
        )
        for i, (start, end) in enumerate(split_sentences(article.text))
    ]


def _in_caption(article: Article, start: int, end: int) -> bool:
    return any(c_start <= start and end <= c_end for c_start, c_end in article.captions)


def make_chunks(article: Article, sentences: list[Sentence], size: int, overlap: int) -> list[Chunk]:
    if not sentences:
        return []
    step = max(1, size - min(overlap, size - 1))
    chunks = []
    for first in range(0, len(sentences), step):
        last = min(first + size, len(sentences)) - 1
        text = article.text[sentences[first].start : sentences[last].end]
        chunks.append(Chunk(article_id=article.id, first_sentence=first, last_sentence=last, text=text))
        if last == len(sentences) - 1:
            break
    return chunks

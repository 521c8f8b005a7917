import pytest

from qa.ingest.sentences import MAX_SENTENCE_CHARS, split_sentences

from .conftest import SEED_ARTICLE


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith went to Washington. He met U.S. officials.",
         ["Mr. Smith went to Washington.", "He met U.S. officials."]),
        ("The U.S. President spoke on Jan. 5. It rained.",
         ["The U.S. President spoke on Jan. 5.", "It rained."]),
        ("It cost $3.5 billion. Prices rose 2.4 percent!",
         ["It cost $3.5 billion.", "Prices rose 2.4 percent!"]),
        ("“Is it over?” he asked. “Not yet.” She left.",
         ["“Is it over?” he asked.", "“Not yet.”", "She left."]),
        ("Healey said “we are ready.” The talks went on.",
         ["Healey said “we are ready.”", "The talks went on."]),
        ("Ukraine is ready for peace … backed by strength. Next.",
         ["Ukraine is ready for peace … backed by strength.", "Next."]),
        ("A headline without punctuation\nThe body starts here.",
         ["A headline without punctuation", "The body starts here."]),
        ("Gen. J. K. Smith — the commander — arrived. Talks began.",
         ["Gen. J. K. Smith — the commander — arrived.", "Talks began."]),
        ("He chaired a meeting. (AP PHOTO)", ["He chaired a meeting. (AP PHOTO)"]),
        ("   \n\n  ", []),
    ],
)
def test_news_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_offsets_reproduce_every_seed_sentence() -> None:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    spans = split_sentences(text)
    assert len(spans) > 20
    previous_end = 0
    for start, end in spans:
        piece = text[start:end]
        assert piece == piece.strip() and piece
        assert start >= previous_end
        previous_end = end


def test_long_run_without_punctuation_is_wrapped_at_spaces() -> None:
    text = " ".join(["word"] * 1000)
    spans = split_sentences(text)
    assert len(spans) > 1
    assert all(e - s <= MAX_SENTENCE_CHARS for s, e in spans)
    assert " ".join(text[s:e] for s, e in spans) == text

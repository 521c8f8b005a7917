"""Find a model's short answer inside the sentences it was given, with exact offsets.

A short answer is trusted only where it stands in a sentence: the model's words are looked up
in the sentences it cited, then in the other sentences it was given (small models often cite a
neighbour of the right sentence). The match is exact, then case-insensitive, then word by word
(punctuation, spacing and a leading article may differ: "the Broncos" is found as "Broncos").
What is returned is the sentence's own text at those offsets, so the answer shown is the
article's wording, and ``article.text[start:end]`` is the answer exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.answer.evidence import Candidate
from qa.types import ShortAnswer

_WORD = re.compile(r"\w+")
_LEADING = {"the", "a", "an"}
_TRIM = " \t\n.,;:!?\"'“”‘’()"


@dataclass(frozen=True)
class Located:
    """The answer found in source ``n`` (1-based, as numbered in the prompt) at ``start:end``
    of that sentence."""

    n: int
    start: int
    end: int
    text: str


def locate(answer: str, sources: Sequence[Candidate], cited: Sequence[int]) -> Located | None:
    """The first place the answer occurs: cited sentences first, then the others given."""
    wanted = answer.strip(_TRIM)
    if not wanted:
        return None
    order = [n for n in dict.fromkeys(cited) if 1 <= n <= len(sources)]
    order += [n for n in range(1, len(sources) + 1) if n not in order]
    for find in (_exact, _folded, _by_words):
        for n in order:
            span = find(wanted, sources[n - 1].sentence.text)
            if span is not None:
                text = sources[n - 1].sentence.text[span[0]:span[1]]
                return Located(n, span[0], span[1], text)
    return None


def short_answer(found: Located, source: Candidate) -> ShortAnswer:
    """The span as offsets into the stored article (sentence offsets are article offsets)."""
    s = source.sentence
    return ShortAnswer(text=found.text, article_id=source.article.id,
                       start=s.start + found.start, end=s.start + found.end)


def prefix_in(partial: str, sentences: Sequence[str]) -> str | None:
    """While the answer streams: the sentence's own text for ``partial`` when some sentence
    holds it (case-insensitive), else None (the text is held back until it can be checked)."""
    if not partial:
        return ""
    lowered = partial.lower()
    if len(lowered) != len(partial):
        return None
    for text in sentences:
        folded = text.lower()
        if len(folded) != len(text):
            continue
        at = folded.find(lowered)
        while at >= 0 and at > 0 and folded[at - 1].isalnum() and lowered[0].isalnum():
            at = folded.find(lowered, at + 1)  # a match must start a word
        if at >= 0:
            return text[at:at + len(partial)]
    return None


def _exact(wanted: str, text: str) -> tuple[int, int] | None:
    return _whole_words(wanted, text)


def _folded(wanted: str, text: str) -> tuple[int, int] | None:
    lowered = text.lower()
    if len(lowered) != len(text) or len(wanted.lower()) != len(wanted):
        return None
    return _whole_words(wanted.lower(), lowered)


def _whole_words(wanted: str, text: str) -> tuple[int, int] | None:
    """The first occurrence that does not cut a word ("4" is not found in "24")."""
    at = text.find(wanted)
    while at >= 0:
        end = at + len(wanted)
        cut_before = at > 0 and text[at - 1].isalnum() and wanted[0].isalnum()
        cut_after = end < len(text) and text[end].isalnum() and wanted[-1].isalnum()
        if not (cut_before or cut_after):
            return at, end
        at = text.find(wanted, at + 1)
    return None


def _by_words(wanted: str, text: str) -> tuple[int, int] | None:
    """The run of the sentence's words equal to the answer's words (lower-cased)."""
    words = [w.lower() for w in _WORD.findall(wanted)]
    if words and words[0] in _LEADING and len(words) > 1:
        words = words[1:]
    if not words:
        return None
    tokens = list(_WORD.finditer(text))
    lowered = [t.group().lower() for t in tokens]
    for i in range(len(tokens) - len(words) + 1):
        if lowered[i:i + len(words)] == words:
            return tokens[i].start(), tokens[i + len(words) - 1].end()
    return None

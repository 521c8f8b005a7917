"""Quotations that run over more than one stored sentence.

News quotes often hold several sentences: “We must be ready for when that peace comes. That’s why
the work of this coalition is so vital,” Healey said. The sentence splitter stores them apart, and
the attribution ("Healey said") sits in the last one. When the reader picks such a quote's last
part, the answer is the whole quotation and both sentences are cited.
"""

from __future__ import annotations

from dataclasses import replace

from qa.answer.evidence import Candidate
from qa.types import Sentence

OPENING = "“\""
CLOSING = "”\""


def widen_quote(cand: Candidate, start: int, end: int) -> tuple[int, int, list[Candidate]]:
    """(start, end, earlier sentence to cite) of the whole quotation whose part is [start, end).

    Offsets are into ``cand.article.text``. Widened only when the sentence has no opening mark
    before the quoted part and the sentence before it opens a quotation it does not close.
    """
    text, s, context = cand.article.text, cand.sentence, cand.context
    if not context or any(ch in text[s.start:start] for ch in OPENING):
        return start, end, []
    prev_start = text.rfind(context, 0, s.start)
    if prev_start < 0 or text[prev_start + len(context):s.start].strip():
        return start, end, []
    opening = _unclosed_opening(context)
    if opening is None or _in_caption(cand, prev_start):
        return start, end, []
    prev = Sentence(s.article_id, s.idx - 1, prev_start, prev_start + len(context), context)
    return prev_start + opening + 1, end, [replace(cand, sentence=prev, context="")]


def balance_quotes(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """[start, end) with the quotation mark that closes (or opens) a quotation it leaves half
    open, when that mark sits right beside it within [lo, hi): "its members must ensure “that
    we’re fully prepared”", never "… ensure “that we’re fully prepared"."""
    span = text[start:end]
    if _unclosed_opening(span) is not None and end < hi and text[end] in CLOSING:
        end += 1
    if _unopened_closing(span) and start > lo and text[start - 1] in OPENING:
        start -= 1
    return start, end


def _unopened_closing(text: str) -> bool:
    curly = text.find("”")
    return curly >= 0 and "“" not in text[:curly]


def _unclosed_opening(text: str) -> int | None:
    """Where the quotation left open at the end of ``text`` starts, if one is."""
    curly = text.rfind("“")
    if curly >= 0 and "”" not in text[curly:]:
        return curly
    if text.count('"') % 2 == 1:
        return text.rfind('"')
    return None


def _in_caption(cand: Candidate, start: int) -> bool:
    return any(a <= start < b for a, b in cand.article.captions)

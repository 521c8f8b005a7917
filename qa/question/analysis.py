"""Read a question once: its context and interrogative parts, the expected answer type, its focus
words and its as-of date.

News-quiz questions often open with a context sentence and end with the real question ("A storm
forced thousands to evacuate this week. Which governor declared a state of emergency?"). Both
parts help retrieval; only the interrogative part says what the answer is.
"""

from __future__ import annotations

import datetime as dt
import re

from qa.ingest.sentences import split_sentences
from qa.text import content_terms
from qa.types import Question

ANSWER_TYPES = (
    "person", "organisation", "place", "date", "duration", "number", "money", "percent",
    "work", "thing", "statement", "reason", "other",
)
"""Fine-grained expected answer types, from the interrogative part."""

_WH = re.compile(r"\b(who|whom|whose|what|which|when|where|why|how)\b", re.IGNORECASE)

# First match wins; order matters ("how much money" before "how much", "what year" before "what").
_TYPE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind) for pattern, kind in (
        (r"\bhow much (money|did .* (cost|pay|spend|raise))|\bhow much\b.*\b(cost|worth|paid)\b", "money"),
        (r"\bwhat (percentage|percent|share|proportion)\b|\bhow many percent\b", "percent"),
        (r"\bhow long\b", "duration"),
        (r"\bhow (many|much)\b", "number"),
        (r"\bwhen\b|\b(what|which) (year|date|day|month|time|decade|century)\b", "date"),
        (r"\bwhere\b|\b(what|which) (\w+ ){0,2}(country|countries|city|cities|nation|state|town|"
         r"region|province|place|county|capital|continent|island|village)\b", "place"),
        (r"\b(what|which) (\w+ ){0,2}(organi[sz]ation|company|firm|alliance|agency|group|"
         r"newspaper|network|party|bank|team|club|university|union|brand|body)s?\b", "organisation"),
        (r"\b(what|which) (\w+ ){0,2}(book|film|movie|song|album|show|series|novel|play|painting)s?\b",
         "work"),
        (r"\bwhat (did|does|do|has|have|had) .+ (say|said|tell|told|warn|announce|claim|argue)\b"
         r"|\bwhat was said\b", "statement"),
        (r"\bwhy\b|\bwhat (was|is) the reason\b", "reason"),
        (r"\bwho(m|se)?\b|\b(what|which) (\w+ ){0,2}(person|man|woman|minister|president|leader|"
         r"player|actor|singer|author|ceo|governor|senator|official)\b", "person"),
        (r"\b(what|which) (kind|type|breed|species|sort) of\b|\bwhich \w+\b", "thing"),
    )
)


def split_question(text: str) -> tuple[str, str]:
    """(context, interrogative): the last sentence that asks is the interrogative part."""
    sentences = [text[s:e].strip() for s, e in split_sentences(text)] or [text.strip()]
    asking = [i for i, s in enumerate(sentences) if s.endswith("?") or _WH.search(s)]
    last = asking[-1] if asking else len(sentences) - 1
    context = " ".join(sentences[:last] + sentences[last + 1:])
    return context.strip(), sentences[last]


def answer_type(interrogative: str) -> str:
    for pattern, kind in _TYPE_RULES:
        if pattern.search(interrogative):
            return kind
    return "other"


def analyze(text: str, as_of: dt.date | None = None) -> Question:
    """A ``Question`` record for a standalone question asked on ``as_of`` (``None``: today)."""
    context, interrogative = split_question(text)
    focus = tuple(dict.fromkeys(content_terms(interrogative)))
    return Question(text=text, interrogative=interrogative, context=context,
                    answer_type=answer_type(interrogative), focus=focus, as_of=as_of)

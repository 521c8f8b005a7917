"""What a question asks for, read from its wording: the kind of answer, the names it insists on,
and, for "how many X", the thing counted.

These are the constraints a span must satisfy to answer the question: without a trained reader,
they are what tells "30 countries" from an answer to "How many troops?".
"""

from __future__ import annotations

import re

from qa.text import STOPWORDS, content_terms, stem

# Entity labels acceptable for each question kind, most wanted first.
_EXPECTED: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bhow (many|much)\b"), ("CARDINAL", "QUANTITY", "MONEY", "PERCENT")),
    (re.compile(r"\b(what|which) (year|date|day|month|time)\b|\bwhen\b"), ("DATE", "TIME")),
    (re.compile(r"\b(what|which) (\w+ ){0,2}(country|countries|city|cities|nation|nations|place)\b"),
     ("GPE", "LOC", "FAC")),
    (re.compile(r"\bwhere\b"), ("GPE", "LOC", "FAC", "ORG")),
    (re.compile(r"\b(what|which) (\w+ ){0,2}(organi[sz]ation|company|alliance|agency|group|"
                r"newspaper|network|party|bank)s?\b"), ("ORG", "NORP")),
    (re.compile(r"\bwho (is|was|are|were)\b"), ("PERSON", "ORG")),  # asks who someone is
    (re.compile(r"\bwho(m|se)?\b"), ("PERSON", "ORG", "NORP", "GPE")),
]
_WH = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how", "in", "on", "at",
       "from", "did", "does", "do", "is", "are", "was", "were", "the", "a", "an", "and", "or"}
_LOCATIVE = re.compile(r"\b(in|at|on|from|inside|near)\s+(the\s+)?$", re.IGNORECASE)
PREFIX = 4  # "Sweden" ~ "Swedish", "Ukraine" ~ "Ukrainian": names match on their first letters


def expected_labels(question: str) -> tuple[str, ...]:
    q = question.lower()
    for pattern, labels in _EXPECTED:
        if pattern.search(q):
            return labels
    return ()


def wants_place(question: str) -> bool:
    return bool(re.search(r"\bwhere\b", question.lower()))


def named_terms(question: str) -> list[str]:
    """Capitalised words and numbers the question insists on ("the German defence minister")."""
    words = re.findall(r"\w+", question)
    return [w for i, w in enumerate(words)
            if (w[0].isupper() and (i > 0 or w.lower() not in _WH) and w.lower() not in _WH)
            or w.isdigit()]


def mentions(text: str, term: str) -> bool:
    """Whether ``text`` names ``term``: whole-word for acronyms and numbers, else by prefix."""
    if term.isdigit() or (term.isupper() and len(term) <= 4):
        return re.search(rf"\b{re.escape(term)}\b", text) is not None
    head = term.lower()[:PREFIX] if len(term) > PREFIX else term.lower()
    return any(w.startswith(head) for w in re.findall(r"\w+", text.lower()))


def counted_thing(question: str) -> str | None:
    """The stem of the noun counted by "how many ...", e.g. "troops" -> "troop"."""
    match = re.search(r"\bhow many\s+(.+)", question.lower())
    if not match:
        return None
    terms = content_terms(match.group(1))
    return terms[0] if terms else None


def counts_thing(sentence: str, end: int, thing: str, window: int = 3) -> bool:
    """Whether the words right after a number name the counted thing ("155 Chinese citizens")."""
    after = re.findall(r"\w+", sentence[end:].lower())[:window]
    return any(w not in STOPWORDS and stem(w) == thing for w in after)


def after_locative(sentence: str, start: int) -> bool:
    return _LOCATIVE.search(sentence[:start]) is not None

"""Read a question once: its context and interrogative parts, the expected answer type, its focus
words, its as-of date and the date window it is about.

News-quiz questions often open with a context sentence and end with the real question ("A storm
forced thousands to evacuate this week. Which governor declared a state of emergency?"). Both
parts help retrieval; only the interrogative part says what the answer is. The answer type comes
from spaCy's dependency parse of the interrogative part (``qa.question.parse``); the regular
expressions below decide only when the parse does not ("Number of troops sent?").
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from qa.ingest.sentences import split_sentences
from qa.question import referents
from qa.question.dates import resolve_window, without_dates
from qa.question.parse import DEFAULT_PIPELINE, parse, pipeline
from qa.text import content_terms
from qa.types import Question

ANSWER_TYPES = (
    "person", "organisation", "place", "date", "duration", "number", "money", "percent",
    "work", "thing", "statement", "reason", "other",
)
"""Fine-grained expected answer types, from the interrogative part."""

FIGURE_TYPES = frozenset({"number", "money", "percent"})
"""The answer types whose answer is a figure (compared by value, one amount)."""

_WH = re.compile(r"\b(who|whom|whose|what|which|when|where|why|how)\b", re.IGNORECASE)
_WH_IN_NAME = re.compile(r"\b([A-Z][\w.-]*)\s+(Who|What|Which|Where|When|Why|How)\b")
_IMPERATIVE = re.compile(r"^\s*(name|identify|list|give)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(he|him|his|she|her|it|its|they|them|their)\b", re.IGNORECASE)
_LEAD_COLON = re.compile(r"[:;]\s+(?=(who|whom|whose|what|which|when|where|why|how)\b)",
                         re.IGNORECASE)

# First match wins; order matters ("how much money" before "how much", "what year" before "what").
_TYPE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind) for pattern, kind in (
        (r"\bhow much (money|did .* (cost|pay|spend|raise))|\bhow much\b.*\b(cost|worth|paid)\b", "money"),
        (r"\bwhat (percentage|percent|share|proportion)\b|\bhow many percent\b", "percent"),
        (r"\bhow long\b", "duration"),
        (r"\bhow (many|much)\b|^\s*(number|amount) of\b", "number"),
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


def split_spans(text: str) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """The interrogative part's (start, end) in ``text`` and the spans of the rest (context).

    The interrogative part is the last sentence that asks: one ending in "?", else the last with
    a wh-word or an imperative ("Name the team..."). "Storm Ana: which governor..." splits at
    the colon.
    """
    spans = split_sentences(text) or [(0, len(text))]
    asking = [i for i, (s, e) in enumerate(spans) if text[s:e].rstrip().endswith("?")]
    if not asking:
        asking = [i for i, (s, e) in enumerate(spans)
                  if _WH.search(text[s:e]) or _IMPERATIVE.match(text[s:e])]
    last = asking[-1] if asking else len(spans) - 1
    start, end = spans[last]
    rest = spans[:last] + spans[last + 1:]
    lead = _LEAD_COLON.search(text, start, end)
    if lead is not None:
        rest.append((start, lead.start()))
        start = lead.end()
    return (start, end), sorted(rest)


def split_question(text: str) -> tuple[str, str]:
    """(context, interrogative) as text."""
    (start, end), rest = split_spans(text)
    context = " ".join(text[s:e].strip() for s, e in rest)
    return context.strip(), text[start:end].strip()


def _resolve_pronouns(context: str, interrogative: str, model: str) -> str | None:
    if not context or not _PRONOUN.search(interrogative):
        return None
    context_doc, question_doc = pipeline(model).pipe([context, interrogative])
    return referents.resolve(context_doc, question_doc)


def answer_type(interrogative: str) -> str:
    """The regular-expression reading of the answer type (used when the parse decides nothing)."""
    # a wh-word inside a name ("Doctor Who", "The Who") asks nothing
    interrogative = _WH_IN_NAME.sub(r"\1", interrogative)
    for pattern, kind in _TYPE_RULES:
        if pattern.search(interrogative):
            return kind
    return "other"


def analyze(text: str, as_of: dt.date | None = None, *, model: str | None = None) -> Question:
    """A ``Question`` record for a standalone question asked on ``as_of`` (``None``: today).

    ``model`` is the spaCy pipeline that parses it (default: the packaged small English one).
    """
    return _analyze(text, as_of or dt.date.today(), model or DEFAULT_PIPELINE)


def clear_cache() -> None:
    """Forget analysed questions and their parses (benchmarks measure uncached questions)."""
    _analyze.cache_clear()
    parse.cache_clear()


@functools.lru_cache(maxsize=1024)
def _analyze(text: str, as_of: dt.date, model: str) -> Question:
    (start, end), rest = split_spans(text)
    interrogative = text[start:end].strip()
    context = " ".join(text[s:e].strip() for s, e in rest).strip()
    resolved = _resolve_pronouns(context, interrogative, model)
    if resolved is None:
        parsed = parse(text, start, end, model)
    else:  # read as "What is the Ukrainian minister's name?" (see qa.question.referents)
        interrogative = resolved
        parsed = parse(f"{context} {resolved}", len(context) + 1, len(context) + 1 + len(resolved), model)
    focus = tuple(dict.fromkeys(content_terms(without_dates(interrogative, as_of))))
    kind = parsed.answer_type
    if kind in (None, "other"):
        kind = answer_type(interrogative)
    return Question(
        text=text, interrogative=interrogative, context=context, answer_type=kind, focus=focus,
        as_of=as_of, window=resolve_window(text, as_of), wh=parsed.wh,
        focus_noun=parsed.focus_noun, unit=parsed.unit, main_verb=parsed.main_verb,
        arguments=parsed.arguments, speaker=parsed.speaker, entities=parsed.entities,
    )

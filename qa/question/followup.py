"""Follow-up questions: rewrite a question that leans on the conversation into a standalone one.

Heuristic (used in extractive mode): a question with a pronoun, or one too short to stand alone,
borrows from the last exchange. A personal pronoun is replaced by the previous short answer when
that answer names someone ("What did he say?" after "John Healey" -> "What did John Healey say?");
otherwise the previous question is appended as context for retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.text import content_terms, strip_markers

Message = dict[str, str]

_PERSONAL = re.compile(r"\b(he|she|him|his|her|hers)\b", re.IGNORECASE)
_ANAPHOR = re.compile(r"\b(he|she|him|his|her|hers|they|them|their|it|its|this|that|these|those|"
                      r"there|then)\b", re.IGNORECASE)
_LEAD_IN = re.compile(r"^\s*(and|but|so|also|what about|how about)\b[\s,]*", re.IGNORECASE)
_MAX_NAME_WORDS = 5


def last_exchange(history: Sequence[Message]) -> tuple[str | None, str | None]:
    question = answer = None
    for message in reversed(history):
        role, content = message.get("role"), str(message.get("content") or "")
        if role == "assistant" and answer is None and question is None:
            answer = strip_markers(content)
        elif role == "user" and question is None:
            question = content.strip()
        if question is not None:
            break
    return question, answer


def condense(question: str, history: Sequence[Message] | None) -> str:
    """A standalone version of ``question`` given the conversation so far."""
    if not history:
        return question
    prev_q, prev_a = last_exchange(history)
    if not prev_q:
        return question
    stripped = _LEAD_IN.sub("", question).strip() or question
    needs_context = bool(_ANAPHOR.search(stripped)) or len(content_terms(stripped)) < 2
    if not needs_context:
        return stripped
    if prev_a and _PERSONAL.search(stripped) and _looks_like_name(prev_a):
        return _PERSONAL.sub(lambda m: _pronoun_to_name(m.group(1), prev_a), stripped)
    return f"{stripped} ({prev_q}{' ' + prev_a if prev_a and len(prev_a) < 200 else ''})"


def _looks_like_name(answer: str) -> bool:
    words = answer.rstrip(".").split()
    return 0 < len(words) <= _MAX_NAME_WORDS and all(w[:1].isupper() for w in words)


def _pronoun_to_name(pronoun: str, name: str) -> str:
    name = name.rstrip(".")
    return f"{name}'s" if pronoun.lower() in ("his", "hers") else name

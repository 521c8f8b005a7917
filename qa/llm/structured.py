"""The reader's structured output: the numbers of the supporting sentences, then a short answer.

    {"sentences":[2],"answer":"John Healey"}      an answer and the sentence it comes from
    {"sentences":[],"answer":""}                   the sentences do not answer the question

The sentences come first: the model commits to its evidence before it writes the answer, and the
reader knows which sentences to check while the answer streams. The format is enforced where the
runtime allows it: llama.cpp takes a GBNF grammar (compact JSON, no whitespace tokens to pay for,
sentence numbers limited to those given); OpenAI-compatible servers take a JSON schema
(``response_format``). Whatever arrives is parsed tolerantly, prefix by prefix, so the answer can
be shown as it is written and a reply cut short by the token limit still yields what it holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_SENTENCES = re.compile(r'"sentences"\s*:\s*\[([\d,\s]*)(\])?')
_ANSWER = re.compile(r'"answer"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class Reply:
    """What the model has written so far (or in all)."""

    sentences: tuple[int, ...] | None  # None: the list is not complete yet
    answer: str  # the answer string decoded so far
    answer_closed: bool  # its closing quote has been written
    parsed: bool  # the text had the expected shape at all

    @property
    def not_found(self) -> bool:
        return self.sentences == () and self.answer_closed and not self.answer.strip()


def grammar(n_sources: int) -> str:
    """GBNF for llama.cpp: the reply above, compact, citing only sentences 1..n_sources."""
    top = max(1, min(n_sources, 9))
    num = "[1]" if top == 1 else f"[1-{top}]"
    return "\n".join((
        r'root ::= "{\"sentences\":[" ( "],\"answer\":\"\"}" | nums "],\"answer\":\"" chars "\"}" )',
        f"num ::= {num}",
        r'nums ::= num ("," num){0,2}',
        r"chars ::= char char*",
        r'char ::= [^"\\\x00-\x1f] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})',
    ))


def json_schema(n_sources: int) -> dict[str, Any]:
    """The same reply as a JSON schema, for ``response_format`` (strict mode compatible)."""
    return {
        "type": "object",
        "properties": {
            "sentences": {"type": "array", "items": {"type": "integer", "minimum": 1,
                                                     "maximum": max(1, n_sources)}},
            "answer": {"type": "string"},
        },
        "required": ["sentences", "answer"],
        "additionalProperties": False,
    }


def parse(text: str) -> Reply:
    """The reply in ``text``, complete or a prefix of it."""
    whole = _whole(text)
    if whole is not None:
        return whole
    m = _SENTENCES.search(text)
    sentences = None
    if m and m.group(2):
        sentences = tuple(int(x) for x in re.findall(r"\d+", m.group(1)))
    a = _ANSWER.search(text)
    if a is None:
        return Reply(sentences, "", False, parsed=m is not None)
    answer, closed = _decode_prefix(text, a.end())
    return Reply(sentences, answer, closed, parsed=True)


def _whole(text: str) -> Reply | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    raw = data.get("sentences")
    numbers = raw if isinstance(raw, list) else []
    sentences = tuple(int(n) for n in numbers if isinstance(n, int | float | str) and str(n).isdigit())
    answer = data.get("answer")
    return Reply(sentences, answer if isinstance(answer, str) else "", True,
                 parsed="answer" in data or "sentences" in data)


def _decode_prefix(text: str, start: int) -> tuple[str, bool]:
    """A JSON string body from ``start``: (decoded so far, closed); an unfinished escape waits."""
    out, i = [], start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), True
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            break
        code = text[i + 1]
        if code == "u":
            char, used = _unicode_escape(text, i)
            if used == 0:
                break
            out.append(char)
            i += used
        else:
            out.append(_ESCAPES.get(code, code))
            i += 2
    return "".join(out), False


def _unicode_escape(text: str, i: int) -> tuple[str, int]:
    """The character of a ``\\uXXXX`` escape at ``i`` (a surrogate pair takes two) and the
    characters it used; (\"\", 0) while it is incomplete."""
    digits = text[i + 2 : i + 6]
    if len(digits) < 4:
        return "", 0
    try:
        code = int(digits, 16)
    except ValueError:
        return digits, 6
    if 0xD800 <= code < 0xDC00:  # the high half of a pair: wait for the low half
        low = text[i + 6 : i + 12]
        if len(low) < 6:
            return "", 0
        if low.startswith("\\u"):
            try:
                second = int(low[2:], 16)
            except ValueError:
                second = 0
            if 0xDC00 <= second < 0xE000:
                return chr(0x10000 + ((code - 0xD800) << 10) + (second - 0xDC00)), 12
    return chr(code), 6

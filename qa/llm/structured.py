"""The reader's structured output: a short answer, then the number of the sentence it comes from.

    {"answer":"John Healey","sentences":[2]}      an answer and the sentence it comes from
    {"answer":"","sentences":[]}                   the sentences do not answer the question

The answer comes first, so its first words reach the reader as soon as the model writes them.
The format is enforced where the runtime allows it. llama.cpp takes a GBNF grammar that makes the
answer a run of whole words of one of the given sentences, exactly as written there; there every
token counts (about 40 ms each on 2 cores), so the model is handed most of the reply's opening
``{"answer":"`` as the start of its turn (``PREFILL``) and stops at the answer's closing quote
(``CLOSING``): the sentence is then the given one the answer is found in, which the grammar
guarantees exists. That spares the 10 or so JSON tokens a grammar forces one at a time around a
typical 3-token answer. OpenAI-compatible servers take a JSON schema (``response_format``) and
write the whole reply, and their answer is looked up in the sentences afterwards. Whatever arrives
is parsed tolerantly, prefix by prefix, so the answer can be shown as it is written and a reply
cut short still yields what it holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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
        return self.answer_closed and not self.answer.strip()


# Where a reply starts, how much of it the local model is given, and where a grammar-bound reply
# ends. Both cuts fall on the model's own token boundaries: it writes ``":"`` as one token, and
# ``":"","`` for an empty answer, so a prefill that split them forced tokens it would not write
# (on the tuning questions it lost a refusal); and after an answer its likeliest token is
# ``","``, so a grammar ending on a lone quote made it lengthen its answers instead.
OPENING = '{"answer":"'
PREFILL = '{"answer'
CLOSING = '","'


def grammar(sentences: Sequence[str]) -> str:
    """GBNF for llama.cpp: the reply after ``PREFILL`` (the model is given that much) up to
    ``CLOSING``: the answer is a run of whole words of one of the given sentences, exactly as
    written there, or empty when they do not answer.

    Each sentence ``k`` becomes rules ``s{k}w{i} ::= word_i (gap_i s{k}w{i+1})?`` (a run of words
    starting at word i), so the grammar grows linearly with the text and the answer cannot be
    anything the sentences do not say.
    """
    closing = _literal(CLOSING, raw=True)
    rules, choices = [], [closing]
    for k, text in enumerate(sentences[:9], start=1):
        pieces = words_and_gaps(text)
        if not pieces:
            continue
        starts = []
        for i, (word, gap) in enumerate(pieces):
            rest = f" ({_literal(gap)} s{k}w{i + 1})?" if i + 1 < len(pieces) else ""
            rules.append(f"s{k}w{i} ::= {_literal(word)}{rest}")
            starts.append(f"s{k}w{i}")
        rules.append(f"s{k} ::= " + " | ".join(starts))
        choices.append(f"s{k} {closing}")
    opening = _literal(OPENING[len(PREFILL):], raw=True)
    root = f"root ::= {opening} ( " + " | ".join(choices) + " )"
    return "\n".join([root, *rules])


def reply_json(answer: str, sentences: Sequence[int]) -> str:
    """A reply as the model is asked to write it (the worked examples use this)."""
    return json.dumps({"answer": answer, "sentences": list(sentences)}, ensure_ascii=False,
                      separators=(",", ":"))


WORD = re.compile(r"[$€£¥]?\w+(?:[.,'’/-]\w+)*%?")


def words_and_gaps(text: str) -> list[tuple[str, str]]:
    """Each word of ``text`` with the characters that follow it up to the next word."""
    found = list(WORD.finditer(text))
    out = []
    for i, m in enumerate(found):
        gap = text[m.end(): found[i + 1].start()] if i + 1 < len(found) else ""
        out.append((m.group(), gap))
    return out


def _literal(text: str, raw: bool = False) -> str:
    """A GBNF string literal matching ``text`` as it appears inside a JSON string (``raw``: the
    text is JSON syntax already)."""
    in_json = text if raw else json.dumps(text, ensure_ascii=False)[1:-1]
    escaped = in_json.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def json_schema(n_sources: int) -> dict[str, Any]:
    """The same reply as a JSON schema, for ``response_format`` (strict mode compatible)."""
    return {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "sentences": {"type": "array", "items": {"type": "integer", "minimum": 1,
                                                     "maximum": max(1, n_sources)}},
        },
        "required": ["answer", "sentences"],
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
    answer, end = _decode_prefix(text, a.end())
    return Reply(sentences, answer, end is not None, parsed=True)


def answer_confidence(text: str, pieces: Sequence[tuple[str, float]]) -> float | None:
    """The lowest log-probability the model gave any piece of its answer, from the piece that
    opens the answer string to the one that closes it (``pieces`` are the streamed chunks of
    ``text`` with the lowest log-probability of their tokens): low when it hesitated anywhere,
    including over where to stop. None without log-probabilities or before the answer starts."""
    a = _ANSWER.search(text)
    if a is None or not pieces:
        return None
    start = a.end() - 1  # the opening quote
    _, end = _decode_prefix(text, a.end())
    last = len(text) if end is None else end
    pos, low = 0, None
    for piece, logprob in pieces:
        first, pos = pos, pos + len(piece)
        if pos > start and first <= last:
            low = logprob if low is None else min(low, logprob)
    return low


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


def _decode_prefix(text: str, start: int) -> tuple[str, int | None]:
    """A JSON string body from ``start``: (decoded so far, index of the closing quote or None
    while it is open); an unfinished escape waits."""
    out: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i
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
    return "".join(out), None


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

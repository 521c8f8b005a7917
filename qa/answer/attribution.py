"""Who said what: link a quote or reported statement to its speaker.

News attributes statements in a handful of shapes, which regular expressions read fast enough to
run on every evidence sentence (a parse of 25 sentences would cost more than the whole answer):

    "We must be ready," Healey said.           "...," said Healey.
    Healey said: "We must be ready."           Healey said (that) members must be ready.
    According to Healey, members must...       Members must be ready, according to Healey.
    Members must be ready, Healey told reporters.
    Peskov described China as taking "a balanced position".  (the quoted words are his)

A quote that spans sentences ("“We must be ready. That's why ... vital,” Healey said") is
attributed in each of its sentences; "he said" takes the last speaker named in the sentences
before it. The quote span is what was said, without the attribution: the answer to "What did
Healey say?".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_TELL = (r"(?:told|tells)(?:\s+(?:reporters|journalists|the\s+\w+|[A-Z]\w+|him|her|them|us|me|"
         r"parliament|lawmakers))?")
SPEECH = (rf"(?:said|says|say|added|adds|stressed|insisted|argued|claimed|explained|noted|declared|"
          rf"announced|wrote|writes|tweeted|replied|predicted|acknowledged|admitted|conceded|"
          rf"suggested|stated|{_TELL})")
"""Verbs that introduce what was said ("Healey said (that) ...")."""
SPEECH_AFTER = rf"(?:{SPEECH}|warned|warns|urged|continued|asked|recalled|joked)"
"""Also verbs that follow a quote ("'...,' he warned") but take an object before one."""
_AUX = r"(?:(?:has|have|had|also|later|previously|then|earlier|once)\s+){0,2}"
_NAME_WORD = r"(?:[A-Z][\w'’.\-]*|de|van|von|der|al|bin|da|di|la|le)"
_NAME = rf"(?:[A-Z][\w'’.\-]*(?:\s+{_NAME_WORD}){{0,6}})"
_PRONOUN = r"(?:he|she|they|He|She|They)"
_NP_WORD = r"(?!(?:has|have|had|is|was|were|are|will|would|but|and|who|which)\b)[\w'’\-]+"
_NOUN_PHRASE = rf"(?:(?:the|a|an|The|A|An)\s+(?:{_NP_WORD}\s+){{0,4}}{_NP_WORD})"
_GROUP = (rf"(?:(?:{_NP_WORD}\s+){{0,5}}(?:officials|analysts|experts|sources|authorities|police|"
          rf"prosecutors|witnesses|critics|lawmakers|diplomats|leaders|researchers|scientists|"
          rf"residents|spokesman|spokeswoman|spokesperson))")
SPEAKER = rf"(?:{_NAME}|{_PRONOUN}|{_NOUN_PHRASE}|{_GROUP})"
_OPEN, _CLOSE = "“\"‘«", "”\"’»"
_PRONOUNS = frozenset("he she they".split())

# "...," Healey said (at ...). / "...," said Healey. / ..., Healey told reporters.
_AFTER = re.compile(
    rf"^(?P<quote>.+?)(?:[,!?.]?[{_CLOSE}],?|,)\s+(?:(?P<s1>{SPEAKER})\s+{_AUX}{SPEECH_AFTER}\b"
    rf"|{SPEECH_AFTER}\s+(?P<s2>{SPEAKER})(?=\s*(?:[,.!?]|$)))[^{_OPEN}]*$")
# Healey said (that) ... / Healey said: "..." / Healey told reporters on Friday that ...
_BEFORE = re.compile(rf"(?<![\w'’])(?P<s1>{SPEAKER}),?\s+{_AUX}{SPEECH}(?:\s+(?:on|in|at)\s+\w+)?"
                     rf"(?:\s+that)?[:,]?\s+(?P<quote>\S.*)$")
# Peskov rejected the claim and described China as taking "a balanced position".
_CHARACTERISED = re.compile(
    rf"^(?P<s1>[A-Z][^{_OPEN},]*?)\s+(?=[a-z]+(?:ed|es|ls|ms|ts)\b)"
    rf"[^{_OPEN}]*?\b(?:described|describes|called|calls|termed|dubbed|labell?ed|branded|hailed|"
    rf"praised|critici[sz]ed|condemned|welcomed)\b[^{_OPEN}]*[{_OPEN}]")
# According to Healey, ... / ..., according to Healey.
_ACCORDING_FIRST = re.compile(rf"^According to (?P<s1>{SPEAKER}),\s+(?P<quote>.+)$")
_ACCORDING_LAST = re.compile(rf"^(?P<quote>.+?),\s+according to (?P<s1>{SPEAKER})[.!?]?$")


@dataclass(frozen=True)
class Attribution:
    """The speaker as written ("Healey", "he" resolved to the last name) and the statement's
    offsets within the sentence (``sentence[start:end]``)."""

    speaker: str
    start: int
    end: int


def attribute(sentence: str) -> Attribution | None:
    """The attribution inside one sentence, or ``None``."""
    for pattern in (_ACCORDING_FIRST, _ACCORDING_LAST):
        m = pattern.match(sentence.strip())
        if m:
            offset = len(sentence) - len(sentence.lstrip())
            return _make(sentence, m, offset)
    quoted = _quoted_part(sentence)
    m = _AFTER.match(sentence)
    if m and _speaker_ok(m):
        inside = quoted is not None and quoted[0] < m.end("quote")
        return _make(sentence, m, 0, quoted if inside else None)
    m = _BEFORE.search(sentence)
    if m and _speaker_ok(m):
        return _make(sentence, m, 0)
    m = _CHARACTERISED.match(sentence)
    if m and quoted is not None and _speaker_ok(m):
        return _make(sentence, m, 0, quoted)  # the quoted words are the speaker's
    return None


def attribute_run(sentences: Sequence[str]) -> list[Attribution | None]:
    """Attributions for consecutive sentences of one article: a quote left open carries on
    into the next sentence, and "he said" takes the last speaker named before it."""
    out: list[Attribution | None] = [attribute(s) for s in sentences]
    last_name: str | None = None
    for i, found in enumerate(out):
        if found is not None and found.speaker.lower() in _PRONOUNS and last_name:
            out[i] = found = Attribution(last_name, found.start, found.end)
        if found is not None and found.speaker.lower() not in _PRONOUNS:
            last_name = found.speaker
        elif found is None:
            last_name = _last_name(sentences[i]) or last_name
    for i in range(len(out) - 2, -1, -1):  # an open quote is said by whoever closes it
        closer = out[i + 1]
        if out[i] is None and closer is not None and _opens_quote(sentences[i]):
            start = _first_open(sentences[i])
            out[i] = Attribution(closer.speaker, start + 1, len(sentences[i].rstrip()))
    return out


def same_speaker(asked: str, said: str) -> bool:
    """Whether the speaker asked about ("Healey", "the Kremlin spokesman") is the one who spoke
    ("United Kingdom Defence Secretary John Healey"): every capitalised word of the shorter
    name occurs in the other, or, for descriptions, every content word."""
    a_words, s_words = _name_words(asked), _name_words(said)
    if not a_words or not s_words:
        return False
    short, long = sorted((a_words, s_words), key=len)
    return short <= long


def _name_words(text: str) -> set[str]:
    words = re.findall(r"[\w'’\-]+", text)
    names = {w.lower() for w in words if w[:1].isupper()}
    return names or {w.lower() for w in words if w.lower() not in ("the", "a", "an")}


def _make(sentence: str, m: re.Match[str], offset: int,
          quoted: tuple[int, int] | None = None) -> Attribution:
    speaker = (m.group("s1") or m.groupdict().get("s2") or "").strip()
    if quoted is not None:
        start, end = quoted
    else:
        start, end = m.start("quote") + offset, m.end("quote") + offset
    text = sentence[start:end]
    trimmed = text.strip().rstrip(".,").strip()
    if trimmed[:1] in _OPEN and trimmed[-1:] in _CLOSE:  # said: "..." -> what is inside
        trimmed = trimmed[1:-1].strip().rstrip(".,").strip()
    start += text.find(trimmed) if trimmed else 0
    return Attribution(speaker.rstrip(".,"), start, start + len(trimmed))


def _quoted_part(sentence: str) -> tuple[int, int] | None:
    """The span inside the first pair of quotation marks (or from the start, when the sentence
    closes a quote opened before it)."""
    first_open = _first_open(sentence)
    close = next((i for i, ch in enumerate(sentence) if ch in _CLOSE and i > first_open), -1)
    if first_open >= 0 and close > first_open + 1:
        return first_open + 1, close
    if first_open < 0 and close > 0 and sentence[close] != "’":  # the end of an earlier quote
        return 0, close
    return None


def _first_open(sentence: str) -> int:
    for i, ch in enumerate(sentence):
        if ch in "“«" or (ch in "\"‘" and (i == 0 or not sentence[i - 1].isalnum())):
            return i
    return -1


def _opens_quote(sentence: str) -> bool:
    opens = sum(sentence.count(c) for c in "“«")
    closes = sum(sentence.count(c) for c in "”»")
    if opens or closes:
        return opens > closes
    return sentence.count('"') % 2 == 1


def _speaker_ok(m: re.Match[str]) -> bool:
    speaker = (m.group("s1") or m.groupdict().get("s2") or "").strip()
    first = speaker.split()[0] if speaker else ""
    return bool(speaker) and first not in ("It", "This", "That", "There", "What", "Which")


def _last_name(sentence: str) -> str | None:
    names = re.findall(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)", sentence)
    return names[-1] if names else None

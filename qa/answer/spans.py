"""Candidate answer spans in a parsed sentence.

A news answer is rarely only a named entity: it is a noun phrase ("a balanced position"), a number
with its hedge ("about 50", "at least 155"), the words someone said (a quotation, or the clause
after "said that"), a purpose ("to police any future peace agreement"), a list ("the UK and
Germany"). This module proposes all of them, each with the kinds it belongs to; ``scoring``
decides which one answers the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.parsing import Parse

MAX_PHRASE = 14  # tokens: a longer subtree is a clause, not an answer
MAX_CLAUSE = 30
# Words that hedge a number; they belong to the answer ("about 50", "more than 2,000").
_HEDGES = {("about",), ("around",), ("approximately",), ("nearly",), ("almost",), ("roughly",),
           ("some",), ("over",), ("under",), ("only",), ("just",), ("estimated",), ("up", "to"),
           ("more", "than"), ("less", "than"), ("fewer", "than"), ("at", "least"), ("at", "most"),
           ("as", "many", "as"), ("as", "much", "as"), ("as", "few", "as"), ("close", "to")}
_NOMINAL_DEPS = {"nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "conj", "oprd", "dative",
                 "npadvmod", "ROOT", "agent", "acomp"}
_CLAUSE_DEPS = {"ccomp", "xcomp", "advcl", "relcl", "acl", "pcomp"}
SAY_VERBS = frozenset("""say said says tell told telling warn warned warns add added adds announce
    announced announces claim claimed claims argue argued argues write wrote writes written state
    stated states insist insisted insists describe described call called calls accuse accused
    urge urged urges note noted notes explain explained explains""".split())
_CAUSES = {"because", "due", "owing", "thanks"}  # prepositions of a cause ("due to heavy rain")
_OPEN_QUOTES = "“\"‘"
_QUOTE_PAIRS = {"“": "”", "\"": "\"", "‘": "’"}
_DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "its", "his", "her", "their"}


@dataclass(frozen=True)
class Span:
    start: int  # token range, end exclusive
    end: int
    head: int  # the token the span hangs on in the parse
    kinds: frozenset[str]  # entity, chunk, number, quote, clause, phrase, list, modifier
    label: str = ""  # the entity label, when the span is (or ends in) an entity


def candidates(p: Parse) -> list[Span]:
    """Every candidate span of one sentence, once per token range (kinds merged)."""
    found: dict[tuple[int, int], Span] = {}

    def add(start: int, end: int, head: int, kind: str, label: str = "") -> None:
        start, end = _trim(p, start, end)
        if end <= start:
            return
        old = found.get((start, end))
        if old is None:
            found[(start, end)] = Span(start, end, head, frozenset({kind}), label)
        else:
            found[(start, end)] = Span(start, end, old.head, old.kinds | {kind}, old.label or label)

    for e in p.entities:
        if not _misread_name(p, e.start, e.end, e.label):
            add(e.start, e.end, _head_of(p, e.start, e.end), "entity", e.label)
    for start, end in p.chunks:
        add(start, end, _head_of(p, start, end), "chunk", _label_at(p, end - 1))
        # "the hurdy-gurdy, an instrument": an apposition misread as one chunk
        for i in range(start + 1, end - 1):
            if p.tokens[i].text == "," and p.tokens[i + 1].text.lower() in _DETERMINERS:
                add(start, i, _head_of(p, start, i), "chunk", _label_at(p, i - 1))
                add(i + 1, end, _head_of(p, i + 1, end), "chunk", _label_at(p, end - 1))
                break
    for start, end in p.chunks:  # what modifies the chunk's noun: "deep-level" (tunnels)
        head = _head_of(p, start, end)
        mods = [i for i in range(start, head) if p.tokens[i].dep in ("amod", "compound", "nmod", "punct")
                and p.tokens[i].head in range(start, head + 1)]
        if mods and head - mods[0] == len(mods):
            add(mods[0], head, mods[-1], "modifier", _label_at(p, mods[-1]))
    for start, end, head in _numbers(p):
        add(start, end, head, "number", _label_at(p, head) or "CARDINAL")
    for t in p.tokens:
        lo, hi = p.subtree(t.i)
        if t.dep in _NOMINAL_DEPS and t.pos in ("NOUN", "PROPN", "NUM", "PRON") and hi - lo <= MAX_PHRASE:
            add(lo, hi, t.i, "phrase", _label_at(p, t.i))
        if t.dep in _CLAUSE_DEPS and t.pos in ("VERB", "AUX") and hi - lo <= MAX_CLAUSE:
            add(*_clause(p, t.i, lo, hi), t.i, "clause")
        if t.text.lower() in _CAUSES and t.dep == "prep" and hi - lo <= MAX_PHRASE:
            add(lo, hi, t.i, "clause")  # a reason said as a phrase: "because of roadworks"
    for start, end in quotes(p):
        add(start, end, _head_of(p, start, end), "quote")
    for span in list(found.values()):
        wider = _coordinated(p, span)
        if wider:
            add(wider[0], wider[1], span.head, "list", span.label)
    return sorted(found.values(), key=lambda s: (s.start, s.end))


_FINITE = frozenset({"VBD", "VBZ", "VBP"})


def _misread_name(p: Parse, start: int, end: int, label: str) -> bool:
    """ "Frost took Best in Show at the Arvenia Kennel Club" read as one title: no name holds the
    sentence's main verb, and names of people, places and organisations hold no finite verb
    (titles of works may: "Who Framed Roger Rabbit")."""
    finite = [t for t in p.tokens[start:end] if t.tag in _FINITE and t.pos in ("VERB", "AUX")]
    return any(t.head == t.i for t in finite) or bool(
        finite and label in ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"))


def _trim(p: Parse, start: int, end: int) -> tuple[int, int]:
    """Without punctuation at either end."""
    while start < end and _is_punct(p.tokens[start].text):
        start += 1
    while end > start and _is_punct(p.tokens[end - 1].text):
        end -= 1
    return start, end


def _is_punct(text: str) -> bool:
    return not any(ch.isalnum() for ch in text) and text not in ("%", "$", "€", "£")


def _head_of(p: Parse, start: int, end: int) -> int:
    """The token of [start, end) whose head lies outside it (the last one if several)."""
    heads = [i for i in range(start, end) if not start <= p.tokens[i].head < end or p.tokens[i].head == i]
    return heads[-1] if heads else end - 1


def _label_at(p: Parse, i: int) -> str:
    return p.tokens[i].ent


def _numbers(p: Parse) -> list[tuple[int, int, int]]:
    """Runs of number tokens ("1.5 million", "2,000") with the hedge before them."""
    out = []
    i, toks = 0, p.tokens
    while i < len(toks):
        if not (toks[i].like_num or toks[i].tag == "CD"):
            i += 1
            continue
        j = i
        while j + 1 < len(toks) and (toks[j + 1].like_num or toks[j + 1].tag == "CD"):
            j += 1
        start = i
        for hedge in sorted(_HEDGES, key=len, reverse=True):
            n = len(hedge)
            words = tuple(t.text.lower() for t in toks[max(0, i - n):i])
            if words == hedge:
                start = i - n
                break
        end = j + 1
        if end < len(toks) and toks[end].text in ("%", "percent", "per"):
            end += 1 if toks[end].text != "per" else 0
        out.append((start, end, j))
        i = j + 1
    return out


def _clause(p: Parse, head: int, lo: int, hi: int) -> tuple[int, int]:
    """A clause without its complementiser: "that 200 planners..." -> "200 planners..."."""
    while lo < hi and p.tokens[lo].dep in ("mark",) and p.tokens[lo].text.lower() in ("that", "whether"):
        lo += 1
    return lo, hi


def quotes(p: Parse) -> list[tuple[int, int]]:
    """Token ranges of the quoted words in the sentence (quote marks excluded)."""
    out = []
    for a, b in quote_chars(p.text):
        toks = [t.i for t in p.tokens if t.start >= a and t.end <= b]
        if toks:
            out.append((toks[0], toks[-1] + 1))
    return out


def quote_chars(text: str) -> list[tuple[int, int]]:
    """Character ranges inside matched quotation marks; an apostrophe in a word is no quote."""
    out = []
    for m in re.finditer(r"[“\"‘]", text):
        opening = m.group()
        if opening == "‘" and m.start() > 0 and text[m.start() - 1].isalnum():
            continue
        close = text.find(_QUOTE_PAIRS[opening], m.end())
        if close > m.end() + 1:
            out.append((m.end(), close))
    # "..." pairs are found twice (each mark opens); keep ranges that do not hold a mark
    out = [(a, b) for a, b in out if not any(q in text[a:b] for q in "“”\"")]
    close = text.find("”")
    if close > 1 and "“" not in text[:close]:
        out.insert(0, (0, close))  # the end of a quotation opened in an earlier sentence
    return out


def _coordinated(p: Parse, span: Span) -> tuple[int, int] | None:
    """Widen "the UK" to "the UK and Germany" when the head has conjuncts of the same kind."""
    head = p.tokens[span.head]
    conj = [c for c in p.children(head.i) if p.tokens[c].dep == "conj"
            and p.tokens[c].pos == head.pos and c >= span.end]
    if not conj:
        return None
    last = conj[-1]
    while True:  # "A, B and C": conj chains hang on each other or on the first
        more = [c for c in p.children(last) if p.tokens[c].dep == "conj" and p.tokens[c].pos == head.pos]
        if not more:
            break
        last = more[-1]
    end = p.subtree(last)[1]
    return (span.start, end) if end - span.start <= MAX_PHRASE else None


def is_determiner(word: str) -> bool:
    return word.lower() in _DETERMINERS

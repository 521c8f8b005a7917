"""Sentences parsed once into small frozen records: tokens with their tags, dependency heads and
entity labels, the entities and the noun chunks.

The reader works on these records, not on spaCy objects: they are cheap to cache, a test can
build them without loading a model, and the indexer stores them with each sentence (``encode``:
compact JSON, never pickle, so that loading an index never runs code), so that a question does
not parse the sentences it reads. ``SpacyParser`` fills them from spaCy's small English pipeline
(tagger, parser, NER; the lemmatizer is left out: the reader uses the project's light stemmer so
that sentence and question words match the same way everywhere). A stored parse is used only
when the index records the same parser (``SpacyParser.identity``: model, its version and
spaCy's); otherwise the sentence is parsed at question time, as before.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from qa.nlp import spacy_pipeline
from qa.text import STOPWORDS, stem


@dataclass(frozen=True)
class Token:
    i: int
    text: str
    start: int  # character offsets within the parsed text
    end: int
    pos: str  # universal POS: NOUN, PROPN, VERB, NUM...
    tag: str  # fine-grained (Penn) tag: CD, NNS, VBD...
    dep: str  # dependency label to ``head`` (the root is its own head)
    head: int
    ent: str = ""  # entity label when inside an entity
    like_num: bool = False

    # computed once per token: the span features ask each token's about a hundred times
    @functools.cached_property
    def stem(self) -> str:
        return stem(self.text.lower())

    @functools.cached_property
    def is_content(self) -> bool:
        return self.text.lower() not in STOPWORDS and any(ch.isalnum() for ch in self.text)


@dataclass(frozen=True)
class Entity:
    start: int  # token indices, end exclusive
    end: int
    label: str


@dataclass(frozen=True)
class Parse:
    text: str
    tokens: tuple[Token, ...]
    entities: tuple[Entity, ...] = ()
    chunks: tuple[tuple[int, int], ...] = ()  # noun chunks as token ranges, end exclusive

    def chars(self, start: int, end: int) -> tuple[int, int]:
        """Character offsets of the token range [start, end)."""
        return self.tokens[start].start, self.tokens[end - 1].end

    def span_text(self, start: int, end: int) -> str:
        a, b = self.chars(start, end)
        return self.text[a:b]

    def ancestors(self, i: int) -> list[int]:
        """Heads from token ``i`` up to the root (cycles in a bad parse are cut)."""
        out: list[int] = []
        while self.tokens[i].head != i and len(out) < len(self.tokens):
            i = self.tokens[i].head
            out.append(i)
        return out

    @functools.cached_property
    def _children(self) -> tuple[tuple[int, ...], ...]:
        kids: list[list[int]] = [[] for _ in self.tokens]
        for t in self.tokens:
            if t.head != t.i:
                kids[t.head].append(t.i)
        return tuple(tuple(k) for k in kids)

    def children(self, i: int) -> tuple[int, ...]:
        return self._children[i]

    @functools.cached_property
    def _subtrees(self) -> tuple[tuple[int, int], ...]:
        lo = [t.i for t in self.tokens]
        hi = [t.i for t in self.tokens]
        for t in self.tokens:  # widen every ancestor's range by each token
            for a in self.ancestors(t.i):
                lo[a], hi[a] = min(lo[a], t.i), max(hi[a], t.i)
        return tuple((a, b + 1) for a, b in zip(lo, hi, strict=True))

    def subtree(self, i: int) -> tuple[int, int]:
        """The token range covered by ``i`` and everything that depends on it (end exclusive)."""
        return self._subtrees[i]

    def distance(self, i: int, j: int) -> int:
        """Edges between two tokens in the dependency tree."""
        up_i = [i, *self.ancestors(i)]
        up_j = [j, *self.ancestors(j)]
        where = {t: n for n, t in enumerate(up_i)}
        for n, t in enumerate(up_j):
            if t in where:
                return n + where[t]
        return len(up_i) + len(up_j)


class Parser(Protocol):
    def __call__(self, texts: Sequence[str]) -> list[Parse]:
        """One parse per text, in order."""
        ...


@runtime_checkable
class IdentifiedParser(Parser, Protocol):
    """A parser that can name itself, so that its stored parses are used only by the same one."""

    @property
    def identity(self) -> str: ...


class SpacyParser:
    """Parses with a spaCy pipeline, loaded once per process (on first use) and shared."""

    def __init__(self, model: str) -> None:
        self.model = model

    def __call__(self, texts: Sequence[str]) -> list[Parse]:
        return [from_doc(doc) for doc in pipeline(self.model).pipe(list(texts))]

    @property
    def identity(self) -> str:
        """What decides a parse: the pipeline, its version and spaCy's (noun chunks and number
        words come from spaCy's own code). Loads the pipeline."""
        import spacy

        return f"{self.model} {pipeline(self.model).meta.get('version', '?')} spacy {spacy.__version__}"


def from_doc(doc) -> Parse:
    tokens = tuple(
        Token(i=t.i, text=t.text, start=t.idx, end=t.idx + len(t.text), pos=t.pos_, tag=t.tag_,
              dep=t.dep_, head=t.head.i, ent=t.ent_type_, like_num=t.like_num)
        for t in doc)
    entities = tuple(Entity(e.start, e.end, e.label_) for e in doc.ents)
    chunks = tuple((c.start, c.end) for c in doc.noun_chunks)
    return Parse(doc.text, tokens, entities, chunks)


def pipeline(name: str):
    return spacy_pipeline(name, exclude=("lemmatizer",))


# ------------------------------------------------------------------ stored parses

FORMAT = 1  # the version of ``encode``'s layout; another version is not read


@dataclass(frozen=True)
class StoredParse:
    """A sentence's parse as the index holds it: ``encode``'s record and the parser that made it
    (``SpacyParser.identity``)."""

    record: str
    parser: str


def encode(parse: Parse) -> str:
    """A compact JSON record of ``parse`` (token texts are left out: they are slices of the
    sentence, which the index already holds)."""
    tokens = [[t.start, t.end, t.pos, t.tag, t.dep, t.head, t.ent, int(t.like_num)]
              for t in parse.tokens]
    return json.dumps({"v": FORMAT, "t": tokens, "e": [[e.start, e.end, e.label] for e in parse.entities],
                       "c": [list(c) for c in parse.chunks]}, separators=(",", ":"))


def decode(record: str, text: str) -> Parse | None:
    """The parse of ``text`` stored as ``record``; None when the record is not one of this
    version's or does not fit the text (the caller then parses the text itself)."""
    try:
        data = json.loads(record)
        if data.get("v") != FORMAT:
            return None
        tokens = tuple(Token(i, text[a:b], a, b, pos, tag, dep, head, ent, bool(num))
                       for i, (a, b, pos, tag, dep, head, ent, num) in enumerate(data["t"]))
        entities = tuple(Entity(a, b, label) for a, b, label in data["e"])
        chunks = tuple((a, b) for a, b in data["c"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    ranges = [(e.start, e.end) for e in entities] + list(chunks)
    if not _fits(tokens, len(text)) or any(not 0 <= a < b <= len(tokens) for a, b in ranges):
        return None
    return Parse(text, tokens, entities, chunks)


def _fits(tokens: tuple[Token, ...], length: int) -> bool:
    """Offsets inside the text, in order, and every head a token of the sentence."""
    end = 0
    for t in tokens:
        if not (end <= t.start < t.end <= length and 0 <= t.head < len(tokens)):
            return False
        end = t.end
    return True

"""Citations in a written answer: find the [n] markers, check each against the sentence it names.

A generative model cites loosely: numbers that were never given, or a real sentence that does not
say what the claim says. So every marker is checked before the answer is shown:

- ``[n]`` must name one of the numbered sentences given to the model;
- the cited sentence must support the claim the marker is attached to: enough of the claim's
  content words in the sentence (lexical) and a close enough meaning (embedding similarity);
- every number and name in the claim must appear in the cited sentences (or their titles/dates),
  and each cited sentence must hold at least one of them; a short claim ("Annit Häkkänen") is an
  answer to the question, so the names in the question must appear there too.

Markers that fail are removed and recorded; a claim left with no citation gets the given
sentence that passes the same checks, if one does, and is marked ``(unverified)`` otherwise.
Claims are the sentence pieces of the answer; a marker group belongs to the piece before it (or,
when it opens a sentence, to the piece after it).

Rendering works on any prefix of the model's output, so the same code resolves citations while
tokens stream and checks the finished answer; with ``final=False`` it leaves out the marks that
depend on text not yet written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa.text import STOPWORDS, content_terms

LEXICAL_MIN = 0.4  # share of the claim's content words found in the cited sentence
SIMILARITY_MIN = 0.35  # cosine between the claim (in the question's context) and the sentence
SHORT_CLAIM_TERMS = 4  # shorter claims are embedded with the question, which gives them meaning
UNVERIFIED = " (unverified)"

MARKER = re.compile(
    r"\[\s*(?:sentences?\s*)?(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*\d{1,3})*)\s*\]", re.IGNORECASE)
_GAP = re.compile(r"[\s,;]*")
_RENDERED = re.compile(r"\[(\d+)\]")
_BOUNDARY = re.compile(r"[.!?][\"'”’)]*\s+")
_HELD_TAIL = re.compile(r"(?:\s|[,;]|\[[^\[\]\n]{0,30}\]?)*$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")
# Capitalised only because they open a sentence; not names to look for in the sources.
_NOT_NAMES = STOPWORDS | set("""according however yes also although though while both meanwhile
    earlier later today yesterday several some many most all one after before during since because
    despite unlike instead additionally furthermore overall""".split())


@dataclass(frozen=True)
class Source:
    """A numbered sentence as the model saw it."""

    text: str
    title: str = ""
    date: str | None = None


@dataclass(frozen=True)
class Group:
    """Adjacent markers such as ``[1][3]`` or ``[1, 3]``: one citation of one claim."""

    start: int
    end: int
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class Piece:
    start: int
    end: int
    text: str
    terminated: bool  # a later character proves the piece complete


@dataclass
class Checked:
    text: str
    cited: list[int] = field(default_factory=list)  # source numbers; answer [i+1] is cited[i]
    removed: list[dict[str, Any]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    attached: list[dict[str, Any]] = field(default_factory=list)  # citations added to claims
    supported: int = 0  # claims with at least one kept citation


def find_groups(text: str) -> list[Group]:
    groups: list[Group] = []
    for m in MARKER.finditer(text):
        numbers = _numbers_in(m.group(1))
        if groups and _GAP.fullmatch(text, groups[-1].end, m.start()):
            last = groups.pop()
            groups.append(Group(last.start, m.end(), last.numbers + numbers))
        else:
            groups.append(Group(m.start(), m.end(), numbers))
    return groups


def parse_citations(text: str) -> list[int]:
    """Every number cited, in order of first appearance."""
    return list(dict.fromkeys(n for g in find_groups(text) for n in g.numbers))


def _numbers_in(inside: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", inside):
        bounds = re.split(r"\s*[-–]\s*", part)
        if len(bounds) == 2 and 0 < int(bounds[1]) - int(bounds[0]) < 10:
            out.extend(range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            out.extend(int(b) for b in bounds)
    return tuple(dict.fromkeys(out))


def held_from(text: str) -> int:
    """Where the text may still change: an unfinished marker group and the spaces before it."""
    m = _HELD_TAIL.search(text)
    return m.start() if m else len(text)


class Checker:
    """Decides, for one answer, which cited sentences support which claims (results cached)."""

    def __init__(self, question: str, sources: Sequence[Source],
                 embed: Callable[[str], np.ndarray], lexical_min: float = LEXICAL_MIN,
                 similarity_min: float = SIMILARITY_MIN) -> None:
        self.question = question
        self.sources = list(sources)
        self.embed = embed
        self.lexical_min = lexical_min
        self.similarity_min = similarity_min
        self._decisions: dict[tuple[str, tuple[int, ...]], tuple[list[int], list[dict]]] = {}

    def check(self, claim: str, numbers: tuple[int, ...]) -> tuple[list[int], list[dict]]:
        key = (claim, numbers)
        if key not in self._decisions:
            self._decisions[key] = self._check(claim, numbers)
        return self._decisions[key]

    def _check(self, claim: str, numbers: tuple[int, ...]) -> tuple[list[int], list[dict]]:
        kept, removed = [], []
        claim_terms = set(content_terms(claim))
        for n in numbers:
            if not 1 <= n <= len(self.sources):
                removed.append(_removal(n, claim, "out_of_range"))
                continue
            source = self.sources[n - 1]
            lexical = _lexical(claim_terms, source)
            similarity = self._similarity(claim, claim_terms, source)
            own = missing_facts(claim, [source])
            if lexical < self.lexical_min or similarity < self.similarity_min:
                removed.append(_removal(n, claim, "unsupported", lexical, similarity))
            elif own and len(own) == len(facts_in(claim)):  # names none of the claim's facts
                removed.append(_removal(n, claim, "missing: " + ", ".join(own)))
            else:
                kept.append(n)
        cited = [self.sources[n - 1] for n in kept]
        missing = missing_facts(claim, cited)
        if len(claim_terms) < SHORT_CLAIM_TERMS:  # "Annit Häkkänen" to "Who is Sweden's …?"
            asked = " ".join(names_in(self.question))
            missing += [x for x in missing_facts(asked, cited) if x not in missing]
        if kept and missing:
            removed += [_removal(n, claim, "missing: " + ", ".join(missing)) for n in kept]
            kept = []
        return kept, removed

    def best_source(self, claim: str) -> int | None:
        """The given sentence that supports an uncited claim best, if any passes the checks."""
        terms = set(content_terms(claim))
        passing = [n for n in range(1, len(self.sources) + 1) if self.check(claim, (n,))[0]]
        if not passing:
            return None
        return max(passing, key=lambda n: self._similarity(claim, terms, self.sources[n - 1]))

    def _similarity(self, claim: str, claim_terms: set[str], source: Source) -> float:
        text = claim if len(claim_terms) >= SHORT_CLAIM_TERMS else f"{self.question} {claim}"
        return float(np.dot(self.embed(text), self.embed(source.text)))


def _lexical(claim_terms: set[str], source: Source) -> float:
    if not claim_terms:
        return 1.0
    terms = set(content_terms(source.text))
    acronyms = {a.lower() for a in _acronyms(source.text)}  # "UK" is in "United Kingdom"
    return len({t for t in claim_terms if t in terms or t in acronyms}) / len(claim_terms)


def _removal(n: int, claim: str, reason: str, lexical: float | None = None,
             similarity: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"n": n, "claim": claim, "reason": reason}
    if lexical is not None:
        out.update(lexical=round(lexical, 3), similarity=round(similarity or 0.0, 3))
    return out


def missing_facts(claim: str, sources: Sequence[Source]) -> list[str]:
    """Numbers and names in the claim that none of the sources (text, title, date) contains."""
    haystack = " ".join(f"{s.text} {s.title} {s.date or ''}" for s in sources)
    have_numbers = {_norm_number(x) for x in _NUMBER.findall(haystack)}
    missing = [x for x in _NUMBER.findall(claim) if _norm_number(x) not in have_numbers]
    words = {w.lower() for w in re.findall(r"\w+", haystack)}
    acronyms = _acronyms(haystack)
    for name in names_in(claim):
        if name.isupper() and name in acronyms:
            continue
        if not _word_present(name.lower(), words):
            missing.append(name)
    return list(dict.fromkeys(missing))


def facts_in(claim: str) -> list[str]:
    return list(dict.fromkeys([*_NUMBER.findall(claim), *names_in(claim)]))


def names_in(claim: str) -> list[str]:
    """Capitalised words, except common words that are capitalised only to open a sentence."""
    out = []
    for m in _CAPITALISED.finditer(claim):
        word = re.sub(r"['’]s$", "", m.group()).strip("'’-")
        if word and (word.lower() not in _NOT_NAMES or (word.isupper() and len(word) > 1)):
            out.append(word)
    return out


def _word_present(name: str, words: set[str]) -> bool:
    """Ukrainian ~ Ukraine: a long name matches a word sharing all but its last three letters."""
    if name in words:
        return True
    if "-" in name or "'" in name or "’" in name:  # German-language: each part
        return all(_word_present(p, words) for p in re.split(r"[-'’]+", name) if p)
    k = len(name) if len(name) <= 5 else max(5, len(name) - 3)
    return any(w.startswith(name[:k]) for w in words if len(w) >= k)


def _acronyms(text: str) -> set[str]:
    """UK, US, EU from "United Kingdom", "United States", "European Union" in the sources."""
    out = set(re.findall(r"\b[A-Z]{2,}\b", text))
    for run in re.findall(r"(?:\b[A-Z][a-z]+\s+){1,5}[A-Z][a-z]+\b", text):
        initials = [w[0] for w in run.split()]
        for i in range(len(initials)):
            for j in range(i + 2, len(initials) + 1):
                out.add("".join(initials[i:j]))
    return out


def _norm_number(x: str) -> str:
    x = x.replace(",", "")
    return str(int(x)) if x.isdigit() else x


def pieces_of(text: str, groups: list[Group], final: bool) -> list[Piece]:
    """The answer's sentence pieces, between and around the marker groups."""
    bounds = [0, *(b for g in groups for b in (g.start, g.end)), len(text)]
    out = []
    for k in range(0, len(bounds), 2):
        seg_start, seg_end = bounds[k], bounds[k + 1]
        at_group = k + 2 < len(bounds)  # this segment is followed by a marker group
        start = seg_start
        for m in _BOUNDARY.finditer(text, seg_start, seg_end):
            out.append(Piece(start, m.end(), text[start:m.end()].strip(), True))
            start = m.end()
        out.append(Piece(start, seg_end, text[start:seg_end].strip(), at_group or final))
    return [p for p in out if re.search(r"\w", p.text)]


def render(text: str, checker: Checker, final: bool = True,
           complete: bool | None = None) -> Checked:
    """The checked answer: kept markers renumbered 1.. by first appearance, the rest removed.

    ``final=False`` renders a prefix while it streams: no "(unverified)" marks, and output stops
    before a marker whose claim is not complete yet (unless ``complete``: the text has ended).
    """
    groups = find_groups(text)
    pieces = pieces_of(text, groups, final if complete is None else complete)
    result = Checked(text="")
    numbering: dict[int, int] = {}
    edits: list[tuple[int, int, str]] = []
    supported: set[int] = set()
    stop = len(text)
    for g in groups:
        owner = _owner(g, pieces)
        if owner is not None and not final and not pieces[owner].terminated:
            stop = _space_before(text, g.start)  # its claim is still being written
            break
        claim = pieces[owner].text if owner is not None else ""
        kept, removed = checker.check(claim, g.numbers)
        result.removed += removed
        for n in kept:
            numbering.setdefault(n, len(numbering) + 1)
        if kept and owner is not None:
            supported.add(owner)
        ws = _space_before(text, g.start)
        markers = "".join(f"[{numbering[n]}]" for n in dict.fromkeys(kept))
        edits.append((ws, g.end, text[ws:g.start] + markers if markers else ""))
    if final:
        edits += _attach_or_mark(text, pieces, supported, checker, numbering, result)
    result.text = _apply(text[:stop], sorted(e for e in edits if e[1] <= stop))
    result.cited = list(numbering)
    if final:
        _renumber_in_reading_order(result)
    result.supported = len(supported)
    return result


def _attach_or_mark(text: str, pieces: list[Piece], supported: set[int], checker: Checker,
                    numbering: dict[int, int], result: Checked) -> list[tuple[int, int, str]]:
    """A claim without a kept citation gets the given sentence that passes the same checks
    (models often write a right answer without its marker), or is marked "(unverified)"."""
    edits = []
    for i, piece in enumerate(pieces):
        if i in supported or not _needs_support(piece.text):
            continue
        at = _mark_at(text, piece)
        n = checker.best_source(piece.text)
        if n is None:
            result.unsupported.append(piece.text)
            edits.append((at, at, UNVERIFIED))
        else:
            numbering.setdefault(n, len(numbering) + 1)
            supported.add(i)
            result.attached.append({"n": n, "claim": piece.text})
            edits.append((at, at, f" [{numbering[n]}]"))
    return edits


def _renumber_in_reading_order(result: Checked) -> None:
    """After attaching, [2] may come before [1]: number the citations by first appearance."""
    result.text = result.text.strip()
    order = list(dict.fromkeys(int(m.group(1)) for m in _RENDERED.finditer(result.text)))
    new = {old: i for i, old in enumerate(order, start=1)}
    result.text = _RENDERED.sub(lambda m: f"[{new[int(m.group(1))]}]", result.text)
    result.cited = [result.cited[old - 1] for old in order]


def _owner(g: Group, pieces: list[Piece]) -> int | None:
    """The piece a marker group cites: the one before it; for an answer that opens with a
    marker, the one after it."""
    before = [i for i, p in enumerate(pieces) if p.end <= g.start]
    if before:
        return before[-1]
    after = [i for i, p in enumerate(pieces) if p.start >= g.end]
    return after[0] if after else None


def _space_before(text: str, pos: int) -> int:
    while pos > 0 and text[pos - 1] in " \t":
        pos -= 1
    return pos


def _needs_support(claim: str) -> bool:
    return len(content_terms(claim)) >= 2 or bool(_NUMBER.search(claim)) or bool(names_in(claim))


def _mark_at(text: str, piece: Piece) -> int:
    end = piece.start + len(text[piece.start:piece.end].rstrip())
    while end > piece.start and text[end - 1] in ".!?\"'”’":
        end -= 1
    return end


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, replacement in edits:
        out.append(text[pos:start])
        out.append(replacement)
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)


_REFUSAL_START = re.compile(
    r"^(i (could not|couldn t|cannot|can t|can not|am unable to|was unable to|do not know)"
    r"|(the )?(given |provided |numbered )?(sentences|articles|context) (do not|does not|don t)"
    r"|there is no (information|mention)|no information)")


def is_refusal(text: str, phrase: str) -> bool:
    """The model said it cannot answer: the exact phrase, or a plain refusal with no citation."""
    norm = _normalise(MARKER.sub(" ", text))
    if _normalise(phrase) in norm:
        return True
    return not find_groups(text) and bool(_REFUSAL_START.match(norm))


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()

"""Sources that agree, disagree or update each other: from the reader's candidate short answers to
one answer that says which.

The reader proposes claims: a short answer (a span of an article), how well it answers the
question, and the evidence sentence it came from. Claims that state the same value ("at least 155"
and "155"; "Healey" and "John Healey"; "3 April" and "April 3, 2025") are one side. A side's
weight in sources is the number of stories behind it, never the number of articles: the copies of
one wire story (``Article.story_id``) are one source.

- The best side (the one holding the best claim) is the answer; ``agree`` says how many
  independent sources state it.
- A rival side that conflicts with it, is nearly as well supported (``RIVAL_SHARE`` of the best
  claim's score) and comes from a story of its own, makes the answer say so: "Sources differ:
  at least 155 [1]; about 150 [2]".
- For a figure (a count, money, a percentage), rivals from articles of other dates are the
  story changing, not a disagreement: the answer is the latest figure as of the question's date,
  with the earlier one and its date ("50 [1], up from 30 on 3 April [2]"). Articles dated after
  the question's as-of date are not read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from qa.answer.evidence import Candidate
from qa.question import FIGURE_TYPES
from qa.types import Answer, Citation, Question, ShortAnswer, SourceCheck, SourceSide

RIVAL_SHARE = 0.8  # a rival side's best claim scores at least this share of the best claim's
SIDE_CITATIONS = 2  # most citations per side (its best claims from distinct stories)


@dataclass(frozen=True)
class Claim:
    """One candidate short answer with its evidence: the reader's input to ``combine``."""

    answer: ShortAnswer
    score: float  # how well this span answers the question (the reader's ranking scale)
    evidence: Candidate  # the sentence it is in, and its article (date, story)
    confidence: float | None = None  # a probability, when the reader has one: rivals compare on it

    @property
    def strength(self) -> float:
        """What RIVAL_SHARE is a share of: the probability if given, else the score (a ratio of
        scores means something only on a positive scale)."""
        return self.score if self.confidence is None else self.confidence

    @property
    def story(self) -> str:
        article = self.evidence.article
        return article.story_id or article.id

    @property
    def date(self) -> dt.date | None:
        return article_date(self.evidence.article.date)


@dataclass(frozen=True)
class Side:
    """Claims that state one value, best first."""

    claims: tuple[Claim, ...]

    @property
    def best(self) -> Claim:
        return self.claims[0]

    @property
    def stories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.story for c in self.claims))

    @property
    def date(self) -> dt.date | None:
        dates = [c.date for c in self.claims if c.date]
        return max(dates) if dates else None

    def latest(self) -> Claim:
        """The best claim among those of the side's latest date."""
        day = self.date
        return next((c for c in self.claims if c.date == day), self.best)


@dataclass(frozen=True)
class Combined:
    """What the sources say: the answer's side, and the sides that differ from it."""

    status: str  # single | agree | disagree | updated
    kind: str  # figure | date | name: how values compare
    answer: Side
    agreeing: tuple[Claim, ...]  # every claim whose sentence states the answer, copies included
    rivals: tuple[Side, ...] = ()  # sides that conflict with the answer at the same time
    earlier: tuple[Side, ...] = ()  # updated: the figure before, most recent first

    @property
    def stories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.story for c in self.agreeing))


def combine(question: Question, claims: Sequence[Claim], window_lag_days: int = 1) -> Combined | None:
    """Sides from ``claims``; ``None`` when there are no claims (as of the question's date).
    ``window_lag_days``: reports published this many days after the question's window are still
    about it (``RetrievalSettings.window_lag_days``)."""
    usable = _as_of(question, claims, window_lag_days)
    if not usable:
        return None
    kind = value_kind(question.answer_type)
    sides = group(sorted(usable, key=lambda c: -c.score), kind)
    top = sides[0]
    floor = RIVAL_SHARE * top.best.strength
    strong = [s for s in sides[1:] if max(c.strength for c in s.claims) >= floor
              and conflicts(top.best.answer.text, s.best.answer.text, kind)]
    if kind == "figure" and any(s.date and top.date and s.date != top.date for s in strong):
        return _timeline([top, *strong], usable, kind)
    return _verdict(top, strong, usable, kind)


def _verdict(answer: Side, others: Sequence[Side], usable: Sequence[Claim], kind: str,
             earlier: tuple[Side, ...] = ()) -> Combined:
    """A rival counts when a story of its own states it and not the answer: a reader that picked
    another span of a sentence which also states the answer found no disagreement."""
    agreeing = tuple(c for c in usable if states(c.evidence.sentence.text, answer.best.answer.text, kind))
    agreeing = tuple(sorted(dict.fromkeys((*answer.claims, *agreeing)), key=lambda c: -c.score))
    backing = {c.story for c in agreeing}
    rivals = tuple(Side(dissent) for s in others
                   if (dissent := _dissent(s, answer, kind, backing)))
    if earlier:
        status = "updated"
    elif rivals:
        status = "disagree"
    else:
        status = "agree" if len(backing) > 1 else "single"
    return Combined(status, kind, answer, agreeing, rivals, earlier)


def _dissent(side: Side, answer: Side, kind: str, backing: set[str]) -> tuple[Claim, ...]:
    """The side's claims from stories of their own whose sentences do not state the answer."""
    value = answer.best.answer.text
    return tuple(c for c in side.claims
                 if c.story not in backing and not states(c.evidence.sentence.text, value, kind))


def _timeline(sides: list[Side], usable: Sequence[Claim], kind: str) -> Combined:
    """A figure reported on several dates: the latest is the answer (sources that differ on that
    same date are a disagreement); the most recent earlier different figure is noted."""
    dated = sorted((s for s in sides if s.date), key=lambda s: (s.date, s.best.score), reverse=True)
    latest_day = dated[0].date
    same_day = [s for s in dated if s.date == latest_day]
    answer = same_day[0]
    earlier = tuple(s for s in dated if s.date != latest_day)
    return _verdict(answer, same_day[1:], usable, kind, earlier[:1])


def _as_of(question: Question, claims: Sequence[Claim], lag_days: int) -> list[Claim]:
    """Claims from articles published by the question's date, and inside its window (if any)
    unless no claim there is a rival to the best one."""
    out = [c for c in claims if not (question.as_of and c.date and c.date > question.as_of)]
    window = question.window
    if window is None or not out:
        return out
    inside = [c for c in out if c.date and window.covers(c.date, lag_days)]
    # the window says which reports the question means, not which span answers it: a claim the
    # reader rates far below the best one ("since 1987" for "how many fans") does not displace
    # it for being dated inside the window
    best = max(c.strength for c in out)
    if inside and max(c.strength for c in inside) >= RIVAL_SHARE * best:
        return inside
    return out


def states(sentence: str, value: str, kind: str) -> bool:
    """Does ``sentence`` state ``value`` (anywhere, in any of the forms ``same`` accepts)?"""
    wanted = figure(value) if kind == "figure" else None
    if wanted is not None:
        return wanted in figures(sentence)
    parts = date_parts(value) if kind == "date" else set()
    if parts:
        return parts <= date_parts(sentence)
    named = name_words(value)
    return bool(named) and named <= set(re.findall(r"\w+", sentence.lower()))


# ------------------------------------------------------------------ values


def value_kind(answer_type: str) -> str:
    if answer_type in FIGURE_TYPES:
        return "figure"
    return "date" if answer_type == "date" else "name"


def group(claims: Sequence[Claim], kind: str) -> list[Side]:
    """Claims (best first) into sides of the same value; a side is listed by its best claim."""
    sides: list[list[Claim]] = []
    for claim in claims:
        home = next((s for s in sides if same(s[0].answer.text, claim.answer.text, kind)), None)
        if home is None:
            sides.append([claim])
        else:
            home.append(claim)
    return [Side(tuple(s)) for s in sides]


def same(a: str, b: str, kind: str) -> bool:
    """Two ways of stating one value; words decide when a value cannot be read ("Thursday")."""
    if kind == "figure" and figure(a) is not None and figure(b) is not None:
        return figure(a) == figure(b)
    if kind == "date" and date_parts(a) and date_parts(b):
        return not date_conflict(date_parts(a), date_parts(b)) and bool(date_parts(a) & date_parts(b))
    words_a, words_b = name_words(a), name_words(b)
    return bool(words_a) and (words_a <= words_b or words_b <= words_a)


def conflicts(a: str, b: str, kind: str) -> bool:
    """Two values that cannot both be right ("Friday" and "3 April" may be the same day)."""
    if kind == "figure":
        x, y = figure(a), figure(b)
        return x is not None and y is not None and x != y
    if kind == "date":
        return date_conflict(date_parts(a), date_parts(b))
    # two names: a common noun phrase ("the town") is no rival to "Millbeck"
    return _is_name(a) and _is_name(b) and not same(a, b, kind)


def _is_name(text: str) -> bool:
    return any(w[:1].isupper() for w in re.findall(r"\w+", text) if w.lower() not in _TITLES)


_SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
           "m": 1e6, "bn": 1e9, "k": 1e3}
_WORD_NUMBERS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_WORD_NUMBERS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                      "ninety": 90, "dozen": 12})
_NUMBER = re.compile(
    r"(\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)\s*(hundred|thousand|million|billion|trillion|bn|m|k)?\b",
    re.IGNORECASE)


def figures(text: str) -> set[float]:
    """Every figure written with digits in ``text``."""
    return {float(m.group(1).replace(",", "")) * _SCALES.get((m.group(2) or "").lower(), 1.0)
            for m in _NUMBER.finditer(text)}


def figure(text: str) -> float | None:
    """The number a figure states, hedges and units aside: "at least 1.5 million" -> 1500000."""
    match = _NUMBER.search(text)
    if match:
        value = float(match.group(1).replace(",", ""))
        return value * _SCALES.get((match.group(2) or "").lower(), 1.0)
    words = re.findall(r"[a-z]+", text.lower())
    for i, word in enumerate(words):
        if word in _WORD_NUMBERS:
            scale = _SCALES.get(words[i + 1], 1.0) if i + 1 < len(words) else 1.0
            return _WORD_NUMBERS[word] * scale
    return None


_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9


def date_parts(text: str) -> set[tuple[str, int]]:
    """("day", 3), ("month", 4), ("year", 2025) found in a date phrase."""
    parts: set[tuple[str, int]] = set()
    lowered = text.lower()
    for word in re.findall(r"[a-z]+", lowered):
        if word in _MONTHS:
            parts.add(("month", _MONTHS[word]))
    for number in re.findall(r"\b\d{1,4}\b", lowered):
        n = int(number)
        parts.add(("year", n) if n >= 1000 else ("day", n) if 1 <= n <= 31 else ("other", n))
    return parts


def date_conflict(a: set[tuple[str, int]], b: set[tuple[str, int]]) -> bool:
    """Both name a day, month or year, and one they both name differs."""
    fields_a, fields_b = dict(a), dict(b)
    shared = (set(fields_a) & set(fields_b)) - {"other"}
    return bool(shared) and any(fields_a[f] != fields_b[f] for f in shared)


_TITLES = frozenset("the a an mr mrs ms dr sir president minister prime secretary general".split())


def name_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if w not in _TITLES}


def article_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


# ------------------------------------------------------------------ the answer


def apply(answer: Answer, combined: Combined | None, question: Question,
          cite: Callable[[int, Candidate], Citation], max_citations: int) -> Answer:
    """``answer`` rewritten to say what the sources say. A single or agreeing answer keeps its
    text and citations and gains ``sources``; a disagreement or an update is rewritten, and so is
    an answer whose claims all came from articles published after the question's date."""
    if combined is None or answer.abstained:
        return answer
    given = answer.short_answer.text if answer.short_answer else answer.extra.get("span")
    kept = isinstance(given, str) and same(given, combined.answer.best.answer.text, combined.kind)
    if combined.status in ("single", "agree") and kept:
        short = answer.short_answer or combined.answer.best.answer
        answer = _cite_agreeing(answer, combined, cite, max_citations)
        return replace(answer, short_answer=short, sources=_check(combined, answer.citations, {}))
    numbered: dict[str, int] = {}
    citations: list[Citation] = []

    def markers(side: Side) -> str:
        out = ""
        for claim in _side_claims(side):
            key = _citation_key(claim)
            if key not in numbered and len(citations) < max_citations:
                numbered[key] = len(citations) + 1
                citations.append(cite(numbered[key], claim.evidence))
            if key in numbered:
                out += f"[{numbered[key]}]"
        return out

    head = combined.answer.latest() if combined.status == "updated" else combined.answer.best
    text = _sentence_of(combined, head, markers, question)
    short = head.answer
    return replace(answer, text=text, citations=tuple(citations), short_answer=short,
                   extra={**answer.extra, "span": short.text},
                   sources=_check(combined, tuple(citations), numbered))


def _cite_agreeing(answer: Answer, combined: Combined, cite: Callable[[int, Candidate], Citation],
                   max_citations: int) -> Answer:
    """Independent sources that agree are each cited (room permitting): the reader sees them."""
    cited = {c.article_id for c in answer.citations}
    covered = {c.story for c in combined.agreeing if c.evidence.article.id in cited}
    citations, text = list(answer.citations), answer.text
    for claim in combined.agreeing:
        if claim.story in covered or len(citations) >= max_citations:
            continue
        covered.add(claim.story)
        citations.append(cite(len(citations) + 1, claim.evidence))
        text += f"[{len(citations)}]" if text.endswith("]") else f" [{len(citations)}]"
    return replace(answer, text=text, citations=tuple(citations))


def _sentence_of(combined: Combined, head: Claim, markers: Callable[[Side], str],
                 question: Question) -> str:
    if combined.status == "disagree":
        parts = [f"{s.best.answer.text} {markers(s)}" for s in (combined.answer, *combined.rivals)]
        return "Sources differ: " + "; ".join(parts)
    text = f"{head.answer.text} {markers(combined.answer)}"
    if combined.rivals:
        others = "; ".join(f"{s.best.answer.text} {markers(s)}" for s in combined.rivals)
        text += f" (sources differ: {others})"
    for side in combined.earlier:
        change = _direction(head.answer.text, side.latest().answer.text)
        when = format_day(side.date, question.as_of) if side.date else "earlier"
        text += f", {change} {side.latest().answer.text} on {when} {markers(side)}"
    return text


def _direction(now: str, before: str) -> str:
    x, y = figure(now), figure(before)
    if x is None or y is None or x == y:
        return "changed from"
    return "up from" if x > y else "down from"


def format_day(day: dt.date, as_of: dt.date | None) -> str:
    """"3 April", with the year when it is not the year of the question."""
    year = (as_of or dt.date.today()).year
    text = f"{day.day} {day.strftime('%B')}"
    return text if day.year == year else f"{text} {day.year}"


def _side_claims(side: Side) -> list[Claim]:
    """The side's best claim per story (its latest date first), at most SIDE_CITATIONS."""
    seen: dict[str, Claim] = {}
    for claim in [side.latest(), *side.claims]:
        seen.setdefault(claim.story, claim)
    return list(seen.values())[:SIDE_CITATIONS]


def _citation_key(claim: Claim) -> str:
    s = claim.evidence.sentence
    return f"{s.article_id}:{s.idx}"


def _check(combined: Combined, citations: Sequence[Citation], numbered: dict[str, int]) -> SourceCheck:
    def refs(claims: Sequence[Claim]) -> tuple[int, ...]:
        return tuple(sorted({numbered[k] for k in map(_citation_key, claims) if k in numbered}))

    def side(s: Side) -> SourceSide:
        return SourceSide(answer=s.best.answer.text, sources=len(s.stories),
                          date=s.date.isoformat() if s.date else None, citations=refs(s.claims))

    own = refs(combined.agreeing) if numbered else tuple(c.n for c in citations)
    return SourceCheck(status=combined.status, agree=len(combined.stories), citations=own,
                       disagree=tuple(side(s) for s in combined.rivals),
                       earlier=tuple(side(s) for s in combined.earlier))

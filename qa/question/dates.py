"""Date expressions in a question ("this week", "on Friday", "last month", "in March", "March 3,
2025") resolved to a window of dates against the day the question is asked (its as-of date).

News questions are relative to when they are asked: "Which governor declared a state of emergency
this week?" means a different governor every week. The window is what retrieval prefers; it is a
preference, not a filter, because the reading of an expression can be wrong ("on Friday" on a
Friday may mean today or a week ago).

Conventions (each one a choice; the tests pin them):
- "this week", "the past week", "in recent days": the seven days ending on the as-of date.
- "last week": the previous calendar week, Monday to Sunday.
- a weekday ("on Friday", "Friday"): its latest occurrence on or before the as-of date;
  "last Friday": its latest occurrence before the as-of date.
- "the weekend" / "this weekend": the latest Saturday-Sunday begun by the as-of date;
  "last weekend" on a Saturday or Sunday: the one before.
- "this month", "earlier this month": the 1st to the as-of date; "last month": the previous
  calendar month; the same for years.
- "in March": the latest March begun by the as-of date; "March 3": the latest March 3 on or
  before it; a year given is used as given.
- Windows never end after the as-of date; a window entirely after it ("next Friday", "in 2031")
  is no window. Several expressions: the narrowest wins (the latest on a tie).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from qa.types import DateWindow

_DAY = dt.timedelta(days=1)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_MONTH_ALT = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
            "a couple of": 2, "a few": 3, "several": 3}
_NUMBER_ALT = (r"(?:\d{1,3}|a couple of|a few|several|an?|one|two|three|four|five|six|seven|eight|"
               r"nine|ten|eleven|twelve)")


@dataclass(frozen=True)
class Found:
    """One date expression: its window and where it sits in the text."""

    window: DateWindow
    start: int
    end: int


# ------------------------------------------------------------------ calendar helpers


def monday_of(day: dt.date) -> dt.date:
    return day - day.weekday() * _DAY


def month_window(year: int, month: int) -> tuple[dt.date, dt.date]:
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return first, following - _DAY


def latest_weekday(as_of: dt.date, weekday: int, *, strictly_before: bool = False) -> dt.date:
    back = (as_of.weekday() - weekday) % 7
    if back == 0 and strictly_before:
        back = 7
    return as_of - back * _DAY


def month_number(word: str) -> int:
    word = word.lower().rstrip(".")[:3]
    return [m[:3] for m in MONTHS].index(word) + 1


def latest_month(as_of: dt.date, month: int) -> int:
    """The year of the latest ``month`` begun by ``as_of``."""
    return as_of.year if month <= as_of.month else as_of.year - 1


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


# ------------------------------------------------------------------ the rules

Rule = Callable[[re.Match[str], dt.date], tuple[dt.date, dt.date] | None]
_RULES: list[tuple[re.Pattern[str], Rule]] = []


def rule(pattern: str) -> Callable[[Rule], Rule]:
    def register(func: Rule) -> Rule:
        _RULES.append((re.compile(pattern, re.IGNORECASE), func))
        return func
    return register


@rule(r"\b(\d{4})-(\d{2})-(\d{2})\b")
def _iso(m: re.Match[str], as_of: dt.date):
    day = _safe_date(int(m[1]), int(m[2]), int(m[3]))
    return (day, day) if day else None


@rule(rf"\b({_MONTH_ALT})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?")
def _month_day(m: re.Match[str], as_of: dt.date):
    return _day_of(as_of, month_number(m[1]), int(m[2]), m[3])


@rule(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({_MONTH_ALT})(?:,?\s+(\d{{4}})\b)?")
def _day_month(m: re.Match[str], as_of: dt.date):
    return _day_of(as_of, month_number(m[2]), int(m[1]), m[3])


def _day_of(as_of: dt.date, month: int, day: int, year: str | None):
    if year:
        found = _safe_date(int(year), month, day)
    else:
        found = _safe_date(as_of.year, month, day)
        if found and found > as_of:
            found = _safe_date(as_of.year - 1, month, day)
    return (found, found) if found else None


_MAY_LEADS = ("in", "during", "since", "throughout", "early", "late", "mid")


@rule(rf"\b(?:in|during|since|of|throughout|early|late|mid|until|before|by)[\s-]+"
      rf"({_MONTH_ALT})(?:,?\s+(\d{{4}}))?\b(?!\s+\d)|\b({_MONTH_ALT})\s+(\d{{4}})\b")
def _month(m: re.Match[str], as_of: dt.date):
    name, year = (m[1], m[2]) if m[1] else (m[3], m[4])
    lead = m[0].lower()
    if name.lower().rstrip(".") == "may" and not year and not lead.startswith(_MAY_LEADS):
        return None  # "by May", "of May" are too often the verb: "in May" or "May 2025"
    month = month_number(name)
    start, end = month_window(int(year) if year else latest_month(as_of, month), month)
    if m[0].lower().startswith("since"):
        return start, as_of
    return start, end


@rule(r"\b(?:in|during|throughout|since)\s+(?:the\s+year\s+)?((?:19|20)\d{2})\b")
def _year(m: re.Match[str], as_of: dt.date):
    year = int(m[1])
    if m[0].lower().startswith("since"):
        return dt.date(year, 1, 1), as_of
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


@rule(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b")
def _today(m: re.Match[str], as_of: dt.date):
    return as_of, as_of


@rule(r"\b(?:the\s+)?day\s+before\s+yesterday\b")
def _day_before_yesterday(m: re.Match[str], as_of: dt.date):
    return as_of - 2 * _DAY, as_of - 2 * _DAY


@rule(r"\b(?:yesterday|last\s+night)\b")
def _yesterday(m: re.Match[str], as_of: dt.date):
    return as_of - _DAY, as_of - _DAY


@rule(r"\b(?:this|the\s+past|the\s+last|over\s+the\s+past)\s+week\b|\bin\s+recent\s+days\b"
      r"|\bthis\s+past\s+week\b|\brecently\b|\b(?:the|over\s+the)\s+(?:past|last)\s+(?:few\s+)?days\b")
def _this_week(m: re.Match[str], as_of: dt.date):
    return as_of - 6 * _DAY, as_of


@rule(r"\blast\s+week\b|\bthe\s+previous\s+week\b")
def _last_week(m: re.Match[str], as_of: dt.date):
    monday = monday_of(as_of)
    return monday - 7 * _DAY, monday - _DAY


@rule(r"\b(last|this|the|over\s+the|at\s+the)\s+weekend\b")
def _weekend(m: re.Match[str], as_of: dt.date):
    saturday = latest_weekday(as_of, 5)
    if as_of.weekday() == 6:
        saturday = as_of - _DAY
    if m[1].lower() == "last" and as_of.weekday() >= 5:
        saturday -= 7 * _DAY
    return saturday, saturday + _DAY


@rule(r"\b(last\s+|on\s+|this\s+past\s+|next\s+|this\s+coming\s+|coming\s+)?"
      r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
      r"(\s+(?:morning|afternoon|evening|night))?")
def _weekday(m: re.Match[str], as_of: dt.date):
    lead = (m[1] or "").lower().strip()
    if lead.startswith(("next", "this coming", "coming")):
        return None
    day = latest_weekday(as_of, WEEKDAYS.index(m[2].lower()),
                         strictly_before=lead in ("last", "this past"))
    return day, day


@rule(r"\b(?:this|earlier\s+this|so\s+far\s+this|later\s+this)\s+month\b")
def _this_month(m: re.Match[str], as_of: dt.date):
    return as_of.replace(day=1), as_of


@rule(r"\b(?:last|the\s+previous)\s+month\b")
def _last_month(m: re.Match[str], as_of: dt.date):
    previous = as_of.replace(day=1) - _DAY
    return month_window(previous.year, previous.month)


@rule(r"\b(?:the\s+past|the\s+last|over\s+the\s+past)\s+month\b|\bin\s+recent\s+weeks\b")
def _past_month(m: re.Match[str], as_of: dt.date):
    return as_of - 30 * _DAY, as_of


@rule(r"\b(?:this|earlier\s+this|so\s+far\s+this|later\s+this)\s+year\b")
def _this_year(m: re.Match[str], as_of: dt.date):
    return dt.date(as_of.year, 1, 1), as_of


@rule(r"\blast\s+year\b|\bthe\s+previous\s+year\b")
def _last_year(m: re.Match[str], as_of: dt.date):
    return dt.date(as_of.year - 1, 1, 1), dt.date(as_of.year - 1, 12, 31)


@rule(r"\b(?:the\s+past|the\s+last|over\s+the\s+past)\s+year\b|\bin\s+recent\s+months\b")
def _past_year(m: re.Match[str], as_of: dt.date):
    return as_of - 365 * _DAY, as_of


@rule(rf"\b({_NUMBER_ALT})\s+(day|week|month|year)s?\s+ago\b")
def _ago(m: re.Match[str], as_of: dt.date):
    count = int(m[1]) if m[1].isdigit() else _NUMBERS[m[1].lower()]
    unit = m[2].lower()
    if unit == "day":
        day = as_of - count * _DAY
        return day, day
    days = {"week": 7, "month": 30, "year": 365}[unit] * count
    spread = {"week": 3, "month": 7, "year": 60}[unit]  # "two weeks ago" is a week, not a day
    centre = as_of - days * _DAY
    return centre - spread * _DAY, centre + spread * _DAY


# ------------------------------------------------------------------ finding and choosing


def find_dates(text: str, as_of: dt.date) -> list[Found]:
    """Every date expression in ``text`` with its window (clipped to end by ``as_of``), in text
    order; an expression inside a longer one ("March 3" in "March 3, 2025") counts once."""
    found: list[Found] = []
    for pattern, resolve in _RULES:
        for m in pattern.finditer(text):
            window = resolve(m, as_of)
            if window is None:
                continue
            start, end = window[0], min(window[1], as_of)
            if start > end:
                continue  # entirely after the as-of date
            phrase = text[m.start():m.end()].strip()
            found.append(Found(DateWindow(start, end, phrase), m.start(), m.end()))
    return sorted(_outermost(found), key=lambda f: f.start)


def _outermost(found: list[Found]) -> Iterator[Found]:
    ordered = sorted(found, key=lambda f: (f.start, -(f.end - f.start)))
    last_end = -1
    for item in ordered:
        if item.start >= last_end:
            last_end = item.end
            yield item


def resolve_window(text: str, as_of: dt.date) -> DateWindow | None:
    """The window a question is about: the narrowest of its expressions (the latest on a tie,
    since the interrogative part comes last), or ``None`` when it names no date."""
    found = find_dates(text, as_of)
    if not found:
        return None
    best = min(enumerate(found), key=lambda p: ((p[1].window.end - p[1].window.start).days, -p[0]))
    return best[1].window


def without_dates(text: str, as_of: dt.date) -> str:
    """``text`` with its date expressions removed: "week" or "Friday" are not topic words, and
    matching them lexically pulls in any article that uses them."""
    found = find_dates(text, as_of)
    for item in reversed(found):
        text = text[:item.start] + " " + text[item.end:]
    return re.sub(r"\s{2,}", " ", text).strip()

"""The date resolver: relative expressions against an as-of date (qa.question.dates)."""

from __future__ import annotations

import datetime as dt

import pytest

from qa.question.dates import find_dates, latest_weekday, month_window, resolve_window, without_dates

D = dt.date
FRIDAY = D(2025, 4, 11)  # a Friday
SUNDAY = D(2025, 4, 13)
MONDAY = D(2025, 4, 14)


def window(text: str, as_of: dt.date = FRIDAY) -> tuple[dt.date, dt.date] | None:
    found = resolve_window(text, as_of)
    return None if found is None else (found.start, found.end)


@pytest.mark.parametrize(("text", "expected"), [
    ("What happened today?", (FRIDAY, FRIDAY)),
    ("Who spoke tonight?", (FRIDAY, FRIDAY)),
    ("Who resigned yesterday?", (D(2025, 4, 10), D(2025, 4, 10))),
    ("What was announced last night?", (D(2025, 4, 10), D(2025, 4, 10))),
    ("Which governor declared an emergency this week?", (D(2025, 4, 5), FRIDAY)),
    ("Who won the election earlier this week?", (D(2025, 4, 5), FRIDAY)),
    ("What happened over the past few days?", (D(2025, 4, 5), FRIDAY)),
    ("Who resigned last week?", (D(2025, 3, 31), D(2025, 4, 6))),
    ("Who won on Sunday?", (D(2025, 4, 6), D(2025, 4, 6))),
    ("What did the minister say on Friday?", (FRIDAY, FRIDAY)),
    ("What did the minister say last Friday?", (D(2025, 4, 4), D(2025, 4, 4))),
    ("Who was elected on Tuesday evening?", (D(2025, 4, 8), D(2025, 4, 8))),
    ("What happened this month?", (D(2025, 4, 1), FRIDAY)),
    ("Which team was promoted earlier this month?", (D(2025, 4, 1), FRIDAY)),
    ("What did the bank decide last month?", (D(2025, 3, 1), D(2025, 3, 31))),
    ("How many votes were counted this year?", (D(2025, 1, 1), FRIDAY)),
    ("Who won the prize last year?", (D(2024, 1, 1), D(2024, 12, 31))),
    ("What opened in March?", (D(2025, 3, 1), D(2025, 3, 31))),
    ("What opened in May?", (D(2024, 5, 1), D(2024, 5, 31))),  # the latest May begun
    ("What opened in March 2023?", (D(2023, 3, 1), D(2023, 3, 31))),
    ("What happened in 2023?", (D(2023, 1, 1), D(2023, 12, 31))),
    ("What happened on March 3?", (D(2025, 3, 3), D(2025, 3, 3))),
    ("What happened on 3 March?", (D(2025, 3, 3), D(2025, 3, 3))),
    ("What happened on December 24?", (D(2024, 12, 24), D(2024, 12, 24))),  # not yet this year
    ("What happened on March 3, 2021?", (D(2021, 3, 3), D(2021, 3, 3))),
    ("What happened on 2025-02-14?", (D(2025, 2, 14), D(2025, 2, 14))),
    ("What happened two days ago?", (D(2025, 4, 9), D(2025, 4, 9))),
    ("What happened two weeks ago?", (D(2025, 3, 25), D(2025, 3, 31))),
    ("Which prices rose since March?", (D(2025, 3, 1), FRIDAY)),
    ("Who was appointed in mid-March?", (D(2025, 3, 1), D(2025, 3, 31))),
])
def test_expressions_resolve_against_the_as_of_date(text: str, expected) -> None:
    assert window(text) == expected


def test_the_phrase_is_kept() -> None:
    found = resolve_window("A storm hit the coast this week. Which governor spoke?", FRIDAY)
    assert found is not None and found.phrase == "this week"


@pytest.mark.parametrize("text", [
    "Who chaired the meeting?",
    "Who will speak next Friday?",  # the future is no window for published articles
    "What is planned for 2031?",
    "How many troops may be sent?",  # "may" the verb
    "Which 30 countries sent ministers?",
    "Is the shop open on Fridays?",  # habitual, not a date
])
def test_questions_without_a_date_have_no_window(text: str) -> None:
    assert window(text) is None


def test_windows_never_end_after_the_as_of_date() -> None:
    wednesday = D(2025, 4, 9)
    assert window("What is on this weekend?", wednesday) == (D(2025, 4, 5), D(2025, 4, 6))
    assert window("What happens this month?", wednesday)[1] == wednesday
    assert window("What happened in April?", wednesday) == (D(2025, 4, 1), wednesday)


def test_weekday_conventions() -> None:
    # on the day itself "on Friday" is today, "last Friday" is a week ago
    assert window("on Friday", FRIDAY) == (FRIDAY, FRIDAY)
    assert window("last Friday", FRIDAY) == (D(2025, 4, 4), D(2025, 4, 4))
    assert window("on Saturday", MONDAY) == (D(2025, 4, 12), D(2025, 4, 12))


def test_weekend_conventions() -> None:
    assert window("at the weekend", MONDAY) == (D(2025, 4, 12), SUNDAY)
    assert window("this weekend", SUNDAY) == (D(2025, 4, 12), SUNDAY)
    assert window("last weekend", SUNDAY) == (D(2025, 4, 5), D(2025, 4, 6))
    assert window("last weekend", MONDAY) == (D(2025, 4, 12), SUNDAY)


def test_last_week_is_the_previous_calendar_week_on_any_day() -> None:
    assert window("last week", MONDAY) == (D(2025, 4, 7), SUNDAY)
    assert window("last week", SUNDAY) == (D(2025, 3, 31), D(2025, 4, 6))


def test_month_and_year_boundaries() -> None:
    assert window("last month", D(2025, 1, 15)) == (D(2024, 12, 1), D(2024, 12, 31))
    assert window("this year", D(2025, 1, 1)) == (D(2025, 1, 1), D(2025, 1, 1))
    assert window("on March 1", D(2024, 3, 1)) == (D(2024, 3, 1), D(2024, 3, 1))
    assert window("on February 29", D(2025, 3, 1)) is None  # 2025 has none; 2024 is not "latest"
    assert month_window(2024, 2) == (D(2024, 2, 1), D(2024, 2, 29))
    assert month_window(2024, 12) == (D(2024, 12, 1), D(2024, 12, 31))


def test_the_narrowest_expression_wins() -> None:
    text = "The company reported last year's results this week. What did it say on Tuesday?"
    assert window(text) == (D(2025, 4, 8), D(2025, 4, 8))
    # the same width: the later one (the interrogative part)
    assert window("Yesterday's storm... What happened today?") == (FRIDAY, FRIDAY)


def test_an_expression_inside_a_longer_one_counts_once() -> None:
    found = find_dates("It happened on March 3, 2021 in Paris.", FRIDAY)
    assert [f.window.phrase for f in found] == ["March 3, 2021"]


def test_without_dates_removes_the_expressions() -> None:
    text = "A storm hit this week. Which governor declared an emergency on Sunday?"
    assert without_dates(text, FRIDAY) == "A storm hit . Which governor declared an emergency ?"


def test_latest_weekday() -> None:
    assert latest_weekday(FRIDAY, 4) == FRIDAY
    assert latest_weekday(FRIDAY, 4, strictly_before=True) == D(2025, 4, 4)
    assert latest_weekday(FRIDAY, 5) == D(2025, 4, 5)

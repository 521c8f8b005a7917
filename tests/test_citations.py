"""Citation parsing and checking (qa.answer.citations), with the deterministic hash embedder."""

from __future__ import annotations

import pytest

from qa import ABSTAIN_MESSAGE, FakeEmbedder
from qa.answer.citations import (
    UNVERIFIED,
    Checker,
    Source,
    find_groups,
    held_from,
    is_refusal,
    missing_facts,
    parse_citations,
    render,
)

SOURCES = [
    Source("United Kingdom Defence Secretary John Healey has chaired a meeting of countries "
           "regarding Ukraine.", "UK urges coalition", "2025-04-10"),
    Source("He added that 200 military planners have been developing plans to deepen European "
           "involvement in Ukraine.", "UK urges coalition", "2025-04-10"),
    Source("That meeting will be chaired by the UK and Germany.", "UK urges coalition",
           "2025-04-10"),
]


def checker(question: str = "Who chaired the meeting?") -> Checker:
    embedder = FakeEmbedder()
    return Checker(question, SOURCES, lambda text: embedder.encode([text])[0])


@pytest.mark.parametrize(("text", "numbers"), [
    ("Healey [1].", [1]),
    ("Healey [1][3] and [2]", [1, 3, 2]),
    ("Healey [1, 3].", [1, 3]),
    ("Healey [2-3].", [2, 3]),
    ("Healey [Sentence 2].", [2]),
    ("Healey [1] [1].", [1]),
    ("No markers, [sic] or [a].", []),
])
def test_parse_citations(text: str, numbers: list[int]) -> None:
    assert parse_citations(text) == numbers


def test_adjacent_markers_form_one_group() -> None:
    groups = find_groups("Healey [1], [3] and Germany [2].")
    assert [g.numbers for g in groups] == [(1, 3), (2,)]


def test_supported_citation_is_kept_and_renumbered() -> None:
    out = render("John Healey chaired the meeting [3][1].", checker())
    assert out.text == "John Healey chaired the meeting [1]."
    assert out.cited == [1]  # answer [1] is source 1
    assert [r["n"] for r in out.removed] == [3]  # source 3 names the UK and Germany, not Healey
    assert out.supported == 1 and out.unsupported == []


def test_out_of_range_citation_is_removed_and_claim_marked() -> None:
    out = render("Donald Trump chaired the summit [7].", checker())
    assert out.removed == [{"n": 7, "claim": "Donald Trump chaired the summit",
                            "reason": "out_of_range"}]
    assert out.cited == [] and out.attached == []
    assert out.text == f"Donald Trump chaired the summit{UNVERIFIED}."
    assert out.unsupported == ["Donald Trump chaired the summit"]


def test_claim_with_a_wrong_or_no_marker_gets_the_sentence_that_supports_it() -> None:
    out = render("John Healey chaired the meeting [7].", checker())
    assert out.text == "John Healey chaired the meeting [1]." and out.cited == [1]
    assert out.removed[0]["reason"] == "out_of_range"
    assert out.attached == [{"n": 1, "claim": "John Healey chaired the meeting"}]
    out = render("200 military planners have been developing plans. The UK and Germany [3].",
                 checker("How many military planners?"))
    assert out.text == ("200 military planners have been developing plans [1]. "
                        "The UK and Germany [2].")
    assert out.cited == [2, 3]  # numbered in reading order


def test_unsupported_citation_is_removed() -> None:
    out = render("Military planners chaired the meeting in Paris [2].", checker())
    assert out.cited == []
    assert out.removed[0]["n"] == 2
    assert out.removed[0]["reason"].startswith(("unsupported", "missing"))


def test_a_name_or_number_missing_from_the_cited_sentence_removes_it() -> None:
    out = render("Donald Trump chaired a meeting of countries regarding Ukraine [1].", checker())
    assert out.cited == []
    assert out.removed[0]["reason"] == "missing: Donald, Trump"
    out = render("300 military planners have been developing plans [2].",
                 checker("How many planners?"))
    assert out.removed[0]["reason"] == "missing: 300"


def test_names_numbers_and_acronyms_found_in_sources() -> None:
    assert missing_facts("The UK and Germany will chair it", [SOURCES[2]]) == []
    assert missing_facts("The UK said 200 planners", [SOURCES[0]]) == ["200"]  # UK: United Kingdom
    assert missing_facts("In 2025 Ukrainian planners", [SOURCES[1]]) == []  # date; Ukraine
    assert missing_facts("Ukraine-European planners", [SOURCES[1]]) == []  # hyphenated parts


def test_each_claim_checked_against_its_own_citation() -> None:
    text = ("John Healey chaired the meeting [1]. 200 military planners have been developing "
            "plans [2]. The UK and Germany will chair the next meeting [3].")
    out = render(text, checker("What happened?"))
    assert out.cited == [1, 2, 3] and out.removed == []
    assert out.text == text


def test_answer_opening_with_a_marker_cites_the_sentence_after_it() -> None:
    out = render("[2] 200 military planners have been developing plans.", checker("How many?"))
    assert out.cited == [2]
    assert out.text == "[1] 200 military planners have been developing plans."


def test_uncited_claim_is_marked_but_short_filler_is_not() -> None:
    out = render("John Healey chaired the meeting [1]. He wore a blue tie. Yes.", checker())
    assert out.text == f"John Healey chaired the meeting [1]. He wore a blue tie{UNVERIFIED}. Yes."
    assert out.unsupported == ["He wore a blue tie."]


@pytest.mark.parametrize("text", [
    ABSTAIN_MESSAGE,
    f"  {ABSTAIN_MESSAGE.upper()}",
    "I cannot answer this from the given sentences.",
    "The sentences do not say who chaired it.",
])
def test_refusal_detected(text: str) -> None:
    assert is_refusal(text, ABSTAIN_MESSAGE)


def test_answer_with_citations_is_not_a_refusal() -> None:
    assert not is_refusal("The sentences do not name him, but Healey chaired it [1].",
                          ABSTAIN_MESSAGE)
    assert not is_refusal("John Healey [1]", ABSTAIN_MESSAGE)


def test_held_from_keeps_back_unfinished_markers_only() -> None:
    assert held_from("Healey chaired [") == len("Healey chaired")
    assert held_from("Healey chaired [1") == len("Healey chaired")
    assert held_from("Healey chaired [1] ") == len("Healey chaired")
    assert held_from("Healey chaired [1].") == len("Healey chaired [1].")
    assert held_from("Healey [sic] chaired") == len("Healey [sic] chaired")


@pytest.mark.parametrize("text", [
    "John Healey chaired the meeting [3][1]. 200 military planners were at work [2]. Done.",
    "[2] 200 military planners have been developing plans. Healey [1]",
    "Healey [9], the UK [3].",
])
def test_streamed_prefixes_only_grow_and_end_as_the_final_text(text: str) -> None:
    ck = checker()
    shown = ""
    for end in range(1, len(text) + 1):
        raw = text[:end]
        partial = render(raw[: held_from(raw)], ck, final=False)
        assert partial.text.startswith(shown), (raw, partial.text, shown)
        shown = partial.text
    shown = render(text, ck, final=False, complete=True).text
    final = render(text, ck)
    if not final.unsupported and not final.attached:
        assert shown.strip() == final.text


def test_short_answer_must_match_the_names_in_the_question() -> None:
    out = render("John Healey [1]", checker("Who is the German defence secretary?"))
    assert out.cited == [] and out.removed[0]["reason"] == "missing: German"
    out = render("John Healey [1]", checker("Who is the United Kingdom defence secretary?"))
    assert out.cited == [1]


def test_acronyms_that_are_also_stopwords_count_as_names() -> None:
    assert missing_facts("The US Defence Secretary", [SOURCES[0]]) == ["US"]

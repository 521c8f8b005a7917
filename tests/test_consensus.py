"""qa.answer.consensus on hand-built claims: disagreement, agreement, copies as one source, and
figures that change over time."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from qa.answer import consensus
from qa.answer.consensus import Claim, combine
from qa.answer.evidence import Candidate
from qa.answer.extractive import to_citation
from qa.question import analyze
from qa.types import Answer, Article, Sentence, ShortAnswer


def claim(span: str, sentence: str, article_id: str, *, score: float, story: str | None = None,
          date: str | None = "2025-04-10") -> Claim:
    text = f"Headline words. {sentence}"
    start = text.index(sentence)
    article = Article(article_id, f"Title of {article_id}", text, date=date, story_id=story or article_id)
    sent = Sentence(article_id, 1, start, start + len(sentence), sentence)
    at = text.index(span, start)
    cand = Candidate(sent, article, hit_rank=0, dense=0.5, lexical=0.5, score=score)
    return Claim(ShortAnswer(span, article_id, at, at + len(span)), score, cand)


ARRESTS = analyze("How many people were arrested at the Selmark port protest?", dt.date(2025, 4, 12))
WIRE = "Police arrested about 150 people at Selmark port on Wednesday."
CALDER = "At least 155 people were arrested at Selmark port on Wednesday."


def answered(question, claims) -> Answer:
    best = max(claims, key=lambda c: c.score)
    plain = Answer(question=question.text, text=f"{best.answer.text} [1]", abstained=False,
                   citations=(to_citation(1, best.evidence),), short_answer=best.answer)
    return consensus.apply(plain, combine(question, claims), question, to_citation, max_citations=4)


def test_independent_sources_that_differ_are_both_cited() -> None:
    claims = [claim("about 150", WIRE, "mpa", score=0.80, story="mpa"),
              claim("about 150", WIRE.replace("Police", "The police"), "harlow", score=0.79, story="mpa"),
              claim("At least 155", CALDER, "calder", score=0.76)]
    answer = answered(ARRESTS, claims)
    assert answer.text == "Sources differ: about 150 [1]; At least 155 [2]"
    assert [c.article_id for c in answer.citations] == ["mpa", "calder"]
    check = answer.sources
    assert check is not None and check.status == "disagree"
    assert (check.agree, check.citations) == (1, (1,))  # two articles, one wire story: one source
    assert [(s.answer, s.sources, s.citations) for s in check.disagree] == [("At least 155", 1, (2,))]
    assert answer.short_answer == claims[0].answer


def test_copies_of_one_story_never_disagree_with_each_other() -> None:
    claims = [claim("about 150", WIRE, "mpa", score=0.80, story="mpa"),
              claim("155", "Police arrested 155 people at Selmark port on Wednesday.", "harlow",
                    score=0.79, story="mpa")]
    assert combine(ARRESTS, claims).status == "single"


def test_a_rival_span_from_a_sentence_that_states_the_answer_is_agreement() -> None:
    who = analyze("Who chairs the national flood committee?", dt.date(2025, 4, 12))
    claims = [claim("Orla Fenwick", "Orla Fenwick chairs the national flood committee.", "mpa", score=0.9),
              claim("Millbeck", "Orla Fenwick, who chairs the national flood committee, visited Millbeck.",
                    "calder", score=0.85)]
    combined = combine(who, claims)
    assert combined is not None and (combined.status, combined.stories) == ("agree", ("mpa", "calder"))


def test_a_weak_rival_is_no_disagreement() -> None:
    claims = [claim("about 150", WIRE, "mpa", score=0.80),
              claim("At least 155", CALDER, "calder", score=0.80 * consensus.RIVAL_SHARE - 0.01)]
    assert combine(ARRESTS, claims).status == "single"


def test_agreement_counts_independent_sources() -> None:
    who = analyze("Who chairs the national flood committee?", dt.date(2025, 4, 12))
    chair = "Emergency Minister Orla Fenwick, who chairs the national flood committee, spoke."
    claims = [claim("Orla Fenwick", chair, "mpa", score=0.9, story="mpa"),
              claim("Orla Fenwick", chair, "harlow", score=0.88, story="mpa"),
              claim("Fenwick", "Fenwick chairs the national flood committee.", "calder", score=0.7)]
    answer = answered(who, claims)
    assert answer.text == "Orla Fenwick [1][2]"  # each independent source cited, copies once
    assert [c.article_id for c in answer.citations] == ["mpa", "calder"]
    assert answer.sources is not None
    assert (answer.sources.status, answer.sources.agree) == ("agree", 2)


TOLL_CLAIMS = [
    ("30", "Floods in the Tarrow valley have killed 30 people.", "mpa", "2025-04-03", 0.90),
    ("30", "Floods in the Tarrow valley killed 30 people.", "harlow", "2025-04-03", 0.89),
    ("42", "The floods in the Tarrow valley have now killed 42 people.", "calder", "2025-04-04", 0.80),
    ("50", "Floods in the Tarrow valley have killed 50 people.", "lantern", "2025-04-05", 0.78),
]


@pytest.mark.parametrize(("as_of", "expected", "latest", "earlier"), [
    (dt.date(2025, 4, 6), "50 [1], up from 42 on 4 April [2]", "lantern", "2025-04-04"),
    (dt.date(2025, 4, 4), "42 [1], up from 30 on 3 April [2]", "calder", "2025-04-03"),
])
def test_a_changing_figure_gives_the_latest_as_of_the_question(as_of, expected, latest, earlier) -> None:
    question = analyze("How many people have the Tarrow valley floods killed?", as_of)
    claims = [claim(v, s, a, score=sc, date=d, story="mpa" if a == "harlow" else a)
              for v, s, a, d, sc in TOLL_CLAIMS]
    answer = answered(question, claims)
    assert answer.text == expected
    assert answer.sources is not None and answer.sources.status == "updated"
    assert [s.date for s in answer.sources.earlier] == [earlier]
    assert answer.short_answer is not None and answer.short_answer.text == expected.split()[0]
    assert answer.citations[0].article_id == latest


def test_before_the_update_there_is_only_the_first_figure() -> None:
    question = analyze("How many people have the Tarrow valley floods killed?", dt.date(2025, 4, 3))
    claims = [claim(v, s, a, score=sc, date=d, story="mpa" if a == "harlow" else a)
              for v, s, a, d, sc in TOLL_CLAIMS]
    combined = combine(question, claims)
    assert combined is not None and combined.status == "single"
    assert combined.answer.best.answer.text == "30" and len(combined.answer.claims) == 2


def test_an_answer_from_after_the_question_date_is_replaced() -> None:
    question = analyze("How many people have the Tarrow valley floods killed?", dt.date(2025, 4, 3))
    claims = [claim(v, s, a, score=sc, date=d) for v, s, a, d, sc in TOLL_CLAIMS]
    latest = claims[-1]
    plain = Answer(question=question.text, text="50 [1]", abstained=False,
                   citations=(to_citation(1, latest.evidence),), short_answer=latest.answer)
    answer = consensus.apply(plain, combine(question, claims), question, to_citation, max_citations=4)
    assert answer.text == "30 [1][2]" and {c.date for c in answer.citations} == {"2025-04-03"}
    assert answer.short_answer is not None and answer.short_answer.text == "30"


def test_the_year_is_shown_when_it_is_not_the_question_year() -> None:
    assert consensus.format_day(dt.date(2024, 12, 30), dt.date(2025, 1, 2)) == "30 December 2024"
    assert consensus.format_day(dt.date(2025, 4, 3), dt.date(2025, 4, 6)) == "3 April"


@pytest.mark.parametrize(("text", "value"), [
    ("at least 155", 155), ("about 1,200", 1200), ("1.5 million", 1.5e6), ("$5 million", 5e6),
    ("12 percent", 12), ("fifty", 50), ("nearly two thousand", 2000), ("no figure", None),
])
def test_figures(text, value) -> None:
    assert consensus.figure(text) == value


@pytest.mark.parametrize(("a", "b", "kind", "same", "conflict"), [
    ("at least 155", "155", "figure", True, False),
    ("about 150", "at least 155", "figure", False, True),
    ("3 April", "April 3, 2025", "date", True, False),
    ("Friday", "3 April", "date", False, False),  # may be the same day: not a conflict
    ("Thursday", "on Thursday", "date", True, False),  # no calendar parts: the words decide
    ("dozens", "dozens", "figure", True, False),
    ("3 April", "5 April", "date", False, True),
    ("Healey", "Defence Secretary John Healey", "name", True, False),
    ("Orla Fenwick", "Tobias Renner", "name", False, True),
    ("Millbeck", "the town", "name", False, False),  # a common noun phrase is no rival name
])
def test_same_and_conflicting_values(a, b, kind, same, conflict) -> None:
    assert consensus.same(a, b, kind) is same
    assert consensus.conflicts(a, b, kind) is conflict


# "on Sunday" asked on Tuesday 1 April 2025: the window is Sunday 30 March
PARADE = analyze("Roughly how many fans lined the parade route on Sunday?", dt.date(2025, 4, 1))


def test_a_report_published_the_day_after_the_window_is_about_it() -> None:
    monday = claim("About 20,000", "About 20,000 fans lined the route on Sunday.", "parade",
                   score=2.0, date="2025-03-31")
    combined = combine(PARADE, [monday], window_lag_days=1)
    assert combined is not None and combined.answer.best.answer.text == "About 20,000"
    assert combined.answer.best.evidence.article.id == "parade"


def test_a_weak_claim_inside_the_window_does_not_displace_the_best_one() -> None:
    # two days late: outside the window even with its lag, yet the reader's best by far
    best = claim("About 20,000", "About 20,000 fans lined the route on Sunday.", "parade",
                 score=2.0, date="2025-04-01")
    weak = claim("1987", "The club won the cup for the first time since 1987 on Sunday.", "final",
                 score=-0.1, date="2025-03-30")
    best, weak = (replace(c, confidence=p) for c, p in ((best, 0.54), (weak, 0.02)))
    combined = combine(PARADE, [best, weak], window_lag_days=1)
    assert combined is not None and combined.answer.best.answer.text == "About 20,000"


def test_a_rival_claim_inside_the_window_is_preferred_to_one_outside_it() -> None:
    inside = claim("20,000", "Some 20,000 fans lined the route on Sunday.", "sunday",
                   score=1.8, date="2025-03-30")
    outside = claim("35,000", "About 35,000 fans lined the route in an earlier parade.", "older",
                    score=2.0, date="2025-03-20")
    combined = combine(PARADE, [outside, inside], window_lag_days=1)
    assert combined is not None and combined.answer.best.answer.text == "20,000"

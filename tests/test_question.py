"""Question understanding: context vs interrogative part, answer type and focus from spaCy's parse
(the packaged small English pipeline, a dependency of the package)."""

from __future__ import annotations

import datetime as dt

import pytest

from qa.question import ANSWER_TYPES, analyze
from qa.question.analysis import answer_type, split_question
from qa.question.lexicon import type_of_noun

FRIDAY = dt.date(2025, 4, 11)


def test_context_and_interrogative_parts() -> None:
    q = analyze("A storm forced thousands to evacuate this week. Which governor declared a state "
                "of emergency?", FRIDAY)
    assert q.context == "A storm forced thousands to evacuate this week."
    assert q.interrogative == "Which governor declared a state of emergency?"
    assert q.text.endswith(q.interrogative)


@pytest.mark.parametrize(("text", "context", "interrogative"), [
    ("Who chaired the meeting?", "", "Who chaired the meeting?"),
    ("Storm Ana: which governor declared an emergency?", "Storm Ana",
     "which governor declared an emergency?"),
    ("The club was founded in 1899. Name the club.", "The club was founded in 1899.", "Name the club."),
    ("Which team won? It was the final on Sunday.", "It was the final on Sunday.", "Which team won?"),
])
def test_split(text: str, context: str, interrogative: str) -> None:
    assert split_question(text) == (context, interrogative)


@pytest.mark.parametrize(("text", "kind", "wh", "focus_noun", "unit"), [
    ("Which governor declared a state of emergency?", "person", "which", "governor", None),
    ("Which breed of dog won Best in Show?", "thing", "which", "breed", None),
    ("What kind of dog won the show?", "thing", "what", "dog", None),
    ("Which team won the Super Bowl?", "organisation", "which", "team", None),
    ("Which company bought the airline?", "organisation", "which", "company", None),
    ("In which city was the summit held?", "place", "which", "city", None),
    ("What is the capital of France?", "place", "what", "capital", None),
    ("Which country's prime minister resigned?", "place", "which", "country", None),
    ("Which of the ministers resigned?", "person", "which", "minister", None),
    ("What year did the war end?", "date", "what", "year", None),
    ("What percentage of voters backed the plan?", "percent", "what", "percentage", None),
    ("What title did the book have?", "work", "what", "title", None),
    ("Name the team that won the cup.", "organisation", "", "team", None),
    ("Who chaired the meeting?", "person", "who", None, None),
    ("Whose car was stolen?", "person", "whose", "car", None),
    ("When did Zelenskiy accuse Russia?", "date", "when", None, None),
    ("Where did Healey speak?", "place", "where", None, None),
    ("Why did the minister resign?", "reason", "why", None, None),
    ("What caused the blackout?", "reason", "what", None, None),
    ("What did Healey say?", "statement", "what", None, None),
    ("How did Peskov respond?", "statement", "how", None, None),
    ("How many troops will be deployed?", "number", "how many", None, "troop"),
    ("How many of the countries sent ministers?", "number", "how many", None, "country"),
    ("How much does the new stadium cost?", "money", "how much", None, None),
    ("How much money did the charity raise?", "money", "how much", None, "money"),
    ("How much oil was spilled?", "number", "how much", None, "oil"),
    ("How long will the ban last?", "duration", "how long", None, None),
    ("How old is the president?", "number", "how old", None, "year"),
    ("What is NATO?", "other", "what", None, None),
    # "what" as the subject or object of a content verb asks for a thing; a naming verb
    # ("called") asks for a name, not for what someone said
    ("What did the choir sing?", "thing", "what", None, None),
    ("What brought the trading to a stop?", "thing", "what", None, None),
    ("What are the small tentacles called?", "thing", "what", None, None),
    ("What did the minister call the plan?", "thing", "what", None, None),
    ("What happened to the ship?", "other", "what", None, None),
    ("What did the council do?", "other", "what", None, None),
    # a name's owner says what kind of name is asked for
    ("What is his name?", "person", "what", "name", None),
    ("What is the company's name?", "organisation", "what", "name", None),
    # the wh-word fills a gap inside what was said: a phrase of the statement is asked for
    ("What did Umerov say Ukraine is ready for?", "thing", "what", None, None),
    ("What did Zelenskiy post footage of?", "thing", "what", None, None),
    ("What did she tell reporters?", "statement", "what", None, None),
    # a clause opening with "once", "when"... says when it was said, not what
    ("What did he say once the deal was reached?", "statement", "what", None, None),
    ("What did the mayor say after the vote?", "statement", "what", None, None),
    # the small model's tags: a noun tagged as an adjective before "and", a verb tagged as a
    # plural noun in a question it leaves without a verb
    ("What German general and fighter pilot was of Huguenot ancestry?", "person", "what",
     "general", None),
    ("What party rules in Melbourne's inner regions?", "organisation", "what", "party", None),
    ("What general election was held?", "thing", "what", "election", None),
    # "what is/was" names the noun it equates, not a noun with a clause misread as it
    ("What was the first problem astronauts encountered during the test?", "thing", "what",
     "problem", None),
    ("What are pharmacists forbidden to do?", "other", "what", None, None),
    ("What are construction managers?", "other", "what", None, None),
    ("What is the hymn known as in English?", "thing", "what", "hymn", None),
])
def test_answer_type_and_focus(text: str, kind: str, wh: str, focus_noun, unit) -> None:
    q = analyze(text, FRIDAY)
    assert q.answer_type in ANSWER_TYPES
    assert (q.answer_type, q.wh, q.focus_noun, q.unit) == (kind, wh, focus_noun, unit)


def test_statement_questions_name_their_speaker() -> None:
    assert analyze("What did Healey say?", FRIDAY).speaker == "Healey"
    q = analyze("What did the Kremlin spokesman say about China?", FRIDAY)
    assert q.speaker == "the Kremlin spokesman" and q.main_verb == "say"
    assert "about China" in q.arguments
    assert analyze("Who chaired the meeting?", FRIDAY).speaker is None


def test_main_verb_and_arguments_leave_out_the_wh_phrase() -> None:
    q = analyze("Which governor declared a state of emergency?", FRIDAY)
    assert q.main_verb == "declare" and q.arguments == ("a state of emergency",)
    q = analyze("Why did the minister resign?", FRIDAY)  # the small model tags "resign" a noun
    assert q.main_verb == "resign" and q.arguments == ("the minister",)
    assert analyze("Who is the Finnish defence minister?", FRIDAY).main_verb is None
    q = analyze("Who won the election in Melbourne's inner regions?", FRIDAY)
    assert "the election in Melbourne inner regions" in q.arguments  # no "Melbourneinner"


def test_focus_words_leave_out_dates_and_entities_are_kept() -> None:
    q = analyze("Which team did Real Madrid beat on Sunday?", FRIDAY)
    assert "sunday" not in q.focus and "team" in q.focus and "beat" in q.focus
    assert ("Real Madrid", "PROPN") in q.entities
    assert q.window is not None and q.window.start == dt.date(2025, 4, 6)


def test_as_of_defaults_to_today() -> None:
    assert analyze("Who won?").as_of == dt.date.today()
    assert analyze("Who won yesterday?", FRIDAY).window.start == dt.date(2025, 4, 10)


def test_a_wh_word_inside_a_name_asks_nothing() -> None:
    assert analyze("In 2005, what did Doctor Who think of his home planet?", FRIDAY).answer_type != "person"
    assert analyze("Who is Doctor Who?", FRIDAY).answer_type == "person"


def test_regular_expressions_decide_when_the_parse_does_not() -> None:
    assert analyze("Number of troops sent to the border?", FRIDAY).answer_type == "number"
    assert answer_type("how many percent voted") == "percent"


def test_noun_lexicon() -> None:
    assert type_of_noun("Governor") == "person"
    assert type_of_noun("club") == "organisation"
    assert type_of_noun("breed") is None


@pytest.mark.parametrize(("text", "interrogative", "kind"), [
    # he/his: a person of the context, found by a person noun
    ("A Ukrainian minister wrote on social media that his country is ready for peace. What is "
     "his name?", "What is the Ukrainian minister's name?", "person"),
    # it: a singular thing of the context, its subject first
    ("A larger gathering to drum up support for Ukraine is planned. On which day will it take "
     "place?", "On which day will the larger gathering take place?", "date"),
    # they, the subject of a passive: what the same verb acted on in the context
    ("Police arrested two men on Monday. Where were they arrested?",
     "Where were two men arrested?", "place"),
    # nothing in the context agrees with "she": left as it is
    ("The storm hit the coast. What did she say?", "What did she say?", "statement"),
])
def test_pronouns_point_back_at_the_context(text: str, interrogative: str, kind: str) -> None:
    q = analyze(text, FRIDAY)
    assert (q.interrogative, q.answer_type) == (interrogative, kind)
    assert q.text == text  # the question as asked is kept


def test_a_question_without_context_keeps_its_pronouns() -> None:
    assert analyze("What did he say about the coalition?", FRIDAY).interrogative == \
        "What did he say about the coalition?"


@pytest.mark.parametrize("text", [
    "Who chaired the meeting?", "What did the minister say on Friday?",
    "A storm hit the coast this week. Which governor declared an emergency?"])
def test_retrieval_reads_the_dates_without_waiting_for_the_parse(text: str) -> None:
    from qa.retrieve import DatePreference

    quick = DatePreference.of_text(text, FRIDAY)
    assert quick == DatePreference.of(analyze(text, FRIDAY))
    assert quick.as_of == FRIDAY and (quick.window is None) == (text == "Who chaired the meeting?")

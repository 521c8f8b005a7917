"""The reader's relation checks on hand-built parses (no model): the tense of the question against
the tense of the evidence, the subject of a participle clause as its agent, and a property of a
named thing answered only by a sentence that states that property."""

from dataclasses import replace

import pytest

from qa.answer.cues import Cues, tense
from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.relations import name_absent, off_focus
from qa.answer.scoring import Model, Sentence, features, has_predicate, same_name
from qa.answer.spans import Span
from qa.parsing import Entity, Parse, Token
from qa.question import analyze
from qa.text import stem
from qa.types import Article

from .fakes import fake_parser
from .test_answer import answerer, evidence


def hand_parse(spec: str, entities: tuple[Entity, ...] = (), text: str = "") -> Parse:
    """A parse from "word/POS/TAG/dep/head" items separated by spaces (head: a token index) of
    ``text`` (default: the words joined by spaces)."""
    items = [item.split("/") for item in spec.split()]
    text = text or " ".join(item[0] for item in items)
    ents = {t: e.label for e in entities for t in range(e.start, e.end)}
    tokens, at = [], 0
    for i, (word, pos, tag, dep, head) in enumerate(items):
        at = text.index(word, at)
        tokens.append(Token(i, word, at, at + len(word), pos, tag, dep, int(head), ents.get(i, "")))
        at += len(word)
    return Parse(text, tuple(tokens), entities)


FUTURE = hand_parse("That/DT/DT/det/1 meeting/NOUN/NN/nsubjpass/4 will/AUX/MD/aux/4 be/AUX/VB/auxpass/4 "
                    "chaired/VERB/VBN/ROOT/4 by/ADP/IN/agent/4 Germany/PROPN/NNP/pobj/5 ./PUNCT/./punct/4",
                    (Entity(6, 7, "GPE"),))
PARTICIPLE = hand_parse("Chairing/VERB/VBG/advcl/5 the/DT/DT/det/2 meeting/NOUN/NN/dobj/0 "
                        ",/PUNCT/,/punct/5 Healey/PROPN/NNP/nsubj/5 said/VERB/VBD/ROOT/5 "
                        "it/PRON/PRP/nsubj/7 mattered/VERB/VBD/ccomp/5 ./PUNCT/./punct/5",
                        (Entity(4, 5, "PERSON"),))
PAST_QUESTION = hand_parse("Who/PRON/WP/nsubj/1 chaired/VERB/VBD/ROOT/1 the/DT/DT/det/3 "
                           "meeting/NOUN/NN/dobj/1 ?/PUNCT/./punct/1")


def cues(**kw) -> Cues:
    base = {"answer_type": "person", "terms": frozenset({"chair", "meet"}), "focus": frozenset(),
            "named": (), "wh_role": "subj", "verb": "chair", "tense": "past",
            "predicate": frozenset({"chair"})}
    return Cues(**{**base, **kw})


def span_features(c: Cues, p: Parse, start: int, end: int, head: int) -> dict[str, float]:
    sentence = Sentence(p, 0, 0.8, 0.8, 0.8, False, 1.0)
    return features(c, sentence, Span(start, end, head, frozenset({"entity"}), "PERSON"), 0)


def test_tense_of_a_question_and_of_a_verb_with_its_auxiliaries() -> None:
    assert tense(PAST_QUESTION) == "past"
    assert tense(FUTURE, 4) == "future"
    assert PARTICIPLE.tokens[0].text == "Chairing" and PARTICIPLE.tokens[0].head == 5
    assert tense(PARTICIPLE, 0) == "past"  # the participle takes the tense of "said"


def test_a_past_question_clashes_with_future_evidence() -> None:
    future = span_features(cues(), FUTURE, 6, 7, 6)
    assert future["tense_clash"] == 1.0 and future["tense_agree"] == 0.0
    assert span_features(cues(tense="future"), FUTURE, 6, 7, 6)["tense_clash"] == 0.0


def test_the_subject_of_a_participle_clause_is_its_agent() -> None:
    healey = span_features(cues(), PARTICIPLE, 4, 5, 4)
    assert healey["participle_agent"] == 1.0 and healey["verb_match"] == 1.0
    assert healey.get("tense_clash", 0.0) == 0.0
    # another verb in the participle clause makes no agent of the subject
    assert span_features(cues(verb="meet"), PARTICIPLE, 4, 5, 4).get("participle_agent", 0.0) == 0.0


def test_predicate_words_match_by_stem_or_derivation() -> None:
    p = hand_parse("Representatives/NOUN/NNS/nsubj/1 gathered/VERB/VBD/ROOT/1")
    assert has_predicate(p, frozenset({stem("represented")}))
    assert not has_predicate(p, frozenset({"born"}))


def test_a_property_of_a_name_mentioned_in_passing_is_not_answered(settings) -> None:
    """The sentence names Kallas and a place, but says nothing about a birth: abstain. The same
    question against a sentence that states it is answered."""
    model = Model(rank={"fit": 2.0, "sent_score": 3.0}, confidence={"bias": 2.0}, provenance={})
    reader = ExtractiveAnswerer(settings, parser=_parser, model=model)
    question = analyze("Where was Kaja Kallas born?")
    passing = reader.answer(question, evidence((PASSING.text, 0.8)))
    assert passing.abstained and passing.short_answer is None
    stated = reader.answer(question, evidence((STATED.text, 0.8)))
    assert not stated.abstained and stated.short_answer.text == "Tallinn"


def test_off_focus_needs_a_name_and_a_predicate(settings) -> None:
    reader = ExtractiveAnswerer(settings, parser=_parser,
                                model=Model(rank={"fit": 1.0}, confidence={"bias": 2.0}, provenance={}))
    question = analyze("Where was Kaja Kallas born?")
    best, _ = reader.choose(question, evidence((PASSING.text, 0.8)))
    cues = reader.cues(question)
    assert best is not None and off_focus(question, cues, best.features)
    # without a name to be about, or without a predicate, nothing is ruled out
    assert not off_focus(replace(question, entities=()), cues, best.features)
    assert cues.asks_property
    assert not off_focus(question, replace(cues, asks_property=False), best.features)


PASSING = hand_parse("Kaja/PROPN/NNP/compound/1 Kallas/PROPN/NNP/nsubj/2 said/VERB/VBD/ROOT/2 "
                     "ministers/NOUN/NNS/nsubj/4 met/VERB/VBD/ccomp/2 in/ADP/IN/prep/4 "
                     "the/DT/DT/det/8 United/PROPN/NNP/compound/8 States/PROPN/NNP/pobj/5 ./PUNCT/./punct/2",
                     (Entity(0, 2, "PERSON"), Entity(6, 9, "GPE")))
STATED = hand_parse("Kaja/PROPN/NNP/compound/1 Kallas/PROPN/NNP/nsubjpass/3 was/AUX/VBD/auxpass/3 "
                    "born/VERB/VBN/ROOT/3 in/ADP/IN/prep/3 Tallinn/PROPN/NNP/pobj/4 ./PUNCT/./punct/3",
                    (Entity(0, 2, "PERSON"), Entity(5, 6, "GPE")))
QUESTION = hand_parse("Where/SCONJ/WRB/advmod/4 was/AUX/VBD/auxpass/4 Kaja/PROPN/NNP/compound/3 "
                      "Kallas/PROPN/NNP/nsubjpass/4 born/VERB/VBN/ROOT/4 ?/PUNCT/./punct/4",
                      text="Where was Kaja Kallas born?")
_KNOWN = {p.text: p for p in (PASSING, STATED, QUESTION, FUTURE, PARTICIPLE, PAST_QUESTION)}


def _parser(texts):
    return [_KNOWN[t] for t in texts]


TITLED = hand_parse("Dutch/ADJ/JJ/amod/2 Defence/PROPN/NNP/compound/2 Minister/PROPN/NNP/compound/4 "
                    "Ruben/PROPN/NNP/compound/4 Brekelmans/PROPN/NNP/nsubj/5 spoke/VERB/VBD/ROOT/5",
                    (Entity(0, 1, "NORP"), Entity(3, 5, "PERSON")))


def test_a_person_s_title_is_checked_against_the_question_s_names() -> None:
    asked = cues(named=("Swedish",), verb="", tense="", predicate=frozenset(), wh_role="attr")
    span = Span(3, 5, 4, frozenset({"entity"}), "PERSON")
    sentence = Sentence(TITLED, 0, 0.8, 0.8, 0.8, False, 1.0)
    clash = features(asked, sentence, span, 0)
    assert clash["title_clash"] == 1.0 and clash["title_match"] == 0.0
    match = features(replace(asked, named=("Dutch",)), sentence, span, 0)
    assert match["title_match"] == 1.0 and match["title_clash"] == 0.0
    # a question that names no one, or asks for something else than a person, has no opinion
    assert "title_clash" not in features(replace(asked, named=()), sentence, span, 0)
    assert "title_clash" not in features(replace(asked, answer_type="place"), sentence, span, 0)


def test_a_span_that_clashes_with_the_expected_type_never_answers(settings) -> None:
    eager = Model(rank={"sent_score": 1.0}, confidence={"bias": 5.0}, provenance={})
    reader = ExtractiveAnswerer(settings, parser=fake_parser, model=eager)
    question = analyze("How many planners are developing plans?")
    assert reader.answer(question, evidence(("Healey said planners are developing plans.", 0.8))).abstained
    counted = reader.answer(question, evidence(("Healey said 200 planners are developing plans.", 0.8)))
    assert not counted.abstained and counted.short_answer.text == "200"


def test_initials_name_a_country() -> None:
    assert same_name(["United", "Kingdom"], "UK") and not same_name(["United", "Kingdom"], "US")
    assert same_name(["Swedish"], "Sweden") and not same_name(["Dutch"], "Swedish")


# ------------------------------------------------------------ a name the article never mentions

MINISTERS = Article("m", "Defence ministers meet in Brussels", (
    "United Kingdom Defence Secretary John Healey chaired the meeting at NATO headquarters. "
    "Finland's Defence Minister Antti Hakkanen said the Netherlands and Sweden backed the plan. "
    "The US did not take part. Warsaw will host the next meeting."))


@pytest.mark.parametrize(("question", "missing"), [
    ("Who is the Polish defence minister?", "Polish"),  # not "police", nor "policy"
    ("Who chaired the meeting in Paris?", "Paris"),
    ("Who is the NATO Secretary General?", "NATO Secretary General"),
    ("Who is the Danish defence minister?", "Danish"),
])
def test_a_name_the_article_never_mentions_is_reported(question, missing) -> None:
    assert name_absent(analyze(question), MINISTERS) == missing


@pytest.mark.parametrize("question", [
    "Who is the Finnish defence minister?",  # Finland
    "What did the Dutch say?",  # the Netherlands
    "Did the American government take part?",  # the US
    "Who is Britain's defence secretary?",  # the United Kingdom
    "Where did the United Kingdom's defence secretary speak?",
    "Which Polish city will host the next meeting?",  # describes the answer: Warsaw
    "Which European country backed the plan?",  # a region
    "Who chaired the meeting on Friday in March?",  # dates are not names
    "Who chaired the meting at NATO headquaters?",  # lower-case slips are no names at all
    "What did Hakkannen say?",  # a slip in a long name
    "What did Mr Healey say?",  # an honorific the article leaves out
])
def test_names_the_article_does_mention_in_another_form_are_found(question) -> None:
    assert name_absent(analyze(question), MINISTERS) is None


def test_the_reader_abstains_rather_than_name_another_countrys_minister(settings) -> None:
    cands = evidence(("Finnish Defence Minister Antti Hakkanen chaired the meeting.", 0.8),
                     ("Other things happened.", 0.5))
    assert not answerer(settings).answer(analyze("Who chaired the meeting?"), cands).abstained
    assert answerer(settings).answer(analyze("Who is the Polish defence minister?"), cands).abstained


def test_a_figure_belongs_to_whoever_its_sentence_or_the_one_before_names() -> None:
    from qa.answer.cues import read_cues
    from qa.answer.relations import figure_of_another

    cands = evidence(("Germany sent 40 engineers to the border.", 0.5),
                     ("He added that 200 military planners have been developing plans.", 0.8))
    planners = next(c for c in cands if "200" in c.sentence.text)
    engineers = next(c for c in cands if "40" in c.sentence.text)

    def vetoed(question, cand) -> bool:
        asked = analyze(question)
        return figure_of_another(asked, read_cues(asked, fake_parser([asked.text])[0]), cand)

    assert vetoed("How many planners did France send?", planners)  # nobody names France
    assert not vetoed("How many planners did Germany send?", planners)  # named just before
    assert not vetoed("How many engineers did Germany send?", engineers)
    assert not vetoed("Who sent 200 planners?", planners)  # not a figure question

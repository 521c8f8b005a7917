"""The extractive answerer on hand-made candidates, with a fake entity extractor."""

import re

import numpy as np

from qa import ABSTAIN_MESSAGE, Article, Sentence
from qa.answer.evidence import Candidate, score_sentences
from qa.answer.extractive import Entity, ExtractiveAnswerer
from qa.question import analyze
from qa.question.expect import expected_labels
from qa.text import stem


def fake_entities(text: str) -> list[Entity]:
    """Capitalised word pairs are people, digits are numbers: enough for the logic under test."""
    out = [Entity(m.group(), "PERSON", m.start(), m.end())
           for m in re.finditer(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b", text)]
    out += [Entity(m.group(), "CARDINAL", m.start(), m.end()) for m in re.finditer(r"\d+", text)]
    return out


ARTICLE = Article(id="a", title="T", text="")


def cand(text: str, score: float, idx: int = 0, caption: bool = False) -> Candidate:
    s = Sentence("a", idx, 0, len(text), text, caption)
    return Candidate(s, ARTICLE, 0, score, score, score)


def answerer(settings) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(settings, entities=fake_entities)


def test_expected_labels() -> None:
    assert expected_labels("Who chaired the meeting?")[0] == "PERSON"
    assert expected_labels("How many troops?")[0] == "CARDINAL"
    assert expected_labels("When did it start?")[0] == "DATE"
    assert expected_labels("Where was it held?")[0] == "GPE"
    assert expected_labels("Why did it fail?") == ()


def test_short_span_with_citation(settings) -> None:
    result = answerer(settings).answer(analyze("Who chaired the meeting?"), [
        cand("The meeting was chaired by John Healey in Brussels.", 0.8, 0),
        cand("Other things happened.", 0.5, 1),
    ])
    assert not result.abstained
    assert result.text == "John Healey [1]"
    assert result.citations[0].sentence.startswith("The meeting was chaired")


def test_span_supported_by_several_sentences_wins(settings) -> None:
    result = answerer(settings).answer(analyze("Who chaired the meeting?"), [
        cand("The meeting was chaired by Anna Smith.", 0.80, 0),
        cand("Chairing the meeting, John Healey spoke.", 0.75, 1),
        cand("John Healey chaired a meeting.", 0.74, 2, caption=True),
    ])
    assert result.text.startswith("John Healey")
    assert [c.sentence_idx for c in result.citations] == [1, 2]
    assert result.citations[1].is_caption


def test_abstains_below_threshold(settings) -> None:
    settings.answer.abstain_threshold = 0.5
    result = answerer(settings).answer(analyze("Why did it fail?"), [cand("Unrelated text.", 0.3)])
    assert result.abstained and result.text == ABSTAIN_MESSAGE and result.citations == ()
    settings.answer.abstain_threshold = 0.2
    result = answerer(settings).answer(analyze("Why did it fail?"), [cand("Unrelated text.", 0.3)])
    assert not result.abstained


def test_no_candidates_abstains(settings) -> None:
    assert answerer(settings).answer(analyze("Who?"), []).abstained


def test_entity_named_in_question_is_not_the_answer(settings) -> None:
    result = answerer(settings).answer(analyze("Who met John Healey?"), [
        cand("John Healey met Kaja Kallas on Friday.", 0.8),
    ])
    assert result.text.startswith("Kaja Kallas")


def test_scoring_mixes_dense_and_lexical() -> None:
    q = np.array([1.0, 0.0], dtype=np.float32)
    rows = [
        (Sentence("a", 0, 0, 10, "The meeting was chaired by Healey."), ARTICLE, 0,
         np.array([0.6, 0.8], dtype=np.float32), ""),
        (Sentence("a", 1, 0, 10, "A sentence about the weather."), ARTICLE, 0,
         np.array([0.6, 0.8], dtype=np.float32), ""),
    ]
    ranked = score_sentences("Who chaired the meeting?", q, rows)
    assert ranked[0].sentence.idx == 0 and ranked[0].lexical == 1.0 and ranked[1].lexical == 0.0
    assert ranked[0].dense == ranked[1].dense


def test_light_stemmer() -> None:
    assert stem("chaired") == stem("chairing") == stem("chairs") == "chair"
    assert stem("planned") == "plan"


def test_question_kinds_with_words_between() -> None:
    assert expected_labels("Which news agency could not verify it?")[0] == "ORG"
    assert expected_labels("Which two nations will preside?")[0] == "GPE"
    assert expected_labels("Who is the Kremlin spokesman?") == ("PERSON", "ORG")


def test_how_many_needs_the_counted_thing(settings) -> None:
    result = answerer(settings).answer(analyze("How many troops will be deployed?"), [
        cand("Ministers from 30 countries discussed deploying troops.", 0.9),
    ])
    assert result.abstained  # 30 counts countries, not troops
    result = answerer(settings).answer(analyze("How many countries sent ministers?"), [
        cand("Ministers from 30 countries discussed deploying troops.", 0.9),
    ])
    assert result.text.startswith("30")


def test_named_terms_in_the_question_must_be_supported(settings) -> None:
    settings.answer.abstain_threshold = 0.5
    result = answerer(settings).answer(analyze("Who is the German defence minister?"), [
        cand("The British defence minister Anna Smith spoke.", 0.6),
    ])
    assert result.abstained


def test_coordinated_entities_form_one_answer(settings) -> None:
    def countries(text):
        import re as _re
        return [Entity(m.group(), "GPE", m.start(), m.end())
                for m in _re.finditer(r"\b(?:the UK|Germany|France)\b", text)]

    result = ExtractiveAnswerer(settings, entities=countries).answer(
        analyze("Who will chair the meeting?"),
        [cand("That meeting will be chaired by the UK and Germany.", 0.8)])
    assert result.text.startswith("the UK and Germany")


def test_llm_mode_without_its_module_is_a_clear_error(seed_index, fake_embedder, monkeypatch) -> None:
    import builtins

    import pytest

    from qa import Assistant, DependencyError

    real_import = builtins.__import__

    def no_llm(name, *args, **kwargs):
        if name.startswith("qa.answer.llm"):
            raise ImportError("No module named 'xllamacpp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_llm)
    monkeypatch.setattr("importlib.import_module", lambda name: no_llm(name))
    with pytest.raises(DependencyError, match=r"pip install -e '\.\[llm\]'"):
        Assistant(seed_index, embedder=fake_embedder).ask("Who?", mode="llm")

"""The extractive answerer on hand-made candidates, with a fake parser and hand-set weights: the
logic (offsets, citations, abstention, quotes), not the learned model (see test_reader.py)."""

import numpy as np
import pytest

from qa import ABSTAIN_MESSAGE, Article, Sentence
from qa.answer import extractive
from qa.answer.evidence import Candidate, score_sentences
from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.quotes import balance_quotes, widen_quote
from qa.answer.scoring import Model
from qa.answer.spans import quote_chars
from qa.question import analyze
from qa.text import stem

from .fakes import fake_parser

HAND = Model(rank={"fit": 2.0, "near": 0.5, "clash": -3.0, "sent_score": 3.0, "overlap": -3.0,
                   "window_cov": 1.0, "agree_log": 1.0, "pron": -2.0, "len1": -0.5},
             confidence={"bias": -4.0, "fit": 2.0, "clash": -3.0, "sent_score": 3.0, "named_cov": 2.0},
             provenance={})
ARTICLE = Article(id="a", title="T", text="")


def evidence(*sentences: tuple[str, float]) -> list[Candidate]:
    """Candidates over one article made of the given sentences, with exact offsets."""
    text = " ".join(s for s, _ in sentences)
    article = Article(id="a", title="T", text=text)
    out, start = [], 0
    for idx, (s, score) in enumerate(sentences):
        sentence = Sentence("a", idx, start, start + len(s), s)
        out.append(Candidate(sentence, article, 0, score, score, score,
                             context=sentences[idx - 1][0] if idx else ""))
        start += len(s) + 1
    return sorted(out, key=lambda c: -c.score)


def answerer(settings, model: Model = HAND) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(settings, parser=fake_parser, model=model)


def test_short_span_with_exact_offsets_and_citation(settings) -> None:
    cands = evidence(("Other things happened.", 0.5),
                     ("The meeting was chaired by John Healey in Brussels.", 0.8))
    result = answerer(settings).answer(analyze("Who chaired the meeting?"), cands)
    assert not result.abstained
    assert result.text == "John Healey [1]"
    short = result.short_answer
    assert short is not None and short.text == "John Healey" and short.article_id == "a"
    assert cands[0].article.text[short.start:short.end] == short.text
    assert result.citations[0].sentence.startswith("The meeting was chaired")
    assert result.to_dict()["short_answer"] == {"text": "John Healey", "article_id": "a",
                                                "start": short.start, "end": short.end}


def test_span_supported_by_several_sentences_is_cited_in_each(settings) -> None:
    result = answerer(settings).answer(analyze("Who chaired the meeting?"), evidence(
        ("The meeting was chaired by Anna Smith.", 0.70),
        ("Chairing the meeting, John Healey spoke.", 0.75),
        ("John Healey chaired a meeting.", 0.74),
    ))
    assert result.short_answer.text == "John Healey"
    assert sorted(c.sentence_idx for c in result.citations) == [1, 2]


def test_abstains_when_no_span_is_likely_enough(settings, monkeypatch) -> None:
    cands = evidence(("Unrelated text about 30 things.", 0.3))
    monkeypatch.setitem(extractive.ABSTAIN_BELOW, "person", 0.9)
    result = answerer(settings).answer(analyze("Who chaired the meeting?"), cands)
    assert result.abstained and result.text == ABSTAIN_MESSAGE and result.citations == ()
    assert result.short_answer is None and "confidence" in result.extra
    monkeypatch.setitem(extractive.ABSTAIN_BELOW, "person", 0.0)
    assert not answerer(settings).answer(analyze("Who chaired the meeting?"), cands).abstained


def test_no_candidates_abstains(settings) -> None:
    assert answerer(settings).answer(analyze("Who?"), []).abstained


def test_entity_named_in_question_is_not_the_answer(settings) -> None:
    result = answerer(settings).answer(analyze("Who met John Healey?"), evidence(
        ("John Healey met Kaja Kallas on Friday.", 0.8)))
    assert result.short_answer.text == "Kaja Kallas"


def test_number_for_how_many(settings) -> None:
    result = answerer(settings).answer(analyze("How many planners are developing plans?"), evidence(
        ("Healey said 200 planners are developing plans.", 0.8)))
    assert result.short_answer.text == "200"


def test_a_quotation_split_over_two_sentences_is_widened() -> None:
    first = "“We must be ready for when that peace comes."
    second = "That’s why it is vital,” Healey said."
    cands = evidence((first, 0.5), (second, 0.9))
    last = next(c for c in cands if c.sentence.idx == 1)
    end = last.sentence.start + second.index("”")
    start, stop, before = widen_quote(last, last.sentence.start, end)
    text = last.article.text
    assert text[start:stop] == "We must be ready for when that peace comes. That’s why it is vital,"
    assert [b.sentence.idx for b in before] == [0] and before[0].sentence.text == first
    assert text[before[0].sentence.start:before[0].sentence.end] == first
    # a quotation that opens in its own sentence is left alone
    own = evidence(("No quote here.", 0.5), ("He said “yes” twice.", 0.9))[0]
    s = own.sentence.start + own.sentence.text.index("yes")
    assert widen_quote(own, s, s + 3) == (s, s + 3, [])


def test_quote_marks() -> None:
    assert quote_chars("He said “yes” and ‘no’, but the UK’s view") == [(9, 12), (19, 21)]
    assert quote_chars("the end of it,” Healey said.") == [(0, 14)]
    assert quote_chars('a "straight" quote') == [(3, 11)]


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
    # a question's base form meets the article's past tense: "did X declare" ~ "X declared"
    assert stem("declare") == stem("declared") == stem("declares")
    assert stem("judge") == stem("judged") and stem("rescue") == stem("rescues")
    assert stem("one") == "one" and stem("make") == "make"  # short words are left alone


def test_named_terms_in_the_question_must_be_supported(settings, monkeypatch) -> None:
    monkeypatch.setitem(extractive.ABSTAIN_BELOW, "person", 0.5)
    result = answerer(settings).answer(analyze("Who is the German defence minister?"), evidence(
        ("The British defence minister Anna Smith spoke.", 0.6)))
    assert result.abstained


def test_the_shipped_weights_cover_every_feature() -> None:
    from qa.answer.scoring import FEATURES, default_model

    model = default_model()
    assert set(model.rank) == set(model.confidence) == set(FEATURES)
    assert "XQuAD" in model.provenance["trained_on"]


def test_llm_mode_without_its_module_is_a_clear_error(seed_index, fake_embedder, monkeypatch) -> None:
    import builtins

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


@pytest.mark.parametrize(("text", "span", "expected"), [
    ("He said they must “be ready”.", "they must “be ready", "they must “be ready”"),
    ('He said they must "be ready".', 'they must "be ready', 'they must "be ready"'),
    ("“We are ready,” she said.", "We are ready,”", "“We are ready,”"),
    ("He said “be ready” twice.", "“be ready”", "“be ready”"),  # balanced: unchanged
    ("He said they must be ready.", "they must be", "they must be"),
])
def test_a_span_never_leaves_a_quotation_half_open(text: str, span: str, expected: str) -> None:
    start = text.index(span)
    a, b = balance_quotes(text, start, start + len(span), 0, len(text))
    assert text[a:b] == expected


def test_prepare_parses_the_question_ahead_and_the_answer_does_not_again(settings) -> None:
    parsed: list[str] = []

    def parser(texts):
        parsed.extend(texts)
        return fake_parser(texts)

    reader = ExtractiveAnswerer(settings, parser=parser, model=HAND)
    question = analyze("Who chaired the meeting?")
    reader.prepare(question)
    assert parsed == [question.interrogative]
    cands = evidence(("The meeting was chaired by John Healey in Brussels.", 0.8))
    assert reader.answer(question, cands).short_answer is not None
    assert parsed.count(question.interrogative) == 1

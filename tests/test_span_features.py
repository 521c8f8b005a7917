"""The neural span scorer's logits as reader features: mapped onto candidate spans by character
offsets (``span_features.neural_features``), with a fake span model; and the real shipped weights."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pytest

from qa.answer.extractive import ExtractiveAnswerer
from qa.answer.scoring import Model
from qa.answer.span_features import neural_features, neural_view
from qa.answer.span_model import SentenceLogits
from qa.question import analyze

from .fakes import fake_parser
from .test_answer import evidence

SENTENCE = "The meeting was chaired by John Healey in Brussels."


class FakeSpanModel:
    """Word pieces = words; start logit ``high`` on the first word of ``target``, end logit on
    its last, 0 elsewhere; "no answer" scores ``null``."""

    def __init__(self, target: str, high: float = 5.0, null: float = 0.0) -> None:
        self.target, self.high, self.null = target, high, null
        self.calls: list[tuple[str, list[str]]] = []

    def __call__(self, question: str, sentences: Sequence[str]) -> list[SentenceLogits]:
        self.calls.append((question, list(sentences)))
        out = []
        for s in sentences:
            words = [(w.start(), w.end()) for w in re.finditer(r"\w+|[^\w\s]", s)]
            start, end = np.zeros(len(words), np.float32), np.zeros(len(words), np.float32)
            at = s.find(self.target)
            if at >= 0:
                first = next(i for i, (a, _) in enumerate(words) if a == at)
                last = next(i for i, (_, b) in enumerate(words) if b == at + len(self.target))
                start[first], end[last] = self.high, self.high
            out.append(SentenceLogits(np.array(words, dtype=np.int64).reshape(-1, 2), start, end,
                                      self.null))
        return out


def chars(text: str, sub: str) -> tuple[int, int]:
    a = text.index(sub)
    return a, a + len(sub)


def test_features_follow_the_logits_of_the_spans_word_pieces() -> None:
    view = neural_view(FakeSpanModel("John Healey")("Who chaired it?", [SENTENCE]))
    best = neural_features(view, 0, *chars(SENTENCE, "John Healey"))
    part = neural_features(view, 0, *chars(SENTENCE, "Healey"))
    other = neural_features(view, 0, *chars(SENTENCE, "Brussels"))
    assert best["nn_best"] == 1.0 and best["nn_margin"] == 0.0 and best["nn_overlap"] == 1.0
    assert part["nn_best"] == 0.0 and part["nn_margin"] == pytest.approx(-5.0)
    assert part["nn_overlap"] == pytest.approx(2 / 3)  # one word of the two of the best span
    assert other["nn_margin"] == pytest.approx(-10.0) and other["nn_overlap"] == 0.0
    assert best["nn_logp"] > part["nn_logp"] > other["nn_logp"]
    assert best["nn_logp"] < 0.0 and best["nn_null"] == pytest.approx(-10.0)
    # a span that starts mid-word still maps onto the word pieces it overlaps
    assert neural_features(view, 0, *chars(SENTENCE, "ohn Healey"))["nn_best"] == 1.0


def test_spans_the_model_did_not_see_are_marked_missing() -> None:
    view = neural_view(FakeSpanModel("John Healey")("Who?", [SENTENCE]))
    assert neural_features(view, 0, len(SENTENCE) + 5, len(SENTENCE) + 9) == {"nn_missing": 1.0}
    assert neural_features(None, 0, 0, 3) == {"nn_missing": 1.0}


def test_logprobabilities_are_normalised_over_every_sentence_read() -> None:
    other = "Nothing of note happened in Paris."
    view = neural_view(FakeSpanModel("Paris")("Where?", [SENTENCE, other]))
    in_other = neural_features(view, 1, *chars(other, "Paris"))
    in_first = neural_features(view, 0, *chars(SENTENCE, "Brussels"))
    assert in_other["nn_best"] == 1.0 and in_first["nn_best"] == 0.0
    assert in_first["nn_overlap"] == 0.0  # the best span is in another sentence
    assert in_other["nn_logp"] - in_first["nn_logp"] == pytest.approx(10.0)


@pytest.mark.parametrize("target", ["John Healey", "Brussels"])
def test_the_reader_ranks_by_the_span_models_features(settings, target) -> None:
    model = Model(rank={"nn_margin": 1.0, "nn_best": 2.0},
                  confidence={"bias": 3.0}, provenance={})
    fake = FakeSpanModel(target)
    reader = ExtractiveAnswerer(settings, parser=fake_parser, model=model, span_model=fake)
    cands = evidence(("Other things happened that day.", 0.5), (SENTENCE, 0.8))
    result = reader.answer(analyze("What about the meeting?"), cands)
    assert result.short_answer is not None and result.short_answer.text == target
    # every sentence read is scored once, with the question's interrogative part
    assert {q for q, _ in fake.calls} == {"What about the meeting?"}
    assert sorted(s for _, batch in fake.calls for s in batch) == sorted(
        [SENTENCE, "Other things happened that day."])


def test_a_reader_on_a_test_parser_has_no_span_model_unless_given_one(settings) -> None:
    reader = ExtractiveAnswerer(settings, parser=fake_parser)
    spans = reader.scored_spans(analyze("Who chaired the meeting?"), evidence((SENTENCE, 0.8)))
    assert reader.span_model is None and spans
    assert all(s.features["nn_missing"] == 1.0 for s in spans)


@pytest.mark.integration
def test_shipped_span_model_favours_the_answer_span() -> None:
    from qa.answer.span_model import default_span_model, metadata

    model = default_span_model()
    assert model is not None and "XQuAD" in metadata()["trained_on"]
    sentences = ["The committee was chaired by Marguerite Olsen, a retired judge, in 2019.",
                 "The weather in the town was mild all week."]
    view = neural_view(model("Who chaired the committee?", sentences))
    answer = neural_features(view, 0, *chars(sentences[0], "Marguerite Olsen"))
    for wrong in ("The committee", "2019", "a retired judge"):
        assert answer["nn_logp"] > neural_features(view, 0, *chars(sentences[0], wrong))["nn_logp"]
    assert answer["nn_logp"] > neural_features(view, 1, *chars(sentences[1], "the town"))["nn_logp"]


@pytest.mark.integration
def test_traced_span_model_matches_the_eager_model_on_any_batch() -> None:
    """The shipped model runs traced (TorchScript); the trace must hold for batch sizes, lengths
    and padding other than those it was traced on."""
    import torch

    from qa.answer.span_model import encode_pairs, load, traced

    tokenizer, encoder, head = load()
    forward = traced(tokenizer, encoder, head)
    batches = [("Who chaired it?", ["The committee was chaired by Marguerite Olsen in 2019."]),
               ("Where, according to the minister, will the next meeting of all the ministers be?",
                ["It rained.", "The next meeting will be in Brussels, the minister said on Friday, "
                 "after talks that lasted well into the night.", "Talks end soon."])]
    with torch.inference_mode():
        for question, sentences in batches:
            enc, in_sentence, _ = encode_pairs(tokenizer, question, sentences)
            want = head(encoder(**enc).last_hidden_state).float()
            got = forward(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).float()
            assert got.shape == want.shape
            mask = torch.from_numpy(in_sentence)
            assert torch.allclose(got[mask], want[mask], atol=1e-3), (got[mask] - want[mask]).abs().max()

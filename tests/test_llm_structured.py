"""The reader's JSON reply (qa.llm.structured), the provider's structured-output arguments, and
finding a short answer in the given sentences (qa.answer.grounding)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import HumanMessage

from qa.answer.evidence import Candidate
from qa.answer.grounding import locate, prefix_in, short_answer
from qa.llm import structured_output
from qa.llm.structured import (
    CLOSING,
    OPENING,
    PREFILL,
    answer_confidence,
    grammar,
    json_schema,
    parse,
    words_and_gaps,
)
from qa.types import Article, Sentence

TEXT = ("The Panthers defense gave up just 308 points. Kawann Short led the team in sacks with 11. "
        "Josh Norman had four interceptions, two of which were returned for touchdowns.")


def sources() -> list[Candidate]:
    article = Article(id="a1", title="Panthers", text=TEXT)
    out, start = [], 0
    for idx, piece in enumerate(TEXT.split(". ")):
        text = piece if piece.endswith(".") else piece + "."
        at = TEXT.index(text, start)
        sentence = Sentence("a1", idx, at, at + len(text), text)
        out.append(Candidate(sentence, article, 0, 0.5, 0.5, 0.5))
        start = at + len(text)
    return out


def test_parse_complete_partial_and_not_found() -> None:
    assert parse('{"answer":"Kawann Short","sentences":[2]}').answer == "Kawann Short"
    first = parse('{"answer":"Kawann Short","sent')
    assert first.answer == "Kawann Short" and first.answer_closed and first.sentences is None
    partial = parse('{"sentences":[2,3],"answer":"Kawann Sh')
    assert partial.sentences == (2, 3) and partial.answer == "Kawann Sh"
    assert not partial.answer_closed and partial.parsed
    assert parse('{"sentences":[2').sentences is None
    assert parse('{"answer":"","sentences":[]}').not_found
    assert not parse("John Healey [1]").parsed
    assert parse('{ "sentences" : [ 1 ] , "answer" : "x\\u00e9\\"y" }').answer == 'xé"y'
    assert parse('{"answer":"a\\').answer == "a"  # an escape cut in half waits


def test_answer_confidence_is_the_lowest_log_probability_inside_the_answer() -> None:
    pieces = [('{"', -3.0), ("answer", -2.0), ('":"', -0.4), ("Kaw", -0.2), ("ann", -0.01),
              (" Short", -0.3), ('","', -0.05), ("sentences", -5.0), ('":[2]}', -4.0)]
    raw = "".join(p for p, _ in pieces)
    assert answer_confidence(raw, pieces) == -0.4  # the JSON around the answer does not count
    assert answer_confidence(raw[:9], pieces[:2]) is None  # the answer has not started
    assert answer_confidence(raw, []) is None  # no probabilities from this runtime
    assert answer_confidence("".join(p for p, _ in pieces[:5]), pieces[:5]) == -0.4


@given(st.text(max_size=40), st.lists(st.integers(1, 9), max_size=3))
def test_every_prefix_of_a_reply_parses_to_a_prefix_of_its_answer(answer: str,
                                                                  numbers: list[int]) -> None:
    raw = json.dumps({"sentences": numbers, "answer": answer}, separators=(",", ":"))
    for end in range(len(raw) + 1):
        reply = parse(raw[:end])
        assert answer.startswith(reply.answer)
    assert parse(raw).answer == answer and parse(raw).sentences == tuple(numbers)


def test_grammar_makes_the_answer_a_run_of_words_of_a_given_sentence() -> None:
    text = 'Varga said "I tried" in Lisbon, 2015–16 (50%).'
    rules = dict(line.split(" ::= ", 1) for line in grammar([text, "Two."]).splitlines())
    assert set(rules) >= {"root", "s1", "s2", "s1w0", "s2w0"}
    # After the given prefill, the rest of the opening; then nothing found, or words of
    # sentence 1 or 2; then the closing.
    assert PREFILL + '":"' == OPENING
    closing = '"\\",\\""'
    assert rules["root"] == f'"\\":\\"" ( {closing} | s1 {closing} | s2 {closing} )'

    assert rules["s1"].split(" | ") == [f"s1w{i}" for i in range(len(words_and_gaps(text)))]
    # Each literal, read as GBNF, is the word or gap as a JSON string body writes it.
    pieces = [p for word, gap in words_and_gaps(text) for p in (word, gap) if p]
    literals = re.findall(r'"((?:[^"\\]|\\.)*)"', " ".join(
        v for k, v in rules.items() if k.startswith("s1w")))
    assert [_gbnf_unescape(x) for x in literals] == [json.dumps(p, ensure_ascii=False)[1:-1]
                                                      for p in pieces]
    assert [w for w, _ in words_and_gaps(text)] == ["Varga", "said", "I", "tried", "in", "Lisbon",
                                                     "2015", "16", "50%"]


def test_a_grammar_bound_reply_parses_to_its_closed_answer() -> None:
    reply = parse(OPENING + 'Lisbon \\"old town\\"' + CLOSING)
    assert reply.parsed and reply.answer_closed and reply.answer == 'Lisbon "old town"'
    assert reply.sentences is None  # the sentence is the one it is found in
    assert parse(OPENING + CLOSING).not_found


def test_schema_limits_sentence_numbers() -> None:
    assert json_schema(5)["properties"]["sentences"]["items"]["maximum"] == 5
    assert json_schema(5)["additionalProperties"] is False


def test_structured_output_by_provider() -> None:
    from qa.llm.local import LlamaCppChat

    local = LlamaCppChat(model_path="/nonexistent.gguf")
    assert structured_output(local, ["A b.", "C."]) == {"grammar": grammar(["A b.", "C."]),
                                                        "prefill": PREFILL}
    assert local._request([], None, True, grammar="g")["grammar"] == "g"
    turns = local._request([HumanMessage("q")], None, True, prefill=PREFILL)["messages"]
    assert turns[-1] == {"role": "assistant", "content": PREFILL}  # llama.cpp continues it
    assert local._request([], None, True)["cache_prompt"] is True
    openai = pytest.importorskip("langchain_openai").ChatOpenAI(model="m", api_key="k")
    fmt = structured_output(openai, ["a", "b", "c"])["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == json_schema(3)
    assert structured_output(FakeListChatModel(responses=["x"]), ["a"]) == {}


def _gbnf_unescape(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: m.group(1), literal)


@pytest.mark.parametrize(("answer", "expected"), [
    ("Kawann Short", "Kawann Short"),
    ("kawann short", "Kawann Short"),  # the article's casing
    ("308 points.", "308 points"),
    ("the 308 points", "308 points"),  # a leading article the sentence does not have
    ("four  interceptions", "four interceptions"),  # spacing
])
def test_locate_finds_the_sentences_own_text(answer: str, expected: str) -> None:
    given = sources()
    found = locate(answer, given, cited=[1])
    assert found is not None and found.text == expected
    span = short_answer(found, given[found.n - 1])
    assert TEXT[span.start:span.end] == expected


def test_locate_prefers_cited_sentences_and_respects_word_boundaries() -> None:
    given = sources()
    assert locate("11", given, cited=[2]).n == 2
    assert locate("30", given, cited=[1]) is None  # not inside "308"
    assert locate("Short", given, cited=[3]).n == 2  # not cited, but given
    assert locate("Lisbon", given, cited=[1]) is None and locate("", given, cited=[1]) is None


def test_prefix_in_streams_only_text_a_sentence_holds() -> None:
    texts = [c.sentence.text for c in sources()]
    assert prefix_in("kawann sh", texts) == "Kawann Sh"
    assert prefix_in("08 points", texts) is None  # would start inside "308"
    assert prefix_in("Kawann Smith", texts) is None and prefix_in("", texts) == ""

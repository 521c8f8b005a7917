"""The LLM reader: a chat model copies a short answer from the best sentences and says which.

The model sees the best few retrieved sentences, numbered and grouped under their article's title
and date, inside a quoted data block, and replies in a fixed JSON shape (``qa.llm.structured``):
the answer, then the number of its sentence. The reply is not trusted as written:
the answer must occur in a cited sentence (``qa.answer.grounding``; it then becomes a
``ShortAnswer`` with exact offsets into the article), or, for an answer in the model's own words,
pass the citation checks (``qa.answer.citations``). What fails falls back as the answer type's
policy says (``qa.answer.gate``), and the answer says so (``extra["fallback"]`` and a note).

Speed on a small CPU: the instructions and worked examples are a fixed prefix of every prompt,
so llama.cpp's prompt cache reads them once per process (``warm_up``); only the sentences and
the question are new tokens, and the reply is a few tokens of JSON. Requests queue in front of
the model with a bound (``qa.llm.queue``); past it the extractive answer is given at once.
What the model is shown is built in ``qa.answer.prompt``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from qa.answer.citations import Checker, Source, find_groups, is_refusal, render
from qa.answer.evidence import Candidate
from qa.answer.extractive import ExtractiveAnswerer, abstain, to_citation
from qa.answer.gate import Action, Policy, policy_for
from qa.answer.grounding import locate, prefix_in, short_answer
from qa.answer.prompt import (
    CONDENSE_PROMPT,
    build_messages,
    conversation,
    first_line,
    prefix_messages,
    select_sources,
)
from qa.answer.protocol import Event
from qa.config import Settings
from qa.errors import QAError
from qa.question.followup import Message, condense
from qa.types import ABSTAIN_MESSAGE, Answer, Question

log = logging.getLogger(__name__)

NOTES = {
    "busy": "The language model is busy with other questions; this is the extractive answer.",
    "unverified": "The model's answer was not found in the sentences it cited; this is the "
                  "extractive answer.",
    "not_found": "The model found no answer in the best sentences; this is the extractive answer.",
    "unsure": "The model was unsure of its answer; this is the extractive answer.",
    "unparsable": "The model's reply could not be read; this is the extractive answer.",
    "error": "The language model failed; this is the extractive answer.",
}


class LLMAnswerer:
    mode = "llm"

    def __init__(self, settings: Settings, embed: Callable[[str], np.ndarray],
                 chat: BaseChatModel | None = None,
                 fallback: ExtractiveAnswerer | None = None,
                 policies: Callable[[str], Policy] = policy_for) -> None:
        self.settings = settings
        self.policies = policies  # per answer type (qa.answer.gate); benchmarks pass their own
        self._embed = embed
        self._chat = chat
        self._fallback = fallback or ExtractiveAnswerer(settings)
        from qa.llm.queue import queue_for

        self.queue = queue_for(settings.llm)

    @property
    def chat(self) -> BaseChatModel:
        if self._chat is None:
            from qa.llm import chat_model  # the optional extra, imported on first use

            self._chat = chat_model(self.settings.llm)
        return self._chat

    def warm_up(self) -> None:
        from qa.llm import warm_up

        self._fallback.warm_up()
        warm_up(self.chat, prefix_messages())

    def clear_cache(self) -> None:
        self._fallback.clear_cache()

    def prepare(self, question: Question) -> None:
        """Nothing: the model reads the question with the evidence (the fallback reader parses
        it only when it is needed)."""

    # ------------------------------------------------------------ follow-ups

    def condense(self, question: str, history: Sequence[Message] | None) -> str:
        """A standalone question written by the model; the heuristic when its output is unusable
        or the model is busy."""
        if not history:
            return question
        from qa.llm.queue import Busy

        messages = [SystemMessage(CONDENSE_PROMPT),
                    HumanMessage(f"Conversation:\n{conversation(history)}\n\n"
                                 f"Last question: {question}\n\nStandalone question:")]
        try:
            with self.queue.admit():
                text = self.chat.invoke(messages, max_tokens=64).text
        except Busy:
            return condense(question, history)
        rewritten = first_line(text)
        if not rewritten or len(rewritten) > 2 * len(question) + 200 or is_refusal(
                rewritten, ABSTAIN_MESSAGE):
            return condense(question, history)
        return rewritten

    # ------------------------------------------------------------ answers

    def stream(self, asked: Question, evidence: Sequence[Candidate]) -> Iterator[Event]:
        """Events: ("token", text) as the checked answer appears, ("citation", Citation),
        and last ("answer", Answer)."""
        from qa.llm.queue import Busy

        candidates = list(evidence)
        policy = self.policies(asked.answer_type)
        llm = self.settings.llm
        sources, dropped = select_sources(candidates, llm.sentences, llm.sentence_margin)
        support = candidates[0].score if candidates else None
        if not sources or (support is not None and support < policy.ask_floor):
            result = abstain(asked.text, self.mode, support)
            result.extra["not_asked"] = "no evidence" if not sources else "support below the floor"
            yield "token", result.text
            yield "answer", result
            return
        extra: dict[str, Any] = {"given": [[c.article.id, c.sentence.idx] for c in sources],
                                 "dropped_sentences": dropped, "answer_type": asked.answer_type}
        policy = self._vet(asked, candidates, policy, extra)
        _ = self.chat  # a missing extra or a bad model file is the user's to fix: raised here
        try:
            with self.queue.admit():
                raw = yield from self._generate(asked, sources, extra, policy)
        except Busy:
            yield from self._fallback_events(asked, candidates, "busy", extra, "")
            return
        except QAError:
            raise
        except Exception:  # a failing model answers extractively, never with an error
            log.exception("the chat model failed")
            yield from self._fallback_events(asked, candidates, "error", extra, "")
            return
        yield from self._conclude(asked, candidates, sources, raw, extra, policy)

    def _vet(self, asked: Question, candidates: list[Candidate], policy: Policy,
             extra: dict[str, Any]) -> Policy:
        """The policy for this question: a confidence floor that applies only when the extractive
        reader abstains is lifted when it answers (its answer is not used; its parses are
        cached for a fallback)."""
        if policy.min_confidence is None or policy.confidence_when == "always":
            return policy
        started = time.perf_counter()
        abstained = self._fallback.answer(asked, candidates).abstained
        extra.update(extractive_abstained=abstained, extractive_ms=_ms(started))
        return policy if abstained else replace(policy, min_confidence=None)

    def _generate(self, asked: Question, sources: list[Candidate], extra: dict[str, Any],
                  policy: Policy) -> Generator[Event, None, str]:
        """Stream the model's reply; show the answer while it matches a given sentence (for types
        with a confidence floor, once it is complete and sure enough; at once when the runtime
        gives no log-probabilities, as nothing can be checked). Returns the raw reply."""
        from qa.llm import structured_output
        from qa.llm.structured import answer_confidence, parse

        started, raw, shown = time.perf_counter(), "", ""
        pieces: list[tuple[str, float]] | None = []  # None: a piece came without a probability
        texts = [c.sentence.text for c in sources]
        kwargs = {**structured_output(self.chat, texts), "logprobs": True}
        for chunk in self.chat.stream(build_messages(asked, sources),
                                      max_tokens=self.settings.llm.max_tokens, **kwargs):
            if timings := chunk.response_metadata.get("timings"):
                extra["llm_timings"] = _token_counts(timings)
            raw += chunk.text
            logprob = _lowest_logprob(chunk.response_metadata)
            if pieces is not None and logprob is not None:
                pieces.append((chunk.text, logprob))
            elif chunk.text:
                pieces = None  # the runtime gives no probabilities: the floor cannot be checked
            reply, confidence = parse(raw), answer_confidence(raw, pieces or [])
            if policy.min_confidence is not None and pieces is not None and (
                    not reply.answer_closed or _unsure(policy, confidence)):
                yield "working", None  # held until the model's confidence in all of it is known
                continue
            cited = [texts[n - 1] for n in reply.sentences or () if 1 <= n <= len(texts)]
            visible = prefix_in(reply.answer.lstrip(), cited + texts)
            if visible and len(visible) > len(shown) and visible.startswith(shown):
                if not shown:
                    extra["first_token_ms"] = _ms(started)
                yield "token", visible[len(shown):]
                shown = visible
            else:
                yield "working", None
        confidence = answer_confidence(raw, pieces or [])
        extra.update(llm_text=raw, llm_ms=_ms(started), shown=shown,
                     confidence=None if confidence is None else round(confidence, 4))
        return raw

    def _conclude(self, asked: Question, candidates: list[Candidate], sources: list[Candidate],
                  raw: str, extra: dict[str, Any], policy: Policy) -> Iterator[Event]:
        from qa.llm.structured import parse

        reply, shown = parse(raw), extra.pop("shown")
        if not reply.parsed:
            yield from self._free_text(asked, candidates, sources, raw, extra, policy, shown)
            return
        if not reply.answer.strip():
            yield from self._refuse(asked, policy, candidates, extra, shown)
            return
        if _unsure(policy, extra.get("confidence")):
            yield from self._act(policy.unsure, "unsure", asked, candidates, extra, shown)
            return
        cited = reply.sentences or ()
        found = locate(reply.answer, sources, cited or _by_support(sources))
        if found is not None:
            source = sources[found.n - 1]
            text = f"{found.text} [1]"
            result = Answer(question=asked.text, text=text, abstained=False,
                            citations=(to_citation(1, source),), mode=self.mode,
                            short_answer=short_answer(found, source),
                            extra={**extra, "cited": list(cited), "grounded": found.n})
            yield from _finish(result, shown)
            return
        checked = self._check(asked, sources, reply.answer, cited)
        if checked is None:
            yield from self._act(policy.unverified, "unverified", asked, candidates, extra, shown)
            return
        numbers = checked
        citations = tuple(to_citation(i + 1, sources[n - 1]) for i, n in enumerate(numbers))
        markers = "".join(f"[{i + 1}]" for i in range(len(numbers)))
        result = Answer(question=asked.text, text=f"{reply.answer.strip()} {markers}",
                        abstained=False, citations=citations, mode=self.mode,
                        extra={**extra, "cited": list(cited), "checked": True})
        yield from _finish(result, shown)

    def _free_text(self, asked: Question, candidates: list[Candidate], sources: list[Candidate],
                   raw: str, extra: dict[str, Any], policy: Policy, shown: str) -> Iterator[Event]:
        """A reply that ignored the JSON format (a server without schema support): a refusal,
        or claims with [n] markers checked one by one; anything else is unreadable."""
        if is_refusal(raw, ABSTAIN_MESSAGE):
            yield from self._refuse(asked, policy, candidates, extra, shown)
            return
        checker = Checker(asked.text, [_source(c) for c in sources], self._embed)
        checked = render(raw, checker)
        if not find_groups(raw) or checked.supported == 0:
            yield from self._fallback_events(asked, candidates, "unparsable", extra, shown)
            return
        citations = tuple(to_citation(i + 1, sources[n - 1]) for i, n in enumerate(checked.cited))
        yield from _finish(Answer(
            question=asked.text, text=checked.text, abstained=False, citations=citations,
            mode=self.mode, extra={**extra, "free_text": True, "removed_citations": checked.removed,
                                   "unsupported_claims": checked.unsupported}), shown)

    def _check(self, asked: Question, sources: list[Candidate], claim: str,
               cited: Sequence[int]) -> list[int] | None:
        """An answer in the model's own words: the cited sentences that pass the citation
        checks, or the given sentence that passes them best; None when none does."""
        checker = Checker(asked.text, [_source(c) for c in sources], self._embed)
        kept, _ = checker.check(claim, tuple(cited))
        if kept:
            return kept
        best = checker.best_source(claim)
        return [best] if best is not None else None

    def _refuse(self, asked: Question, policy: Policy, candidates: list[Candidate],
                extra: dict[str, Any], shown: str) -> Iterator[Event]:
        if policy.not_found == "extractive":
            yield from self._fallback_events(asked, candidates, "not_found", extra, shown)
        else:
            yield from _finish(_abstained(asked, self.mode, {**extra, "refused": True}), shown)

    def _act(self, action: Action, reason: str, asked: Question, candidates: list[Candidate],
             extra: dict[str, Any], shown: str) -> Iterator[Event]:
        """The policy's answer when the model's is not given: abstain, or the extractive one."""
        if action == "extractive":
            yield from self._fallback_events(asked, candidates, reason, extra, shown)
        else:
            yield from _finish(_abstained(asked, self.mode, {**extra, reason: True}), shown)

    def _fallback_events(self, asked: Question, candidates: list[Candidate], reason: str,
                         extra: dict[str, Any], shown: str) -> Iterator[Event]:
        """The extractive answer, saying why (``extra["fallback"]`` and a visible note)."""
        fallback = self._fallback.answer(asked, candidates)
        note = NOTES[reason]
        result = Answer(question=asked.text, text=fallback.text, abstained=fallback.abstained,
                        citations=fallback.citations, mode=self.mode,
                        short_answer=fallback.short_answer, note=note,
                        extra={**fallback.extra, **extra, "fallback": reason})
        yield "token", ("\n\n" if shown else "") + f"({note}) " + fallback.text
        yield "answer", result


def _finish(result: Answer, shown: str) -> Iterator[Event]:
    """The rest of the answer's text after what was streamed, its citations, then the answer."""
    if result.text.startswith(shown) and len(result.text) > len(shown):
        yield "token", result.text[len(shown):]
    elif not result.text.startswith(shown):
        yield "token", "\n\n" + result.text  # the checked answer differs from what was shown
    for c in result.citations:
        yield "citation", c
    yield "answer", result


def _by_support(sources: Sequence[Candidate]) -> list[int]:
    """The given sentences' numbers, best supported first: where an answer that names no sentence
    (the grammar-bound reply ends at the answer) is looked up, so a name found in several
    sentences cites the one that best answers the question."""
    return sorted(range(1, len(sources) + 1), key=lambda n: -sources[n - 1].score)


def _unsure(policy: Policy, confidence: float | None) -> bool:
    return policy.min_confidence is not None and confidence is not None \
        and confidence < policy.min_confidence


def _lowest_logprob(metadata: dict[str, Any]) -> float | None:
    """The lowest log-probability among a chunk's tokens (llama.cpp and OpenAI report
    ``{"content": [{"token", "logprob"}, …]}``)."""
    content = (metadata.get("logprobs") or {}).get("content") or []
    values = [t["logprob"] for t in content if isinstance(t.get("logprob"), int | float)]
    return min(values) if values else None


def _abstained(asked: Question, mode: str, extra: dict[str, Any]) -> Answer:
    return Answer(question=asked.text, text=ABSTAIN_MESSAGE, abstained=True, mode=mode,
                  extra=extra)


def _source(cand: Candidate) -> Source:
    return Source(text=cand.sentence.text, title=cand.article.title, date=cand.article.date)


def _token_counts(timings: dict[str, Any]) -> dict[str, Any]:
    """llama.cpp's counts: prompt tokens read from its cache and read anew, tokens written."""
    keys = ("cache_n", "prompt_n", "prompt_ms", "predicted_n", "predicted_ms")
    return {k: round(timings[k], 1) if isinstance(timings.get(k), float) else timings.get(k)
            for k in keys}


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000.0, 1)

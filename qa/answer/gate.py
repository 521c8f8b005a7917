"""When to ask the model, and what to answer when it cannot: decided per expected answer type.

One support threshold for every question fails both ways: the evidence score is low for long,
wordy questions whose answer is nevertheless in the first retrieved sentence, and a "who"
question whose evidence names nobody is better not asked at all. So each answer type
(``Question.answer_type``) has its own policy, set from measurements on the tuning sets (the
README's "LLM answers" gives the figures and the command that produced them):

- ``ask_floor``: below this support of the best sentence the question is not put to the model;
  the reader abstains (retrieval found nothing close enough to read).
- ``min_confidence``: the lowest log-probability the model may have given a piece of its answer
  (``qa.llm.structured.answer_confidence``); a model that hesitated is often wrong, and small
  models almost never say "not found" on their own. Below it the answer is not shown and
  ``unsure`` says what to do. None: not checked (also when the runtime gives no probabilities).
- ``confidence_when``: ``"always"``, or ``"extractive_abstains"``: the floor applies only when the
  extractive reader, run first on the same evidence, abstains. That reader's abstention is
  calibrated per type on development data; the model's is not (with the grammar it can always
  copy some span). So a question the extractive reader would answer streams at once, and one
  it would not is answered only when the model was sure of every token of its answer, which
  means its answer is held back until complete. Chosen with ``benchmarks.llm_policy --rules``
  on the XQuAD dev rows and the seed quiz tuning questions (82 answerable, 58 unanswerable) as
  the rule that abstains most with answerable F1 down at most 2 points: abstained on 43 of the
  58 unanswerable instead of 21, answerable F1 80.7 instead of 81.5. A floor on every answer
  reached 34 of 58 at best within those 2 points, and holds back every answer.
- ``not_found``: what to say when the model replies that the sentences do not answer: abstain,
  or give the extractive answer (with a note) when that was right often enough for the type.
- ``unverified``: what to say when the model's answer is not in its sentences and fails the
  citation checks: the extractive answer, or abstain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["abstain", "extractive"]
When = Literal["always", "extractive_abstains"]


@dataclass(frozen=True)
class Policy:
    ask_floor: float
    min_confidence: float | None = None
    unsure: Action = "abstain"
    confidence_when: When = "always"
    not_found: Action = "abstain"
    unverified: Action = "extractive"


DEFAULT = Policy(ask_floor=0.25, min_confidence=-0.5, unsure="abstain",
                 confidence_when="extractive_abstains")

POLICIES: dict[str, Policy] = {}


def policy_for(answer_type: str) -> Policy:
    return POLICIES.get(answer_type, DEFAULT)

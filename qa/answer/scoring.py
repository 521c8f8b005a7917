"""How well a candidate span answers the question: features, and a logistic model over them.

The features are those of the feature-based SQuAD readers (Rajpurkar et al. 2016, "SQuAD: 100,000+
Questions for Machine Comprehension of Text", section 5: a logistic regression over span, sentence,
lexical and dependency features), kept unlexicalised so that they carry over to news:

- the evidence sentence: its support score and rank, how much of the question it covers;
- the expected answer type: does the span fit it (a PERSON for "who"), could it, or clash with it;
- position: token and dependency-tree distance to the question's words in the sentence, whether
  the span hangs on the same verb as they do, whether it fills the wh-word's role (subject for
  "who chaired", object for "whom did he meet"), apposition to the question's words ("Kremlin
  spokesman Dmitry Peskov"), the noun a which-question names, the thing a how-many question counts;
- the span itself: its length and kind, how much of it repeats the question (an answer never
  just repeats the question), and agreement: in how many of the best sentences it recurs.

The weights are learned (``benchmarks/train_reader.py``) and shipped in ``reader_weights.json``
with their provenance.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

from qa.answer.cues import PEOPLE, ROLES, Cues, tense
from qa.answer.spans import SAY_VERBS, Span
from qa.parsing import Parse
from qa.question import FIGURE_TYPES
from qa.question.dates import MONTHS, WEEKDAYS
from qa.question.lexicon import NATION_PHRASES, THING_LABELS, nation_forms
from qa.text import stem

# "Where did Healey speak?": any verb of saying reports the speaking
SPEECH_STEMS = frozenset(stem(w) for w in "speak spoke talk comment remark say".split())
WINDOW = 8  # tokens either side of a span searched for question words (sliding-window baseline)
NAME_PREFIX = 4  # "Sweden" ~ "Swedish": names match on their first letters

_NUMERIC = {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "CARDINAL", "ORDINAL"}
_NAMES = {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
          "LANGUAGE"}
_TIME_WORDS = frozenset(stem(w) for w in (*"""spring summer autumn fall winter season weekend
    morning afternoon evening night midnight noon dawn year month week day decade century""".split(),
    *MONTHS, *WEEKDAYS))
_DURATION = {"year", "month", "week", "day", "hour", "minute", "second", "decade", "centur"}
GROUPS = {"person": "name", "organisation": "name", "place": "name", "work": "name",
          "number": "numeric", "money": "numeric", "percent": "numeric", "date": "numeric",
          "duration": "numeric", "thing": "thing", "reason": "reason", "statement": "statement",
          "other": "other"}
KINDS = ("entity", "chunk", "number", "quote", "clause", "phrase", "list", "modifier")
HEAD_DEPS = ("nsubj", "nsubjpass", "dobj", "pobj", "attr", "appos", "conj", "compound", "amod",
             "ROOT", "ccomp", "xcomp", "advcl", "npadvmod", "nummod", "poss")
_LOCATIVE = {"in", "at", "on", "near", "from", "inside", "outside", "across", "throughout", "to"}
NAMING = frozenset({"called", "named", "known", "termed", "dubbed", "as", "nicknamed", "titled"})

_OTHER_KINDS = {"PERSON", "GPE", "LOC"} | _NUMERIC
_THING_LABELS = {stem(noun): labels for noun, labels in THING_LABELS.items()}

FEATURES: tuple[str, ...] = (
    "bias", "sent_score", "sent_lexical", "sent_dense", "sent_first", "sent_rank_inv", "caption",
    "fit", "near", "clash", "overlap", "overlap_all", "no_content", "dist_log", "no_match",
    "window_cov", "sent_cov", "tree_log", "shares_verb", "verb_match", "role_match", "role_known",
    "appos_link", "noun_link", "counted_link", "counted_clash", "agree_log", "len_log", "len1",
    "len_gt8", "pron", "named_cov", "say_clause", "order_agree", "left_match", "right_match",
    "after_naming", "in_parens", "modifier_link", "speaker_match", "locative",
    "pred_known", "pred_in_sent", "tense_clash", "tense_agree", "participle_agent",
    "title_match", "title_clash",
    *(f"dep:{d}" for d in (*HEAD_DEPS, "other")),
    *(f"{g}:{k}" for g in sorted(set(GROUPS.values())) for k in KINDS),
    "nn_logp", "nn_margin", "nn_best", "nn_overlap", "nn_null", "nn_missing",
)


@dataclass(frozen=True)
class Sentence:
    """One evidence sentence as the scorer sees it."""

    parse: Parse
    rank: int  # 0 = the best evidence sentence
    score: float
    lexical: float
    dense: float
    is_caption: bool
    named_cov: float  # share of the question's names found in the sentence, before it or the title
    # tokens naming whom the question names by title, as the sentence before introduced them
    # ("Governor Petra Vasquill declared ... " then "..., Vasquill told reporters")
    aliases: tuple[int, ...] = ()


def fit(answer_type: str, span: Span, p: Parse, noun: str = "", measured: bool = False,
        role: bool = False) -> str:
    """ "fit", "near", "clash" or "" (no opinion): how the span's kind agrees with the type
    (and, for a thing, with the kind of name its noun asks for: ``noun`` is its stem). ``role``:
    the question asks who holds a post ("Who is Germany's defence minister?"), which no country
    or people does."""
    label, kinds = span.label, span.kinds
    head = p.tokens[span.head]
    words = {stem(t.text.lower()) for t in p.tokens[span.start:span.end]}
    if answer_type == "person":  # "army engineers", "firefighters": people, if not by name
        if role and label in ("GPE", "NORP", "LOC"):
            return "clash"
        return ("fit" if label == "PERSON" else "near" if label in ("ORG", "NORP", "GPE") or
                head.pos == "PROPN" or (not label and head.stem in PEOPLE)
                else "clash" if label in _NUMERIC or kinds & {"quote", "clause"} else "")
    if answer_type == "organisation":
        return ("fit" if label == "ORG" else "near" if label in _NAMES or head.pos == "PROPN"
                else "clash" if label in _NUMERIC else "")
    if answer_type == "place":
        return ("fit" if label in ("GPE", "LOC", "FAC") else "near" if label in ("ORG", "NORP") or
                head.pos == "PROPN" else "clash" if label in _NUMERIC or label == "PERSON" else "")
    # "until the autumn", "by the weekend": times the small model does not label
    timely = bool(words & _TIME_WORDS) and head.pos in ("NOUN", "PROPN")
    if answer_type == "date":
        year = head.text.isdigit() and len(head.text) == 4
        return "fit" if label in ("DATE", "TIME") else "near" if year or timely else "clash"
    if answer_type == "duration":
        unit = any(w.startswith(u) for w in words for u in _DURATION)
        return "fit" if (label in ("DATE", "TIME", "QUANTITY") or "number" in kinds) and unit else (
            "near" if "number" in kinds or label in _NUMERIC or timely else "clash")
    if answer_type == "number" and measured:
        return _measure_fit(span, p)
    if answer_type in FIGURE_TYPES:
        if "list" in kinds and _mixed_list(span, p):  # one amount, not "3.5 million and a place"
            return "clash"
        wanted = {"number": "CARDINAL", "money": "MONEY", "percent": "PERCENT"}[answer_type]
        numeric = "number" in kinds or label in _NUMERIC
        return "fit" if label == wanted or (answer_type == "number" and "number" in kinds) else (
            "near" if numeric else "clash")
    if answer_type == "work":
        return "fit" if label == "WORK_OF_ART" or "quote" in kinds else "near" if label in _NAMES else ""
    if answer_type == "statement":
        return "fit" if kinds & {"quote", "clause"} else "clash" if label in _NAMES | _NUMERIC else ""
    if answer_type == "reason":
        return "fit" if "clause" in kinds else "clash" if label in _NAMES | _NUMERIC else ""
    if answer_type == "thing":
        named_kind = _THING_LABELS.get(noun)
        if named_kind is not None and label in named_kind:
            return "fit"
        if named_kind is not None and label in _OTHER_KINDS:  # a person or a place, not a language
            return "clash"
        return "near" if head.pos in ("NOUN", "PROPN") else "clash" if head.pos == "PRON" else ""
    return ""


def _mixed_list(span: Span, p: Parse) -> bool:
    """A coordination of which some member states no number ("3.5 million marks and a place in
    next season's Continental Shield")."""
    def numeric(i: int) -> bool:
        lo, hi = p.subtree(i)
        return any(t.pos == "NUM" or t.like_num for t in p.tokens[lo:hi])
    members = [t.i for t in p.tokens[span.start:span.end] if t.dep == "conj" and t.head != t.i]
    if not members:
        return False
    return not all(numeric(i) for i in (p.tokens[members[0]].head, *members))


def _measure_fit(span: Span, p: Parse) -> str:
    """ "How fast": "140 kilometres an hour" fits, the bare "140" is near, words without a
    number clash."""
    toks = p.tokens[span.start:span.end]
    numbers = [t.i for t in toks if t.pos == "NUM" or t.like_num]
    if span.label in ("DATE", "TIME", "ORDINAL") or not (numbers or span.label in _NUMERIC):
        return "clash"  # "17th-century" measures nothing
    unit = [t for t in toks if t.i not in numbers and (t.pos == "NOUN" or t.ent == "QUANTITY")]
    return "fit" if unit and (not numbers or unit[-1].i > numbers[0]) else "near"


def features(cues: Cues, s: Sentence, span: Span, agree: int) -> dict[str, float]:
    p = s.parse
    toks = p.tokens
    inside = range(span.start, span.end)
    content = [t for t in toks[span.start:span.end] if t.is_content]
    in_q = [t for t in content if _matches(t, cues)]
    matched = [t.i for t in toks if t.is_content and t.i not in inside and _matches(t, cues)]
    n = span.end - span.start
    f = {"bias": 1.0, "sent_score": s.score, "sent_lexical": s.lexical, "sent_dense": s.dense,
         "sent_first": float(s.rank == 0), "sent_rank_inv": 1.0 / (1 + s.rank),
         "caption": float(s.is_caption), "named_cov": s.named_cov,
         "overlap": len(in_q) / len(content) if content else 0.0,
         "overlap_all": float(bool(content) and len(in_q) == len(content)),
         "no_content": float(not content), "agree_log": math.log1p(agree),
         "len_log": math.log1p(n), "len1": float(n == 1), "len_gt8": float(n > 8),
         "pron": float(n == 1 and toks[span.start].pos == "PRON")}
    kind = fit(cues.answer_type, span, p, cues.noun, cues.measured, cues.asks_post)
    if kind:
        f[kind] = 1.0
    group = GROUPS.get(cues.answer_type, "other")
    for k in span.kinds:
        f[f"{group}:{k}"] = 1.0
    f[f"dep:{toks[span.head].dep if toks[span.head].dep in HEAD_DEPS else 'other'}"] = 1.0
    before = [t.text.lower() for t in toks[max(0, span.start - 3):span.start]]
    f["after_naming"] = float(any(w in NAMING for w in before))
    f["in_parens"] = float(span.start > 0 and toks[span.start - 1].text == "(")
    f["locative"] = float((span.start > 0 and toks[span.start - 1].text.lower() in _LOCATIVE)
                          or (toks[span.head].dep == "pobj"
                          and toks[toks[span.head].head].text.lower() in _LOCATIVE))
    f["speaker_match"] = float(bool(span.kinds & {"quote", "clause"})
                               and speaks(p, span, [*matched, *s.aliases]))
    if cues.predicate:
        f["pred_known"] = 1.0
        f["pred_in_sent"] = float(has_predicate(p, cues.predicate))
    f.update(_position(cues, p, span, matched))
    f.update(_links(cues, p, span, matched))
    f.update(_title(cues, p, span))
    return f


def _title(cues: Cues, p: Parse, span: Span) -> dict[str, float]:
    """A person's title against the question's names: "Dutch Defence Minister Ruben Brekelmans"
    and "His Swedish counterpart, Pål Jonson" for "Who is the Swedish defence minister?". The
    title is the nationality or place that modifies the name (or the noun it is in apposition
    to), left of it."""
    toks = p.tokens
    head = toks[span.head]
    if cues.answer_type != "person" or span.label != "PERSON" or not cues.named:
        return {}
    owners = [span.head] + ([head.head] if head.dep == "appos" else [])
    names: list[list[str]] = []  # runs of words: "United Kingdom"
    for owner in owners:
        last = -2
        for i in range(p.subtree(owner)[0], min(owner, span.start)):
            t = toks[i]
            if (t.ent in ("NORP", "GPE") or _in_nation_name(toks, i)) \
                    and t.dep in ("amod", "compound", "poss", "nmod"):
                if i == last + 1 and names:
                    names[-1].append(t.text)
                else:
                    names.append([t.text])
                last = i
    if not names:
        return {}
    match = any(same_name(run, q) for run in names for q in cues.named)
    return {"title_match": float(match), "title_clash": float(not match)}


def _in_nation_name(toks, i: int) -> bool:
    """A word of a nation's name of two words ("United Kingdom"), which the small model may read
    as part of an organisation's ("United Kingdom Defence Secretary John Healey")."""
    pairs = [toks[j].text + " " + toks[j + 1].text for j in (i - 1, i) if 0 <= j < len(toks) - 1]
    return any(pair.lower() in NATION_PHRASES for pair in pairs)


def same_name(run: list[str], term: str) -> bool:
    """ "Swedish" ~ "Sweden" (first letters), "UK" ~ "United Kingdom" (initials), "Dutch" ~
    "Netherlands" (a nation's other names)."""
    if " ".join(run).lower() in nation_forms(term):
        return True
    if term.isupper() and len(term) <= 4 and len(run) > 1:
        return "".join(w[0] for w in run).upper() == term
    return any(w.lower()[:NAME_PREFIX] == term.lower()[:NAME_PREFIX] for w in run)


def has_predicate(p: Parse, predicate: frozenset[str]) -> bool:
    """Whether the sentence says what the question asks about: one of its predicate words, or a
    word derived from it ("represented" ~ "representatives": the first six letters)."""
    return states(predicate, [t.stem for t in p.tokens])


def states(predicate: frozenset[str], stems: list[str]) -> bool:
    return any(word == want or (len(want) >= 6 and word[:6] == want[:6])
               for word in stems for want in predicate)


def _position(cues: Cues, p: Parse, span: Span, matched: list[int]) -> dict[str, float]:
    if not matched:
        return {"no_match": 1.0, "dist_log": math.log1p(len(p.tokens)), "tree_log": math.log1p(10)}
    dist = min(span.start - m if m < span.start else m - span.end + 1 for m in matched)
    near = {stem(p.tokens[m].text.lower()) for m in matched
            if span.start - WINDOW <= m < span.end + WINDOW}
    every = {stem(p.tokens[m].text.lower()) for m in matched}
    terms = max(1, len(cues.terms))
    tree = min(p.distance(span.head, m) for m in matched)
    sides = [(m < span.start) == left for m in matched
             for left in [cues.sides.get(stem(p.tokens[m].text.lower()))] if left is not None]
    return {"dist_log": math.log1p(dist), "window_cov": len(near) / terms,
            "sent_cov": len(every) / terms, "tree_log": math.log1p(min(tree, 10)),
            "order_agree": sum(sides) / len(sides) if sides else 0.5,
            "left_match": float(any(span.start - 3 <= m < span.start for m in matched)),
            "right_match": float(any(span.end <= m < span.end + 3 for m in matched))}


def _links(cues: Cues, p: Parse, span: Span, matched: list[int]) -> dict[str, float]:
    toks = p.tokens
    head = toks[span.head]
    f: dict[str, float] = {}
    verb = _governor(p, span.head)
    if verb is not None:
        f["shares_verb"] = float(any(_governor(p, m) == verb or m == verb for m in matched))
        vstem = stem(toks[verb].text.lower())
        f["verb_match"] = float((bool(cues.verb) and vstem == cues.verb) or vstem in cues.terms
                                or (cues.verb in SPEECH_STEMS and toks[verb].text.lower() in SAY_VERBS))
        f["say_clause"] = float(toks[verb].text.lower() in SAY_VERBS and "clause" in span.kinds
                                and toks[span.head].dep == "ccomp")
        if cues.tense:  # "Who chaired" is not answered by who "will chair"
            said = tense(p, verb)
            f["tense_clash"] = float({said, cues.tense} == {"past", "future"})
            f["tense_agree"] = float(said == cues.tense)
        if cues.verb and head.dep == "nsubj" and _participle_agent(p, verb, cues.verb):
            # "Chairing the meeting, Healey said ...": Healey chaired it
            f["participle_agent"] = f["verb_match"] = f["shares_verb"] = 1.0
    role = ROLES.get(head.dep, "")
    if head.dep == "pobj" and toks[head.head].dep == "agent":
        role = "subj"
    if cues.wh_role:
        f["role_known"] = 1.0
        f["role_match"] = float(role == cues.wh_role)
    linked = {head.head} | {m for m in matched if toks[m].head == span.head}
    f["appos_link"] = float(any(m in linked for m in matched)
                            and (head.dep in ("appos", "compound") or
                                 any(toks[m].dep in ("appos", "compound", "amod", "poss") and
                                     toks[m].head == span.head for m in matched)))
    if cues.noun:
        words = {stem(t.text.lower()) for t in toks[span.start:span.end]}
        owner = stem(toks[head.head].text.lower())
        f["noun_link"] = float(cues.noun in words or owner == cues.noun)
        f["modifier_link"] = float("modifier" in span.kinds and owner == cues.noun)
    elif cues.agents and head.dep == "appos":
        # "Who owns the dog?" - "Frost's owner, Lenka Rausch": the doer's noun names the answer
        f["noun_link"] = float(stem(toks[head.head].text.lower()) in cues.agents)
    if cues.counted and "number" in span.kinds:
        counted = toks[head.head] if head.dep == "nummod" else None
        after = [stem(t.text.lower()) for t in toks[span.end:span.end + 3]]
        f["counted_link"] = float(cues.counted in after or
                                  (counted is not None and stem(counted.text.lower()) == cues.counted))
        f["counted_clash"] = float(not f["counted_link"] and counted is not None
                                   and counted.pos == "NOUN")
    return f


def _participle_agent(p: Parse, verb: int, wanted: str) -> bool:
    """Whether ``verb`` has an adverbial participle clause without its own subject whose verb is
    ``wanted``: the subject of ``verb`` is then that clause's agent too."""
    for c in p.children(verb):
        t = p.tokens[c]
        if t.dep == "advcl" and t.tag in ("VBG", "VBN") and t.stem == wanted and not any(
                p.tokens[k].dep in ("nsubj", "nsubjpass") for k in p.children(c)):
            return True
    return False


def speakers(p: Parse) -> Iterator[tuple[int, int, int]]:
    """(say-verb, start, end) for the subject of every verb of saying in the sentence: the
    token range of who said it ("Ukrainian Defence Minister Rustem Umerov said ...")."""
    for t in p.tokens:
        if t.text.lower() in SAY_VERBS:
            for c in p.children(t.i):
                if p.tokens[c].dep in ("nsubj", "nsubjpass"):
                    yield (t.i, *p.subtree(c))


def speaks(p: Parse, span: Span, matched: list[int]) -> bool:
    """Whether the sentence attributes the span to someone the question names: a say-verb whose
    subject holds a question word ("..., Healey said"), with the span outside that subject."""
    for verb, lo, hi in speakers(p):
        said = p.tokens[span.head].dep == "ccomp" and p.tokens[span.head].head == verb
        if "quote" not in span.kinds and not said:
            continue  # a clause is what was said only as the verb's complement
        if any(lo <= m < hi for m in matched) and (hi <= span.start or lo >= span.end):
            return True
    return False


def _governor(p: Parse, i: int) -> int | None:
    for j in (i, *p.ancestors(i)):
        if p.tokens[j].pos in ("VERB", "AUX") and (p.tokens[j].pos == "VERB" or p.tokens[j].head == j):
            return j
    return None


def _matches(token, cues: Cues) -> bool:
    if token.stem in cues.terms:
        return True
    if token.text[:1].isupper() and len(token.text) > NAME_PREFIX:
        head = token.text.lower()[:NAME_PREFIX]
        return any(n.lower().startswith(head) for n in cues.named)
    return False


@dataclass(frozen=True)
class Model:
    """Two linear models over ``FEATURES``: ``rank`` orders one question's spans (a softmax over
    them was fitted), ``confidence`` is a logistic regression: how likely a span is right."""

    rank: dict[str, float]
    confidence: dict[str, float]
    provenance: dict

    def score(self, f: dict[str, float]) -> float:
        return sum(self.rank.get(k, 0.0) * v for k, v in f.items())

    def probability(self, f: dict[str, float]) -> float:
        z = sum(self.confidence.get(k, 0.0) * v for k, v in f.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@functools.cache
def default_model() -> Model:
    data = json.loads(resources.files("qa.answer").joinpath("reader_weights.json").read_text("utf-8"))
    names = data["features"]
    return Model(dict(zip(names, data["rank"], strict=True)),
                 dict(zip(names, data["confidence"], strict=True)), data.get("provenance", {}))

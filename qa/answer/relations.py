"""Checks that veto an answer: what a span, or the sentence it comes from, must relate to.

The span reader's scores rank candidates; these rules say when the best of them still does
not answer, or which candidates cannot: a property answered by a sentence that does not state
it, a count of another thing, words said about another topic, the question's own other
participants, the speaker of the words asked about. Each was found as a class of failure on
questions written for tuning (the README's "Abstention" lists them with their figures).
"""

from __future__ import annotations

import difflib
import re

from qa.answer.cues import Cues
from qa.answer.evidence import Candidate
from qa.answer.scoring import NAMING, speakers, states
from qa.answer.spans import Span
from qa.parsing import Parse
from qa.question import FIGURE_TYPES
from qa.question.dates import MONTHS, WEEKDAYS
from qa.question.lexicon import ORGANISATION, PERSON, PLACE, REGIONS, nation_forms
from qa.text import STOPWORDS, stem, words
from qa.types import Article, Question


def off_focus(asked: Question, cues: Cues, features: dict[str, float], before: str = "") -> bool:
    """A property of something named ("Where was Kallas born?", "What is the population of
    Brussels?") is answered only by a sentence that states that property (or follows one that
    does): a span of the right type in a sentence that merely mentions the name is about
    something else."""
    return bool(asked.entities and cues.asks_property and features.get("pred_known")
                and not features.get("pred_in_sent")
                and not states(cues.predicate, [stem(w) for w in words(before)]))


def name_absent(asked: Question, article: Article) -> str | None:
    """A name the question insists on that the answer's article never mentions, or ``None``.

    "Who is the Polish defence minister?" of an article that names no Pole (nor Poland) asks
    about someone the article does not cover: the defence minister it does name is not the
    answer. A nation's other names count ("Dutch" for "the Netherlands"), and so does a word
    that differs only in its ending ("Ukrainian", "Ukraine") or by a typing slip ("Beriods").
    Words that describe the answer itself ("Which Polish city...?", "What European leader...?")
    and regions ("Asian", "Nordic") are what the reader knows, not what an article must say.
    """
    return _missing_name(asked, f"{article.title}\n{article.text}")


def _missing_name(asked: Question, text: str) -> str | None:
    """The first name the question insists on that ``text`` does not mention, or ``None``."""
    lowered = text.lower()
    found = set(re.findall(r"\w+", lowered))
    return next((name for name in insisted_names(asked) if not _mentioned(name, text, lowered, found)),
                None)


_NOT_NAMES = frozenset((*MONTHS, *WEEKDAYS, *REGIONS, "who", "whom", "whose", "what", "which",
                        "when", "where", "why", "how", "i", "mr", "mrs", "ms", "dr", "sir", "prof"))


def insisted_names(asked: Question) -> list[str]:
    """The names a question insists on: runs of capitalised words after its first word ("United
    States" is one), leaving out those that describe what is asked for (between the wh-word and
    its noun: "Which POLISH city")."""
    tokens = re.findall(r"\w+(?:\.\w+)*\.?|\S", asked.interrogative or asked.text)
    lowered = [t.lower() for t in tokens]
    wh = next((i for i, t in enumerate(lowered) if t in ("which", "what", "whose")), None)
    noun = stem(asked.focus_noun) if asked.focus_noun else None
    describe_to = next((i for i, t in enumerate(lowered) if wh is not None and i > wh and noun
                        and stem(t) == noun), -1)
    runs: list[list[str]] = []
    for i, token in enumerate(tokens[1:], start=1):
        is_name = token[:1].isupper() and lowered[i] not in _NOT_NAMES | STOPWORDS and not (
            wh is not None and wh < i < describe_to)
        if not is_name:
            runs.append([])
        elif runs and runs[-1]:
            runs[-1].append(token)
        else:
            runs.append([token])
    return [" ".join(run) for run in runs if run]


def _mentioned(name: str, text: str, lowered: str, found: set[str]) -> bool:
    forms = nation_forms(name)
    if forms:  # "Polish": Poland or a Pole, not "police"
        return any(re.search(rf"(?<!\w){re.escape(form)}(?!\w)", lowered) for form in forms)
    if " " in name:  # every word of a name of several
        return all(_mentioned(word, text, lowered, found) for word in name.split())
    if name.isupper() and len(name) <= 4:  # an acronym: the word itself, in capitals
        return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None
    word = name.lower().rstrip(".")
    stem_len = max(4, len(word) - 3)  # "Ukrainian" ~ "Ukraine", not "Polish" ~ "police"
    if word in found or any(w[:stem_len] == word[:stem_len] for w in found if len(w) >= stem_len):
        return True
    return len(word) >= 6 and any(  # a typing slip in a long name: "Beriods" for "Beroids"
        w[:1] == word[:1] and abs(len(w) - len(word)) <= 2
        and difflib.SequenceMatcher(None, w, word).ratio() >= 0.85 for w in found)


def names_other(p: Parse, span: Span, others: frozenset[str]) -> bool:
    """Whether the span names one of the question's other participants: holds its noun, is
    titled with it ("Governor Rurik Sandoval-Penn", "the judge, Hester Monkton") or is its name
    ("a Samoyed called Frost")."""
    toks = p.tokens
    if any(t.stem in others for t in toks[span.start:span.end] if t.is_content):
        return True
    head = toks[span.head]
    titles = [toks[c] for c in p.children(span.head) if toks[c].dep in ("compound", "appos")]
    if head.dep == "appos":
        titles.append(toks[head.head])
    owner = toks[head.head]
    if owner.text.lower() in NAMING and owner.dep == "acl":
        titles.append(toks[owner.head])
    return any(t.stem in others for t in titles)


def names_their_noun(p: Parse, span: Span, cues: Cues) -> bool:
    """Whether the span, a name, only modifies a noun the question already says, other than the
    noun it asks about: "Whom did the governor call in to shore up the dam?" is not answered by "Vell"
    of "the Vell dam" (but "Which dam?" is)."""
    toks = p.tokens
    head = toks[span.head]
    if cues.answer_type not in ("person", "organisation", "place") or head.pos != "PROPN" \
            or head.dep != "compound" or head.head == head.i:
        return False  # "2.8% Protestants", "a two-thirds majority": a measure may modify
    owner = toks[head.head]
    return (span.end <= owner.i and owner.stem in cues.terms and owner.stem != cues.noun
            and owner.stem not in _NAME_NOUNS)  # "the St. Johns River": a name with its kind


_NAME_NOUNS = frozenset(stem(w) for w in PERSON | ORGANISATION | PLACE)


def named_in(p: Parse, span: Span, context: set[str]) -> bool:
    """Whether the span is a name the question's context gives (``context``: its lower-case
    words): "Marisol Quenneville won the prize. Who finished second?" asks about someone else."""
    head = p.tokens[span.head]
    return head.pos == "PROPN" and head.text.lower() in context


def in_speaker(p: Parse, span: Span) -> bool:
    """Whether the span lies in the subject of a verb of saying ("Ukrainian Defence Minister
    Rustem Umerov said ...")."""
    return any(lo <= span.start and span.end <= hi for _, lo, hi in speakers(p))


def counts_else(cues: Cues, f: dict[str, float]) -> bool:
    """ "How many troops has the UK promised?" is not answered by "about 30 countries" in a
    sentence that promises nothing: the number counts another thing, and the sentence does not
    say what the question asks."""
    return bool(cues.counted and f.get("counted_clash") and f.get("pred_known")
                and not f.get("pred_in_sent"))


FIGURE_LOOKBACK = 300


def figure_of_another(asked: Question, cues: Cues, cand: Candidate) -> bool:
    """ "How many planners did Germany send?" is not answered by "200 military planners" in a
    sentence about someone else: a figure belongs to whoever its sentence (or the one before
    it, or the headline) names, so each name the question insists on must be there. "Before
    it" is the ``FIGURE_LOOKBACK`` characters before: about two sentences, as a paragraph names
    its subject once."""
    if cues.answer_type not in FIGURE_TYPES:
        return False
    text = cand.article.text
    before = text[max(0, cand.sentence.start - FIGURE_LOOKBACK):cand.sentence.start]
    near = f"{cand.article.title}\n{cand.context}\n{before}\n{cand.sentence.text}"
    return _missing_name(asked, near) is not None


def off_topic(cues: Cues, cand: Candidate) -> bool:
    """What someone said "about energy prices" is answered only by words said where the topic
    is named (the sentence or the one before it): another quotation of theirs is about
    something else."""
    if cues.answer_type != "statement" or not cues.topic:
        return False
    said_where = words(f"{cand.context} {cand.sentence.text}")
    return not states(frozenset({cues.topic}), [stem(w) for w in said_where])


def aliases(parse: Parse, before: str, cues: Cues) -> tuple[int, ...]:
    """Tokens of the sentence that are a name the sentence before gave a question word as its
    title: "Governor Petra Vasquill" makes "Vasquill" the governor the question asks about."""
    names: set[str] = set()
    written = re.findall(r"[\w'-]+", before)
    for i, word in enumerate(written):
        if word[0].isupper() and stem(word.lower()) in cues.terms:
            for name in written[i + 1:i + 4]:
                if not name[0].isupper():
                    break
                names.add(name)
    return tuple(t.i for t in parse.tokens if t.text in names) if names else ()

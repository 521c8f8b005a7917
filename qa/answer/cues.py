"""What the reader looks for in a sentence, read from the question's parse.

``qa.question.analyze`` says what kind of answer is wanted (``Question.answer_type``) and which
words it must relate to (``Question.focus``). The reader also needs where the answer sits: the
role of the wh-word ("Who chaired" asks for a subject, "Whom did he meet" for an object), the
question's main verb, the noun a which/what question names ("which breed", "what team"), the
thing a how-many question counts, and the names it insists on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.answer.parse import Parse
from qa.answer.spans import SAY_VERBS
from qa.text import STOPWORDS, content_terms, stem
from qa.types import Question

_WH = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how"}
_KIND_NOUNS = {"type", "kind", "sort", "form", "variety", "class", "category", "manner"}
_LIGHT_VERBS = {"be", "is", "are", "was", "were", "do", "does", "did", "has", "have", "had"}
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
    return Cues(kind, terms, focus, named, role, verb, noun, counted, sides)


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
    return [w for i, w in enumerate(words)
            if (w[0].isupper() and i > 0 and w.lower() not in STOPWORDS) or w.isdigit()]


def _counted(text: str) -> str:
    match = re.search(r"\bhow many\s+(.+)", text.lower())
    if not match:
        return ""
    terms = content_terms(match.group(1))
    return terms[0] if terms else ""

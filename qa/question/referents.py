"""Pronouns of the interrogative part that point back at the context part, replaced by what
they point at.

News-quiz questions often name the thing asked about only in their context sentence: "A
Ukrainian minister wrote that his country is ready for peace. What is his name?", "A larger
gathering is planned. On which day will it take place?". Read alone, "What is his name?" asks
for nothing the reader can find; read as "What is the Ukrainian minister's name?" it asks for a
person named beside "minister". So before the interrogative part is parsed for its answer type
and focus, a third-person pronoun in it is replaced by the context's noun phrase it agrees
with: he/she with a person (a name, or a noun such as "minister"), it with a singular thing,
they with a plural or a group. The context's subject is preferred (quiz questions introduce
their topic as the subject), then the noun phrases in order. When nothing agrees, the pronoun
is left as it is.
"""

from __future__ import annotations

from qa.question import lexicon

_PERSONAL = {"he": "person", "him": "person", "his": "person", "she": "person", "her": "person",
             "it": "thing", "its": "thing", "they": "plural", "them": "plural", "their": "plural"}
_POSSESSIVE = {"his", "its", "their"}  # "her" is either; its dependency label decides
_SUBJECTS = ("nsubj", "nsubjpass")
_ROLES = ("nsubj", "nsubjpass", "dobj", "pobj", "poss", "attr", "dative")


def resolve(context_doc, question_doc) -> str | None:
    """The interrogative part's text with its pronouns replaced (``None``: nothing replaced).

    ``context_doc`` and ``question_doc`` are spaCy docs (parsed) of the two parts.
    """
    phrases = _noun_phrases(context_doc)
    if not phrases:
        return None
    out, changed = [], False
    for token in question_doc:
        kind = _PERSONAL.get(token.lower_)
        phrase = None
        if kind and token.dep_ in _ROLES:
            phrase = _same_role(context_doc, token) or _agreeing(phrases, kind)
        if phrase is None:
            out.append(token.text_with_ws)
            continue
        possessive = token.lower_ in _POSSESSIVE or (token.lower_ == "her" and token.dep_ == "poss")
        text = _definite(phrase) + ("'s" if possessive else "")
        out.append(text + token.whitespace_)
        changed = True
    return "".join(out).strip() if changed else None


def _noun_phrases(doc) -> list:
    """The context's noun phrases (spaCy's noun chunks), its subjects first."""
    chunks = [c for c in doc.noun_chunks if c.root.pos_ != "PRON"]
    return sorted(chunks, key=lambda c: (c.root.dep_ not in _SUBJECTS, c.start))


def _same_role(context_doc, pronoun):
    """ "Police arrested two men. Where were they arrested?": the pronoun is what the same verb
    acted on in the context (its object), not the context's subject."""
    if pronoun.dep_ not in ("nsubj", "nsubjpass", "dobj"):
        return None
    verb = pronoun.head.lemma_.lower()
    role = "dobj" if pronoun.dep_ in ("nsubjpass", "dobj") else "nsubj"
    for token in context_doc:
        if token.dep_ == role and token.head.lemma_.lower() == verb and token.pos_ != "PRON":
            return next((c for c in context_doc.noun_chunks if c.root.i == token.i), None)
    return None


def _agreeing(phrases: list, kind: str):
    return next((c for c in phrases if _agrees(c.root, kind)), None)


def _agrees(head, kind: str) -> bool:
    lemma = (head.lemma_ or head.text).lower()
    person = lemma in lexicon.PERSON or head.ent_type_ == "PERSON"
    plural = head.tag_ in ("NNS", "NNPS")
    if kind == "person":
        return not plural and (person or (head.pos_ == "PROPN" and lemma not in lexicon.ORGANISATION))
    if kind == "thing":
        return not plural and not person and head.pos_ in ("NOUN", "PROPN")
    return plural or lemma in lexicon.ORGANISATION  # "they": several, or a group


def _definite(chunk) -> str:
    """ "A Ukrainian minister" -> "the Ukrainian minister": it is now a known one."""
    words = [t.text_with_ws for t in chunk]
    if chunk[0].lower_ in ("a", "an"):
        words[0] = "the" + chunk[0].whitespace_
    elif chunk[0].is_sent_start and chunk[0].pos_ != "PROPN":  # "The company" mid-question
        words[0] = words[0][0].lower() + words[0][1:]
    return "".join(words).strip()

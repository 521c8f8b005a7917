"""Test doubles shared by the tests (never imported by the package)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from qa import Answer
from qa.answer.evidence import Candidate
from qa.answer.protocol import Event, word_tokens
from qa.question.followup import condense
from qa.types import Question


class ScriptedAnswerer:
    """An ``Answerer`` whose answer is computed by ``script(question, evidence)``."""

    def __init__(self, mode: str, script: Callable[[Question, Sequence[Candidate]], Answer]) -> None:
        self.mode = mode
        self.script = script
        self.warmed = False

    def stream(self, question: Question, evidence: Sequence[Candidate]) -> Iterator[Event]:
        answer = self.script(question, evidence)
        yield from word_tokens(answer.text)
        yield "answer", answer

    def condense(self, question: str, history) -> str:
        return condense(question, history)

    def prepare(self, question: Question) -> None:
        pass

    def warm_up(self) -> None:
        self.warmed = True

    def clear_cache(self) -> None:
        pass


_FAKE_VERBS = {"met", "chaired", "spoke", "said", "discussed", "sent", "will", "was", "is", "are",
               "were", "has", "had", "called", "happened"}
_FAKE_DETS = {"the", "a", "an", "his", "her", "its", "their", "this", "that"}
_FAKE_ADPS = {"by", "in", "at", "on", "of", "from", "to", "with", "for", "about"}


def fake_parse(text: str):
    """A parse without a model, enough for the reader's logic under test: capitalised runs are
    people, digits numbers; every word hangs on the first verb; runs of nouns are chunks."""
    import re

    from qa.parsing import Entity, Parse, Token

    found = list(re.finditer(r"\w+(?:[-’']\w+)*|[^\w\s]", text))
    words = [m.group() for m in found]
    verb = next((i for i, w in enumerate(words) if w.lower() in _FAKE_VERBS or w.endswith("ed")), 0)

    def pos(i: int, w: str) -> str:
        if w.isdigit():
            return "NUM"
        if not w[0].isalnum():
            return "PUNCT"
        if w.lower() in _FAKE_DETS:
            return "DET"
        if w.lower() in _FAKE_ADPS:
            return "ADP"
        if i == verb:
            return "VERB"
        return "PROPN" if w[0].isupper() else "NOUN"

    tags = [pos(i, w) for i, w in enumerate(words)]
    deps = ["ROOT" if i == verb else "nsubj" if i < verb else "dobj" for i in range(len(words))]
    entities, chunks, i = [], [], 0
    while i < len(words):
        j = i
        while j < len(words) and tags[j] in ("PROPN", "NUM", "NOUN", "DET"):
            j += 1
        if j > i:
            chunks.append((i, j))
            k = i
            while k < j:
                m = k
                while m < j and tags[m] == tags[k] and tags[k] in ("PROPN", "NUM"):
                    m += 1
                if m > k:
                    entities.append(Entity(k, m, "PERSON" if tags[k] == "PROPN" else "CARDINAL"))
                k = max(m, k + 1)
        i = j + 1
    tokens = tuple(Token(i, w, m.start(), m.end(), tags[i], "CD" if tags[i] == "NUM" else "",
                         deps[i], verb, like_num=w.isdigit())
                   for i, (w, m) in enumerate(zip(words, found, strict=True)))
    ents = {t: e.label for e in entities for t in range(e.start, e.end)}
    tokens = tuple(replace_ent(t, ents.get(t.i, "")) for t in tokens)
    return Parse(text, tokens, tuple(entities), tuple(chunks))


def replace_ent(token, label: str):
    from dataclasses import replace

    return replace(token, ent=label)


def fake_parser(texts):
    return [fake_parse(t) for t in texts]


class MemoryStories:
    """A ``StoryStore`` in a few dicts, for testing grouping without a database."""

    def __init__(self) -> None:
        from qa.ingest.copies import StoredCopy

        self._copy = StoredCopy
        self.rows: dict[str, StoredCopy] = {}
        self.bands: dict[int, set[str]] = {}
        self.texts: dict[str, str] = {}
        self._seq = 0

    def copy_texts(self, article_ids):
        return {a: self.texts[a] for a in article_ids if a in self.texts}

    def add(self, article_id: str, text: str) -> str:
        from qa.ingest.copies import assign_story

        self.texts[article_id] = text
        return assign_story(self, article_id, text)

    def copy_candidates(self, keys, min_shared, size, ratio, limit):
        shared: dict[str, int] = {}
        for key in keys:
            for aid in self.bands.get(key, ()):
                shared[aid] = shared.get(aid, 0) + 1

        def wanted(aid: str) -> bool:
            other = self.rows[aid].signature.shingles
            return shared[aid] >= min_shared or other >= size * ratio or other <= size / ratio

        best = sorted(filter(wanted, shared), key=lambda a: (-shared[a], self.rows[a].seq))[:limit]
        return [self.rows[a] for a in best]

    def add_copy(self, article_id, story_id, signature, keys) -> None:
        self._seq += 1
        self.rows[article_id] = self._copy(article_id, story_id, self._seq, signature)
        for key in keys:
            self.bands.setdefault(key, set()).add(article_id)

    def story_members(self, story_id):
        return sorted((r for r in self.rows.values() if r.story_id == story_id), key=lambda r: r.seq)

    def set_story(self, article_ids, story_id) -> None:
        from dataclasses import replace

        for aid in article_ids:
            self.rows[aid] = replace(self.rows[aid], story_id=story_id)

    def merge_stories(self, story_ids, into) -> None:
        self.set_story([a for a, r in self.rows.items() if r.story_id in set(story_ids)], into)

    def remove(self, article_id: str) -> str:
        row = self.rows.pop(article_id)
        self.texts.pop(article_id, None)
        for members in self.bands.values():
            members.discard(article_id)
        return row.story_id

    def stories(self) -> dict[str, str]:
        return {a: r.story_id for a, r in self.rows.items()}

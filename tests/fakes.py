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

    def warm_up(self) -> None:
        self.warmed = True

    def clear_cache(self) -> None:
        pass


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

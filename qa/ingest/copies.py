"""Wire copies: one agency story reprinted by several papers, found at ingest and kept as one story.

A reprint keeps the wire text with small edits: another headline, a word changed here and there,
the last paragraphs cut to fit. Each article body (never the headline) gets a MinHash signature
(datasketch) over its word shingles. Candidates come from LSH banding: the signature is cut into
bands, each band hashed to one integer key; two articles sharing a key are candidates. The store
keeps the keys in an indexed table, so grouping a new article is one look-up, never a rebuild.

A candidate is a copy when the Jaccard similarity of the two shingle sets is high, or when the
shorter text is mostly contained in the longer one: a reprint that cuts half of the story shares
half of the shingles (a low Jaccard) but nearly all of its own (a high containment). Candidates
are first filtered on estimates from the signatures (containment from the Jaccard estimate and
the two set sizes, ``|A ∩ B| = J (|A| + |B|) / (1 + J)``), then confirmed on the stored texts:
estimates are noisy, above all for a short text beside a long one, and one wrong link would merge
two stories. The thresholds were chosen on synthetic reprints (``benchmarks/wire.py``, seeds 5, 8
and 11).

Stories are the connected components of the copy relation. A story's id is the id of its earliest
indexed article. Adding an article joins (or merges) the stories of its copies; removing one
regroups only the story it was in (it may have been the link between two reprints).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

NUM_PERM = 128  # hash functions per signature: Jaccard estimates within about ±0.04
ROWS = 2  # hash values per LSH band; 64 bands make pairs with Jaccard >= 0.2 candidates ~95% of the time
SHINGLE = 4  # words per shingle: a changed word breaks 4 shingles, not a whole sentence
SEED = 1
SCHEME = "affine32"  # datasketch 2's permutation scheme; values are uint32
VERSION = f"minhash-{SCHEME}-{NUM_PERM}x{SHINGLE}w-seed{SEED}-bands{ROWS}"
"""Stored signatures are valid while this is unchanged (the store recomputes them otherwise)."""
MIN_SHINGLES = 12  # a text shorter than ~15 words is its own story (a brief is not a reprint)
JACCARD_COPY = 0.5  # two versions of about the same length
CONTAINMENT_COPY = 0.65  # the shorter text (a trimmed reprint) is mostly inside the longer
SHORT_TEXT = 60  # shingles (~65 words): a shorter text needs more of it contained, since a brief
SHORT_CONTAINMENT = 0.75  # made of stock phrases ("Critics said ... came too late") is no copy
LOOSE_JACCARD = 0.25  # below both, a candidate is dropped before its text is read
LOOSE_CONTAINMENT = 0.4
MIN_SHARED_BANDS = 2  # a Jaccard of 0.24 shares 2+ of 64 bands 89% of the time; 0.07 (same topic) 3%
SIZE_RATIO = 3.0  # ...but one band suffices between texts this different in size: a trimmed copy
# of a long story has a low Jaccard (under 1 / SIZE_RATIO) however much of it is contained
CANDIDATE_LIMIT = 200  # most candidates checked per new article (those sharing most bands first)

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Signature:
    """A MinHash signature of an article body and the number of distinct shingles it summarises."""

    values: np.ndarray  # NUM_PERM uint32
    shingles: int

    def to_bytes(self) -> bytes:
        return np.asarray(self.values, dtype=np.uint32).tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes, shingles: int) -> Signature:
        return cls(np.frombuffer(blob, dtype=np.uint32), shingles)


@dataclass(frozen=True)
class StoredCopy:
    """An article's signature as the store holds it."""

    article_id: str
    story_id: str
    seq: int  # order of indexing: the earliest member names the story
    signature: Signature


class StoryStore(Protocol):
    """What grouping needs from a store, inside its write transaction."""

    def copy_candidates(self, keys: Sequence[int], min_shared: int, size: int, ratio: float,
                        limit: int) -> list[StoredCopy]:
        """Stored articles sharing at least ``min_shared`` of ``keys`` (or one, when their shingle
        count and ``size`` differ by ``ratio`` or more), those sharing most first."""
        ...

    def add_copy(self, article_id: str, story_id: str, signature: Signature, keys: Sequence[int]) -> None:
        ...

    def story_members(self, story_id: str) -> list[StoredCopy]:
        """The members of a story in indexing order."""
        ...

    def set_story(self, article_ids: Sequence[str], story_id: str) -> None:
        ...

    def merge_stories(self, story_ids: Sequence[str], into: str) -> None:
        ...

    def copy_texts(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The stored body texts, for the exact check."""
        ...


def shingles(text: str) -> set[str]:
    words = _WORD.findall(text.lower())
    if len(words) < SHINGLE:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


@cache
def _template():  # permutations are drawn once, not per article
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)


def signature(text: str | set[str]) -> Signature:
    """The MinHash signature of ``text`` (an article body, without its headline) or of its
    shingles."""
    from datasketch import MinHash

    found = shingles(text) if isinstance(text, str) else text
    template = _template()
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=template.permutations, scheme=SCHEME)
    if found:
        minhash.update_batch([s.encode("utf-8") for s in found])
    return Signature(np.array(minhash.hashvalues, dtype=np.uint32), len(found))


def band_keys(sig: Signature) -> list[int]:
    """One signed 64-bit key per band (the band's position is part of the key)."""
    if sig.shingles < MIN_SHINGLES:
        return []
    raw = np.asarray(sig.values, dtype=np.uint32)
    keys = []
    for band in range(NUM_PERM // ROWS):
        digest = hashlib.blake2b(raw[band * ROWS : (band + 1) * ROWS].tobytes(),
                                 digest_size=8, person=band.to_bytes(2, "little")).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


@dataclass(frozen=True)
class Similarity:
    jaccard: float
    containment: float  # of the shorter text in the longer

    smaller: int = 0  # shingles of the shorter text (0: unknown, as for an estimate)

    @property
    def is_copy(self) -> bool:
        needed = CONTAINMENT_COPY if self.smaller >= SHORT_TEXT else SHORT_CONTAINMENT
        return self.jaccard >= JACCARD_COPY or self.containment >= needed

    @property
    def may_be_copy(self) -> bool:
        """Worth the exact check: MinHash estimates are noisy, most of all for a short text
        beside a long one."""
        return self.jaccard >= LOOSE_JACCARD or self.containment >= LOOSE_CONTAINMENT


def estimate(a: Signature, b: Signature) -> Similarity:
    """Similarity estimated from two signatures."""
    jaccard = float(np.count_nonzero(np.asarray(a.values) == np.asarray(b.values))) / NUM_PERM
    return _from_jaccard(jaccard, a, b)


def _from_jaccard(jaccard: float, a: Signature, b: Signature) -> Similarity:
    if min(a.shingles, b.shingles) < MIN_SHINGLES:
        return Similarity(0.0, 0.0)
    smaller = min(a.shingles, b.shingles)
    common = jaccard * (a.shingles + b.shingles) / (1.0 + jaccard)
    return Similarity(jaccard, min(1.0, common / smaller), smaller)


def exact(a: set[str], b: set[str]) -> Similarity:
    """Similarity of two shingle sets."""
    if min(len(a), len(b)) < MIN_SHINGLES:
        return Similarity(0.0, 0.0)
    common = len(a & b)
    return Similarity(common / len(a | b), common / min(len(a), len(b)), min(len(a), len(b)))


# ------------------------------------------------------------------ grouping (incremental)


def assign_story(store: StoryStore, article_id: str, text: str) -> str:
    """Store the signature of a new article and return its story: the story of its earliest
    copy, with any other stories it links merged into it; its own id when it copies nothing."""
    own = shingles(text)
    sig = signature(own)
    keys = band_keys(sig)
    copies = _copies_of(store, article_id, own, sig, keys) if keys else []
    if not copies:
        store.add_copy(article_id, article_id, sig, keys)
        return article_id
    story = copies[0].story_id
    others = list(dict.fromkeys(c.story_id for c in copies if c.story_id != story))
    if others:
        store.merge_stories(others, into=story)
    store.add_copy(article_id, story, sig, keys)
    return story


def _copies_of(store: StoryStore, article_id: str, own: set[str], sig: Signature,
               keys: Sequence[int]) -> list[StoredCopy]:
    """Candidates from the bands, filtered by their estimates, confirmed on the texts."""
    found = [c for c in store.copy_candidates(keys, MIN_SHARED_BANDS, sig.shingles, SIZE_RATIO,
                                              CANDIDATE_LIMIT) if c.article_id != article_id]
    likely = [c for c, keep in zip(found, _likely(sig, found), strict=True) if keep]
    if not likely:
        return []
    texts = store.copy_texts([c.article_id for c in likely])
    confirmed = [c for c in likely if exact(own, shingles(texts.get(c.article_id, ""))).is_copy]
    return sorted(confirmed, key=lambda c: c.seq)


def _likely(sig: Signature, found: Sequence[StoredCopy]) -> list[bool]:
    """``estimate(...).may_be_copy`` for many candidates at once (the same formulas, in numpy)."""
    if not found:
        return []
    values = np.vstack([c.signature.values for c in found])
    jaccard = (values == np.asarray(sig.values)).sum(axis=1) / NUM_PERM
    sizes = np.array([c.signature.shingles for c in found], dtype=np.float64)
    smaller = np.minimum(sizes, sig.shingles)
    containment = jaccard * (sizes + sig.shingles) / (1.0 + jaccard) / np.maximum(smaller, 1)
    keep = (smaller >= MIN_SHINGLES) & ((jaccard >= LOOSE_JACCARD) | (containment >= LOOSE_CONTAINMENT))
    return keep.tolist()


def regroup(store: StoryStore, story_id: str) -> None:
    """After a member left: split the story into the groups still linked by copies; each group
    is named after its earliest member."""
    members = store.story_members(story_id)
    texts = store.copy_texts([m.article_id for m in members])
    for group in components(members, texts):
        name = group[0].article_id
        if any(m.story_id != name for m in group):
            store.set_story([m.article_id for m in group], name)


def components(members: Sequence[StoredCopy], texts: dict[str, str]) -> list[list[StoredCopy]]:
    """Connected components of the copy relation, each in indexing order."""
    ordered = sorted(members, key=lambda m: m.seq)
    sets = [shingles(texts.get(m.article_id, "")) for m in ordered]
    parent = list(range(len(ordered)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(ordered)):
        for j in range(i + 1, len(ordered)):
            if root(i) != root(j) and exact(sets[i], sets[j]).is_copy:
                parent[root(j)] = root(i)
    groups: dict[int, list[StoredCopy]] = {}
    for i, member in enumerate(ordered):
        groups.setdefault(root(i), []).append(member)
    return sorted(groups.values(), key=lambda g: g[0].seq)

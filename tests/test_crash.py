"""Crash safety: `qa index` SIGKILLed at chosen points and at random times.

Each run is a real `python -m qa index` subprocess with the fake embedder. The chosen points use the
test-only hook in ``qa/testhooks.py`` (QA_TEST_PAUSE_AT): the process stops there and is killed.
After every kill the previous index must open, be consistent (every FAISS id has its chunk row
and FTS row, and the reverse), hold at least what it held before; a re-run completes the job.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import Index, load_settings

from .conftest import ROOT, SEED_ARTICLE
from .test_store import assert_consistent


def write_articles(path: Path, n: int, start: int = 0, words: int = 40) -> Path:
    rng = random.Random(start)
    vocab = "council minister budget river bridge vote strike port grain election court tariff".split()
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(start, start + n):
            sentences = [f"Item {i} sentence {j} says the {rng.choice(vocab)} {rng.choice(vocab)} "
                         f"moved {rng.randint(1, 999)} times." for j in range(words // 8)]
            fh.write(json.dumps({"id": f"art-{i:05d}", "title": f"Article {i}",
                                 "text": " ".join(sentences)}) + "\n")
    return path


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    out.update({"QA_EMBEDDING__MODEL": "fake-hash", "PYTHONPATH": str(ROOT)}, **extra)
    return out


def qa_index(index_dir: Path, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "qa", "index", *args, "--index-dir", str(index_dir), "-q"],
        cwd=ROOT, env=env(**extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def kill_at(proc: subprocess.Popen, marker: Path) -> None:
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, f"finished before the pause point: {proc.communicate()}"
        assert time.monotonic() < deadline, "never reached the pause point"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def stored_ids(index_dir: Path) -> set[str]:
    settings = load_settings(index={"dir": index_dir}, embedding={"model": "fake-hash"})
    index = Index.open(settings)
    try:
        assert_consistent(index)
        return set(index.content_hashes())
    finally:
        index.close()


def vector_files(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("vectors."))


def sentence_files(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("sentences."))


@pytest.fixture
def base(tmp_path: Path) -> tuple[Path, set[str]]:
    """An index of the seed article and 20 articles, built by the CLI."""
    index_dir = tmp_path / "index"
    first = write_articles(tmp_path / "first.jsonl", 20)
    finish(qa_index(index_dir, str(SEED_ARTICLE), str(first)))
    return index_dir, stored_ids(index_dir)


@pytest.mark.parametrize("point", ["embed", "save", "commit"])
def test_kill_while_indexing_keeps_previous_index(base, tmp_path, point) -> None:
    index_dir, before = base
    more = write_articles(tmp_path / "more.jsonl", 30, start=100)
    marker = tmp_path / "paused"
    kill_at(qa_index(index_dir, str(more), QA_TEST_PAUSE_AT=point, QA_TEST_PAUSE_MARKER=str(marker)),
            marker)
    assert stored_ids(index_dir) == before  # the batch was not committed: the old index, whole
    finish(qa_index(index_dir, str(more)))  # re-running completes the job
    after = stored_ids(index_dir)
    assert after == before | {f"art-{i:05d}" for i in range(100, 130)}
    # the killed writer's files were cleaned up
    assert len(vector_files(index_dir)) == len(sentence_files(index_dir)) == 1


def test_kill_during_rebuild_swap_keeps_previous_index(base, tmp_path) -> None:
    index_dir, before = base
    marker = tmp_path / "paused"
    first = tmp_path / "first.jsonl"
    kill_at(qa_index(index_dir, str(SEED_ARTICLE), str(first), "--rebuild",
                     QA_TEST_PAUSE_AT="swap", QA_TEST_PAUSE_MARKER=str(marker)), marker)
    assert not index_dir.exists()  # killed between the two renames
    assert stored_ids(index_dir) == before  # opening puts the old index back
    finish(qa_index(index_dir, str(SEED_ARTICLE), str(first), "--rebuild"))
    assert stored_ids(index_dir) == before


def test_killed_at_random_times_never_breaks_the_index(tmp_path) -> None:
    """SIGKILL at seeded random moments of a long run of many small commits.

    The moment is counted in the job's own progress (a random number of commits, then a random
    fraction of a commit's time), so that the kills land inside the job however fast the machine.
    """
    index_dir = tmp_path / "index"
    corpus = write_articles(tmp_path / "corpus.jsonl", 900, words=80)
    rng = random.Random(20250601)
    held: set[str] = set()
    partial = 0
    for _ in range(6):
        start = generation(index_dir)
        proc = qa_index(index_dir, str(corpus), QA_INDEX__COMMIT_EVERY="10")
        target = start + rng.randint(1, 12)
        deadline = time.monotonic() + 120
        while proc.poll() is None and generation(index_dir) < target:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.05))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        now = stored_ids(index_dir) if held or _has_articles(index_dir) else set()
        assert now >= held  # committed batches are never lost
        partial += len(now - held) > 0 and len(now) < 900
        held = now
    assert partial >= 4, "the kills should land in the middle of the job"
    finish(qa_index(index_dir, str(corpus), QA_INDEX__COMMIT_EVERY="10"))
    assert stored_ids(index_dir) == {f"art-{i:05d}" for i in range(900)}
    assert len(vector_files(index_dir)) == len(sentence_files(index_dir)) == 1


def generation(index_dir: Path) -> int:
    """The highest vector file generation on disk (committed or being written)."""
    if not index_dir.exists():
        return 0
    numbers = [int(name.split(".")[1]) for name in vector_files(index_dir)]
    return max(numbers, default=0)


def _has_articles(index_dir: Path) -> bool:
    """Killed before the first commit, a new index may hold no articles yet: that is fine."""
    import sqlite3

    con = sqlite3.connect(index_dir / "qa.sqlite")
    try:
        return bool(con.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()

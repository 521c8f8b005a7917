"""Many questions at once while the index is updated beside them.

Readers share one Assistant (as the web server does). A writer keeps replacing one article with
one of two versions and adding new articles. Every answer must be correct and internally
consistent: the cited sentences are sentences of one version of the article, at the offsets given,
and inside the chunks that were retrieved, i.e. the reader saw the old index or the new one,
never a mix.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from qa import Assistant, FakeEmbedder, Index, index_articles, index_paths

from .conftest import SEED_ARTICLE, SEED_ID
from .test_store import article, assert_consistent

VERSIONS = {
    "A": "The harbour council met on Monday.\n\nThe harbour mayor is Alice Anders, the council said.\n\n"
         "Ferries will run again in May.",
    "B": "Storms closed the port for a week.\n\nRepairs began at once.\n\nThe harbour mayor is Bruno "
         "Berg, officials said.\n\nThe harbour council will meet in June.",
}
STABLE = ("How many military planners have been developing plans?", "200")
FLIP = "Who is the harbour mayor?"


def check_flip_answer(answer) -> None:
    assert not answer.abstained, answer
    assert answer.text.startswith(("Alice Anders", "Bruno Berg")), answer.text
    texts = {answer.citations[0].sentence in VERSIONS[v] for v in VERSIONS}
    assert True in texts
    flip_citations = [c for c in answer.citations if c.article_id == "flip"]
    versions = {v for v, text in VERSIONS.items()
                if all(text[c.start : c.end] == c.sentence for c in flip_citations)}
    assert versions, "citations do not match either version of the article"
    retrieved = " ".join(h.chunk.text for h in answer.retrieved)
    for c in answer.citations:
        assert c.sentence in retrieved, "a cited sentence is not in the retrieved chunks"


def test_threads_ask_while_the_index_is_updated(seed_index, fake_embedder) -> None:
    index_articles([article("flip", VERSIONS["A"])], seed_index, embedder=fake_embedder)
    assistant = Assistant(seed_index, embedder=fake_embedder)
    assistant.warm_up()
    stop = threading.Event()
    writes = []

    def writer() -> None:
        settings = seed_index.model_copy(deep=True)
        embedder = FakeEmbedder(name="fake-hash")
        n = 0
        while not stop.is_set() and n < 60:
            version = "B" if n % 2 == 0 else "A"
            extra = article(f"extra{n}", f"Item {n}: the depot stored {n * 7} crates of grain.")
            index_articles([article("flip", VERSIONS[version]), extra], settings, embedder=embedder)
            writes.append(version)
            n += 1

    def reader(i: int) -> int:
        done = 0
        for j in range(12):
            if (i + j) % 2:
                answer = assistant.ask(STABLE[0])
                assert answer.text.startswith(STABLE[1]), answer.text
            else:
                check_flip_answer(assistant.ask(FLIP))
            done += 1
        return done

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answered = sum(pool.map(reader, range(8)))  # re-raises the first failure
    finally:
        stop.set()
        thread.join()
    assert answered == 96
    assert len(writes) >= 2, "the writer should have committed while readers were reading"
    index = Index.open(seed_index)
    assert_consistent(index)
    assert {SEED_ID, "flip"} <= set(index.content_hashes())


def test_processes_read_while_a_cli_writer_commits(seed_index, tmp_path) -> None:
    """A reader in this process and `qa index` in another: WAL snapshots across processes."""
    import json
    import subprocess
    import sys

    from .conftest import ROOT
    from .test_crash import env

    corpus = tmp_path / "more.jsonl"
    with open(corpus, "w") as fh:
        for i in range(400):
            fh.write(json.dumps({"id": f"m{i}", "text": f"Report {i}. The depot stored {i} crates."}) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "index", str(corpus), "--index-dir", str(seed_index.index.dir),
         "-q"], cwd=ROOT, env=env(QA_INDEX__COMMIT_EVERY="5"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    assistant = Assistant(seed_index, embedder=FakeEmbedder(name="fake-hash"))
    seen = set()
    asked = 0
    while proc.poll() is None or asked < 5:
        answer = assistant.ask(STABLE[0])
        assert answer.text.startswith(STABLE[1]), answer.text
        with assistant.index.snapshot() as reader:
            seen.add(reader.vectors.size)
        asked += 1
        time.sleep(0.01)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert len(seen) >= 2, "the reader should have seen several committed generations"
    assert_consistent(Index.open(seed_index))
    assert index_paths([SEED_ARTICLE], seed_index, embedder=FakeEmbedder(name="fake-hash")).unchanged

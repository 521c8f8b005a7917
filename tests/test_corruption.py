"""Damaged index files: a clear error naming the file and how to rebuild, never a crash in FAISS
or a traceback from deep inside SQLite; the rebuild command repairs what it names."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from qa import Assistant, Index, IndexStateError, index_articles

from .conftest import ROOT
from .fakes import fake_parser
from .test_store import article, assert_consistent


def ask(settings, fake_embedder, question: str = "How many military planners?"):
    from qa.answer.extractive import ExtractiveAnswerer

    assistant = Assistant(settings, embedder=fake_embedder,
                          answerers={"extractive": ExtractiveAnswerer(settings, parser=fake_parser)})
    try:
        return assistant.ask(question)
    finally:
        assistant.close()


def vector_file(settings) -> Path:
    index = Index.open(settings)
    name = index.meta()["faiss_file"]
    index.close()
    return Path(settings.index.dir) / name


def flip(offset: int) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        at = offset if offset >= 0 else len(data) + offset
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    return damage


FAISS_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda d: b"",
    "truncated to 10 bytes": lambda d: d[:10],
    "truncated to half": lambda d: d[: len(d) // 2],
    "last byte missing": lambda d: d[:-1],
    "header byte flipped": flip(5),
    "size field flipped": flip(20),
    "vector byte flipped": flip(len(b"IxM2") + 200),
    "id byte flipped": flip(-3),
    "garbage appended": lambda d: d + b"\x00garbage" * 10,
    "random bytes": lambda d: bytes(range(256)) * (len(d) // 256 + 1),
}


@pytest.mark.parametrize("damage", list(FAISS_DAMAGE), ids=list(FAISS_DAMAGE))
def test_damaged_vector_file_is_a_clear_error(seed_index, fake_embedder, damage) -> None:
    path = vector_file(seed_index)
    path.write_bytes(FAISS_DAMAGE[damage](path.read_bytes()))
    with pytest.raises(IndexStateError) as info:
        ask(seed_index, fake_embedder)
    message = str(info.value)
    assert str(path) in message and "qa index --rebuild-vectors" in message
    assert "\n" not in message
    assert Index.open(seed_index).rebuild_vectors() > 0  # the named command repairs it
    assert not ask(seed_index, fake_embedder).abstained
    assert_consistent(Index.open(seed_index))


def test_missing_vector_file_is_a_clear_error(seed_index, fake_embedder) -> None:
    path = vector_file(seed_index)
    path.unlink()
    with pytest.raises(IndexStateError, match=rf"{path}: vector file is missing.*--rebuild-vectors"):
        ask(seed_index, fake_embedder)


def test_vector_file_of_another_index_is_refused(seed_index, fake_embedder, settings, tmp_path) -> None:
    other = settings.model_copy(deep=True)
    other.index.dir = tmp_path / "other"
    index_articles([article("x", "Something else entirely.")], other, embedder=fake_embedder)
    shutil.copy(vector_file(other), vector_file(seed_index))
    with pytest.raises(IndexStateError, match="vector file is"):
        ask(seed_index, fake_embedder)


def test_an_index_stays_usable_after_an_error(seed_index, fake_embedder) -> None:
    """A reader that met a damaged file recovers once the file is rebuilt (no stuck transaction)."""
    path = vector_file(seed_index)
    good = path.read_bytes()
    path.write_bytes(good[:50])
    index = Index.open(seed_index)
    with pytest.raises(IndexStateError):
        index.info()
    path.write_bytes(good)
    assert index.info()["articles"] == 1


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_database_is_a_clear_error(seed_index, fake_embedder, cut) -> None:
    db = Path(seed_index.index.dir) / "qa.sqlite"
    data = db.read_bytes()
    db.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(IndexStateError, match=r"qa\.sqlite.*qa index PATH --rebuild"):
        ask(seed_index, fake_embedder)


@pytest.mark.parametrize("page", [3, 6, 10, -2])
def test_damaged_database_page_never_leaks_a_sqlite_error(seed_index, fake_embedder, page) -> None:
    """Garbage over one page: the question is either answered or refused with a clear error."""
    db = Path(seed_index.index.dir) / "qa.sqlite"
    data = bytearray(db.read_bytes())
    pages = len(data) // 4096
    at = (page % pages) * 4096
    data[at : at + 4096] = bytes(range(256)) * 16
    db.write_bytes(bytes(data))
    try:
        ask(seed_index, fake_embedder)
    except IndexStateError as exc:
        assert "qa.sqlite" in str(exc) and "--rebuild" in str(exc)


def test_cli_reports_damage_in_one_line(seed_index) -> None:
    path = vector_file(seed_index)
    path.write_bytes(path.read_bytes()[:200])
    out = subprocess.run(
        [sys.executable, "-m", "qa", "ask", "Who chaired the meeting?", "--index-dir",
         str(seed_index.index.dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "QA_EMBEDDING__MODEL": "fake-hash", "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    assert path.name in out.stderr and "qa index --rebuild-vectors" in out.stderr

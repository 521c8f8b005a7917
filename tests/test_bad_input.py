"""Bad input, table-driven: every case gets a clear message, and nothing stored is lost.

Each case runs the real CLI (in process, fake embedder) against an index holding the seed
article, then checks the exit code, the message, what was stored, and that the index is still
whole and consistent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa import Index
from qa.cli import main

from .conftest import SEED_ID
from .test_store import assert_consistent

HTML = ("<html><head><title>Port reopens</title><script>var x = '<p>fake</p>';</script>"
        "<style>p {color: red}</style></head><body><nav>Menu | World</nav><h1>Port reopens<p>The port "
        "<b>reopened <i>on Monday</b> after repairs.</i><div><p>Workers cheered &amp; sang.<script>"
        "alert('x')</script><p>Tail <unclosed attr='x'>text</body>")
BAD_JSONL = "\n".join([
    json.dumps({"id": "good-1", "text": "Ferries resumed on Tuesday."}),
    "{broken json",
    json.dumps({"id": "no-text", "title": "Missing text"}),
    json.dumps(["not", "an", "object"]),
    json.dumps({"id": "good-2", "text": "Tolls were cut by half.", "date": "2025-05-01"}),
    json.dumps({"id": "too-long", "text": "x " * 600_000}),
])
NON_ENGLISH = {
    "zh.txt": "港口重新开放\n\n港口在星期一重新开放。工人们欢呼。市长李明说，这是一个好日子！",
    "ru.txt": "Порт снова открыт\n\nПорт открылся в понедельник. Мэр Иван Петров сказал: «Это хороший день».",
    "ar.txt": "الميناء يعيد فتح أبوابه\n\nأعيد فتح الميناء يوم الاثنين. قال العمدة إنه يوم جيد.",
    "el.txt": "Το λιμάνι ανοίγει\n\nΤο λιμάνι άνοιξε τη Δευτέρα. Ο δήμαρχος μίλησε.",
}


@dataclass
class Case:
    name: str
    args: Callable[[Path], list[str]]  # given a scratch folder, the CLI arguments after the command
    exit_code: int
    message: str = ""  # a regex the output must match
    stored: set[str] = field(default_factory=set)  # article ids that must now be stored
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Index], None] | None = None


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def big_file(tmp: Path) -> Path:
    path = tmp / "big.txt"
    with open(path, "wb") as fh:
        for _ in range(50):
            fh.write(b"the council met again and talked " * 31_776)  # 50 x ~1 MB
    return path


def no_punctuation(index: Index) -> None:
    with index.snapshot() as reader:
        stored = reader.article("no-punct")
        sentences = reader.sentences(stored, 0, 10_000)
    assert len(sentences) > 1 and all(len(s.sentence.text) <= 1000 for s in sentences)


def split_everywhere(index: Index) -> None:
    with index.snapshot() as reader:
        for aid in ("zh", "ru", "ar", "el"):
            assert len(reader.sentences(reader.article(aid), 0, 100)) >= 2, aid


def html_clean(index: Index) -> None:
    with index.snapshot() as reader:
        text = reader.article("page").text
    assert "The port reopened on Monday after repairs." in text and "Workers cheered & sang." in text
    assert "alert" not in text and "var x" not in text and "Menu" not in text


FILE_CASES = [
    Case("binary file", lambda t: [str(write(t / "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00IHDR" * 40))],
         1, r"photo\.txt: looks like a binary file"),
    Case("zero-byte file", lambda t: [str(write(t / "empty.txt", b""))], 1, r"empty\.txt: no text left"),
    Case("50 MB text file", lambda t: [str(big_file(t))], 1,
         r"big\.txt: one article of [\d,]+ characters is over the limit .*index\.max_article_chars"),
    Case("file over max_file_mb", lambda t: [str(write(t / "huge.jsonl", "x" * 2_000_000))], 1,
         r"huge\.jsonl: 2\.0 MB is over the limit of 1\.0 MB \(index\.max_file_mb\)",
         env={"QA_INDEX__MAX_FILE_MB": "1"}),
    Case("HTML with scripts and broken tags", lambda t: [str(write(t / "page.html", HTML))], 0,
         r"indexed 1 articles", {"page"}, check=html_clean),
    Case("JSONL with bad lines", lambda t: [str(write(t / "feed.jsonl", BAD_JSONL))], 1,
         r"(?s)feed\.jsonl:2: bad line.*feed\.jsonl:3: bad line.*feed\.jsonl:4: bad line"
         r".*feed\.jsonl:6: bad line .*max_article_chars.*indexed 2 articles", {"good-1", "good-2"}),
    Case("duplicated articles",
         lambda t: [str(write(t / "a.txt", "Bridge opens\n\nThe bridge opened.")), str(t / "a.txt"),
                    str(write(t / "copy.txt", "Bridge opens\n\nThe bridge opened."))],
         0, r"duplicate: copy \(same text as a\).*\n.*indexed 1 articles", {"a"}),
    Case("article with no sentence punctuation",
         lambda t: [str(write(t / "no-punct.txt", "Headline\n\n" + " ".join(
             f"the ferry company said word{i} and more" for i in range(400))))],
         0, r"indexed 1 articles", {"no-punct"}, check=no_punctuation),
    Case("non-English text",
         lambda t: [str(write(t / name, text)) for name, text in NON_ENGLISH.items()],
         0, r"indexed 4 articles", {"zh", "ru", "ar", "el"}, check=split_everywhere),
    Case("text that is not UTF-8", lambda t: [str(write(t / "latin.txt", "Caf\xe9 news\n\nThe caf\xe9 "
                                                         "reopened.".encode("cp1252")))],
         1, r"latin\.txt: not valid UTF-8 .*Windows-1252", {"latin"}),
    Case("missing path", lambda t: [str(t / "nowhere.txt")], 1, r"nowhere\.txt: no such file or folder"),
    Case("unsupported file type", lambda t: [str(write(t / "report.pdf", "%PDF-1.4"))], 1,
         r"report\.pdf: unsupported file type '\.pdf'"),
    Case("wrong setting", lambda t: [str(write(t / "ok.txt", "Ok\n\nFine."))], 1,
         r"setting index\.commit_every \[QA_INDEX__COMMIT_EVERY\].*got '0'",
         env={"QA_INDEX__COMMIT_EVERY": "0"}),
    Case("unknown setting", lambda t: [str(write(t / "ok.txt", "Ok\n\nFine."))], 1,
         r"setting index\.bogus \[QA_INDEX__BOGUS\]", env={"QA_INDEX__BOGUS": "1"}),
    Case("missing config file", lambda t: [str(write(t / "ok.txt", "Ok\n\nFine."))], 1,
         r"QA_CONFIG names '/nonexistent/qa\.toml', which is not a file",
         env={"QA_CONFIG": "/nonexistent/qa.toml"}),
    Case("unknown embedding model", lambda t: [str(write(t / "ok.txt", "Ok\n\nFine."))], 1,
         r"built with .*fake-hash.*--rebuild", env={"QA_EMBEDDING__MODEL": "fake-other"}),
]

QUESTION_CASES = [
    Case("empty question", lambda t: [""], 1, r"^Error: the question is empty"),
    Case("whitespace-only question", lambda t: [" \t\n  "], 1, r"^Error: the question is empty"),
    Case("100 KB question", lambda t: ["why " * 25_600], 1,
         r"the question is \d+ characters long; the limit is 2000"),
    Case("control characters only", lambda t: ["\x00\x01\x1b\x7f"], 1, r"no printable characters"),
    Case("control characters inside", lambda t: ["How many\x00 military\x1b[31m planners?"], 0, r"200"),
    Case("search syntax in the question", lambda t: ['planners" OR NEAR(* AND -"military'], 0, r"."),
    Case("non-English question", lambda t: ["Кто председательствовал на встрече?"], 0, r"."),
    Case("missing index", lambda t: ["Who?", "--index-dir", str(t / "none")], 1, r"no index in .*qa index"),
]


@pytest.fixture
def cli(seed_index, monkeypatch, tmp_path):
    monkeypatch.setenv("QA_EMBEDDING__MODEL", "fake-hash")
    monkeypatch.delenv("QA_CONFIG", raising=False)
    scratch = tmp_path / "input"
    scratch.mkdir()

    def run(command: str, case: Case) -> str:
        for key, value in case.env.items():
            monkeypatch.setenv(key, value)
        args = case.args(scratch)
        if "--index-dir" not in args:
            args += ["--index-dir", str(seed_index.index.dir)]
        result = CliRunner().invoke(main, [command, *args])
        for key in case.env:
            monkeypatch.delenv(key)
        monkeypatch.setenv("QA_EMBEDDING__MODEL", "fake-hash")
        assert result.exit_code == case.exit_code, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.output

    return run


def nothing_lost(settings, must_have: set[str]) -> Index:
    index = Index.open(settings)
    assert_consistent(index)
    assert {SEED_ID, *must_have} <= set(index.content_hashes())
    return index


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.name for c in FILE_CASES])
def test_bad_files(cli, seed_index, case: Case) -> None:
    import re

    output = cli("index", case)
    assert re.search(case.message, output), output
    assert "Traceback" not in output
    index = nothing_lost(seed_index, case.stored)
    if case.check:
        case.check(index)


@pytest.mark.parametrize("case", QUESTION_CASES, ids=[c.name for c in QUESTION_CASES])
def test_bad_questions(cli, seed_index, case: Case) -> None:
    import re

    output = cli("ask", case)
    assert re.search(case.message, output, re.MULTILINE), output
    if case.exit_code:
        assert len(output.strip().splitlines()) == 1  # one clear line
    nothing_lost(seed_index, set())

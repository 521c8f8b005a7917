"""Around every request: security headers, request ids, body limits, no stack traces, JSON logs,
Prometheus metrics; and the bounded writers: feedback rows and the upload folder."""

from __future__ import annotations

import json
import logging
import multiprocessing
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa import Assistant, FakeEmbedder, InputError
from ui import feedback
from ui.observe import JsonLines

from .conftest import seed_settings
from .fakes import SlowChat, llm_assistant

SEED_Q = {"question": "Who chaired the first meeting of the coalition of the willing?"}


def client_for(settings, assistant: Assistant | None = None) -> TestClient:
    from ui.server import create_app

    app = create_app(settings, assistant or Assistant(settings, embedder=FakeEmbedder(name="fake-hash")))
    app.state.service.warm_up()
    return TestClient(app, raise_server_exceptions=False)


class Broken:
    """An answerer with a bug."""

    mode = "extractive"

    def stream(self, question, evidence):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")
        yield  # a generator, as answerers are

    def condense(self, question, history):  # type: ignore[no-untyped-def]
        return question

    def prepare(self, question) -> None:  # type: ignore[no-untyped-def]
        pass

    def warm_up(self) -> None:
        pass

    def clear_cache(self) -> None:
        pass


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory):
    settings = seed_settings(tmp_path_factory.mktemp("guard"), server={"max_body_kb": 2},
                             limits={"llm": "100/minute", "feedback_row_kb": 1})
    chat = SlowChat(tokens=["John Healey chaired the meeting [1][9]."], delay=0,
                    state={"started": 0, "produced": 0, "closed": 0})
    with client_for(settings, llm_assistant(settings, chat)) as client:
        yield client


def test_security_headers_and_request_ids(app_client):
    for path in ("/api/health", "/", "/api/openapi.json"):
        r = app_client.get(path)
        assert r.headers["content-security-policy"] == "frame-ancestors 'self'"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    given = app_client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    forged = app_client.get("/api/health", headers={"X-Request-ID": "<script>" + "x" * 100})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["x-request-id"])


def test_frame_ancestors_lists_the_configured_sites(tmp_path: Path):
    settings = seed_settings(tmp_path, server={"frame_ancestors": ["https://news.example.com"]})
    with client_for(settings) as client:
        csp = client.get("/").headers["content-security-policy"]
    assert csp == "frame-ancestors 'self' https://news.example.com"


def test_bodies_over_the_limit_are_413(app_client):
    big = {"question": "why " * 600}  # about 2.4 KB against max_body_kb = 2
    r = app_client.post("/api/ask", json=big)
    assert r.status_code == 413 and "over the limit of 2 KB" in r.text

    def chunks():  # no Content-Length: counted while reading
        yield json.dumps(big).encode()

    r = app_client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_a_bug_is_a_short_500_with_a_request_id_and_the_traceback_in_the_log(tmp_path: Path, caplog):
    settings = seed_settings(tmp_path)
    assistant = Assistant(settings, embedder=FakeEmbedder(name="fake-hash"),
                          answerers={"extractive": Broken()})
    caplog.set_level(logging.INFO)
    with client_for(settings, assistant) as client:
        r = client.post("/api/ask", json=SEED_Q)
        assert r.status_code == 500
        assert r.json() == {"error": "internal error; the server log has the details",
                            "request_id": r.headers["x-request-id"]}
        streamed = client.post("/api/ask/stream", json=SEED_Q)
        assert streamed.status_code == 200
        last = json.loads(streamed.text.splitlines()[-1])
        assert last["type"] == "error" and last["error"].startswith("internal error")
    for body in (r.text, streamed.text):
        assert "Traceback" not in body and "secret internal detail" not in body
    lines = [json.loads(JsonLines().format(rec)) for rec in caplog.records]
    failure = next(x for x in lines if "exc" in x and x["request_id"] == r.headers["x-request-id"])
    assert "secret internal detail" in failure["exc"]
    access = [x for x in lines if x["msg"] == "request" and x["request_id"] == r.headers["x-request-id"]]
    assert access and access[0]["status"] == 500 and access[0]["route"] == "/api/ask"


def test_metrics_count_requests_answers_abstentions_and_removed_citations(app_client):
    assert app_client.post("/api/ask", json=SEED_Q).status_code == 200
    assert app_client.post("/api/ask", json={"question": "What is the capital of Peru?"}).json()["abstained"]
    llm = app_client.post("/api/ask", json={**SEED_Q, "mode": "llm"}).json()
    assert llm["answer"] == "John Healey chaired the meeting [1]."  # [9] names no given sentence
    r = app_client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    for needle in ('qa_http_requests_total{method="POST",route="/api/ask",status="200"} 3.0',
                   'qa_answers_total{mode="extractive"} 2.0', 'qa_abstentions_total{mode="extractive"} 1.0',
                   'qa_citations_removed_total{mode="llm"} 1.0',
                   'qa_answer_seconds_count{mode="extractive",stage="retrieve"} 2.0',
                   'qa_answer_seconds_count{mode="extractive",stage="queue"} 2.0',
                   'qa_answer_seconds_count{mode="llm",stage="total"} 1.0',
                   "qa_llm_queue_length 0.0", 'qa_answer_queue_length{kind="extractive"} 0.0',
                   "qa_index_articles 1.0"):
        assert needle in text, needle


# ------------------------------------------------------------------ feedback


ANSWER = {"question": "Who chaired the meeting?", "answer": "John Healey [1]", "abstained": False,
          "citations": [{"n": 1, "article_id": "seed", "sentence": "s", "start": 0, "end": 1}],
          "mode": "extractive"}


def test_an_oversized_feedback_row_is_refused(tmp_path: Path, app_client):
    with pytest.raises(InputError, match="feedback_row_kb"):
        feedback.record(tmp_path / "fb.jsonl", {**ANSWER, "answer": "x" * 5000}, "up", max_row_bytes=1024)
    assert not (tmp_path / "fb.jsonl").exists()
    big = {**ANSWER, "citations": [{"sentence": "y" * 1500}]}
    assert app_client.post("/api/feedback", json={"answer": big, "vote": "up"}).status_code == 413


def test_feedback_from_concurrent_writers_is_whole_lines_and_rotates(tmp_path: Path):
    path = tmp_path / "fb.jsonl"

    def write(n: int) -> None:
        for i in range(40):
            feedback.record(path, {**ANSWER, "question": f"q{n}-{i}"}, "up", max_file_bytes=8 * 1024,
                            keep=200)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    procs = [multiprocessing.get_context("fork").Process(target=write, args=(100 + n,)) for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    files = [f for f in sorted(tmp_path.glob("fb.jsonl*")) if not f.name.endswith(".lock")]
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(rows) == 10 * 40 and len({r["question"] for r in rows}) == 400
    assert len(files) > 2  # it rotated
    assert all(f.stat().st_size <= 8 * 1024 for f in files)


def test_rotation_keeps_only_the_newest_files(tmp_path: Path):
    path = tmp_path / "fb.jsonl"
    for i in range(30):
        feedback.record(path, {**ANSWER, "question": f"q{i}"}, "up", max_file_bytes=600, keep=3)
    kept = sorted(p.name for p in tmp_path.glob("fb.jsonl*") if not p.name.endswith(".lock"))
    assert kept == ["fb.jsonl", "fb.jsonl.1", "fb.jsonl.2", "fb.jsonl.3"]
    assert json.loads(path.read_text().splitlines()[-1])["question"] == "q29"


# ------------------------------------------------------------------ upload folder


def test_the_upload_folder_has_a_total_size_cap(tmp_path: Path):
    settings = seed_settings(tmp_path, server={"upload_dir_max_mb": 0.002})  # about 2 KB
    with client_for(settings) as client:
        small = {"title": "Small", "text": "The mayor opened the new bridge on Monday."}
        assert client.post("/api/articles", json=small).json()["indexed"]
        big = {"title": "Big", "text": "The council met again on Tuesday. " * 60}
        r = client.post("/api/articles", json=big)
        assert r.status_code == 400 and "upload folder is full" in r.json()["error"]
        files = {"file": ("big.txt", ("Big news\n\n" + "Words here. " * 200).encode(), "text/plain")}
        refused = client.post("/api/articles", files=files).json()["refused"]
        assert len(refused) == 1 and "upload folder is full" in refused[0]
    service_folder = settings.server.upload_dir
    assert sum(f.stat().st_size for f in service_folder.iterdir()) <= 2 * 1024 * 1.05

"""The HTTP JSON API, over real HTTP against the live server (fake embedder, seed article)."""

from __future__ import annotations

import json

import httpx
import pytest

# the article reports two meetings; the question names the one it means
SEED_Q = "Who chaired the first meeting of the coalition of the willing?"
CONTRACT_KEYS = {"question", "answer", "abstained", "citations", "mode", "timings_ms"}
CITATION_KEYS = {"n", "article_id", "title", "date", "source", "sentence", "start", "end"}


@pytest.fixture(scope="module")
def client(live_server):
    with httpx.Client(base_url=live_server.url, timeout=60) as c:
        yield c


def test_health_and_ready(client):
    assert client.get("/api/health").json() == {"status": "ok"}
    body = client.get("/api/ready").json()
    assert body["status"] == "ready"
    assert body["articles"] >= 1 and body["chunks"] >= 1
    assert body["modes"] == ["extractive"]


def test_ask_returns_the_cli_json_contract(client):
    r = client.post("/api/ask", json={"question": SEED_Q})
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= CONTRACT_KEYS
    assert "Healey" in body["answer"] and not body["abstained"]
    assert "[1]" in body["answer"]
    for c in body["citations"]:
        assert set(c) >= CITATION_KEYS
    assert set(body["timings_ms"]) >= {"retrieve", "answer", "total"}


def test_cited_offsets_point_into_the_article(client, live_server):
    body = client.post("/api/ask", json={"question": SEED_Q}).json()
    service = live_server.server.config.app.state.service
    for c in body["citations"]:
        assert service.article_text(c["article_id"])[c["start"]:c["end"]] == c["sentence"]


def test_ask_with_history_k_and_filters(client):
    history = [{"role": "user", "content": SEED_Q}, {"role": "assistant", "content": "John Healey [1]"}]
    r = client.post("/api/ask", json={"question": "And who chairs the meeting on Friday?",
                                      "history": history, "k": 3})
    assert r.status_code == 200 and r.json()["question"] == "And who chairs the meeting on Friday?"
    # a source no article has: nothing to cite, so the assistant abstains
    r = client.post("/api/ask", json={"question": SEED_Q, "filters": {"source": "No Such Wire"}})
    assert r.status_code == 200 and r.json()["abstained"] is True and r.json()["citations"] == []


def test_ask_as_of(client):
    body = client.post("/api/ask", json={"question": "Who chaired the meeting yesterday?",
                                         "as_of": "2025-04-11"}).json()
    assert body["as_of"]["date"] == "2025-04-11"
    assert body["as_of"]["window"] == {"start": "2025-04-10", "end": "2025-04-10", "phrase": "yesterday"}
    assert client.post("/api/ask", json={"question": SEED_Q}).json()["as_of"]["window"] is None
    for bad in ("2025-02-30", "11 April", 20250411):
        assert client.post("/api/ask", json={"question": SEED_Q, "as_of": bad}).status_code == 422
        with client.stream("POST", "/api/ask/stream", json={"question": SEED_Q, "as_of": bad}) as r:
            assert r.status_code == 422  # refused before any stream starts


def test_stream_ndjson_tokens_then_answer(client):
    with client.stream("POST", "/api/ask/stream", json={"question": SEED_Q}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in r.iter_lines() if line]
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert tokens and events[-1]["type"] == "answer"
    assert "".join(tokens) == events[-1]["answer"]["answer"]
    assert set(events[-1]["answer"]) >= CONTRACT_KEYS


def test_stream_as_server_sent_events(client):
    headers = {"Accept": "text/event-stream"}
    with client.stream("POST", "/api/ask/stream", json={"question": SEED_Q}, headers=headers) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    blocks = [b for b in text.split("\n\n") if b.strip()]
    assert blocks[0].startswith("event: token\ndata: ")
    assert blocks[-1].startswith("event: answer\ndata: ")
    assert "Healey" in json.loads(blocks[-1].split("data: ", 1)[1])["answer"]["answer"]


def test_long_question_is_refused_with_a_message(client):
    for path in ("/api/ask", "/api/ask/stream"):
        r = client.post(path, json={"question": "x" * 301})
        assert r.status_code == 400
        assert "limit is 300" in r.json()["error"]


def test_empty_question_and_bad_fields(client):
    assert client.post("/api/ask", json={"question": "   "}).status_code == 400
    assert client.post("/api/ask", json={"question": SEED_Q, "k": 0}).status_code == 422
    assert client.post("/api/ask", json={"question": SEED_Q, "colour": "red"}).status_code == 422
    bad_date = {"question": SEED_Q, "filters": {"date_from": "April"}}
    assert client.post("/api/ask", json=bad_date).status_code == 422
    bad_role = {"question": SEED_Q, "history": [{"role": "system", "content": "x"}]}
    assert client.post("/api/ask", json=bad_role).status_code == 422


def test_feedback_is_appended_as_an_eval_row(client, web_settings):
    answer = client.post("/api/ask", json={"question": SEED_Q}).json()
    path = web_settings.server.feedback_path
    before = path.read_text().count("\n") if path.exists() else 0
    assert client.post("/api/feedback", json={"answer": answer, "vote": "up"}).status_code == 204
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == before + 1
    row = rows[-1]
    assert row["question"] == SEED_Q and row["vote"] == "up"
    assert row["answers"] == [answer["answer"].split(" [")[0]]
    assert row["citations"] == answer["citations"]
    assert client.post("/api/feedback", json={"answer": answer, "vote": "meh"}).status_code == 422


def test_openapi_documents_the_api(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/ask/stream", "/api/health", "/api/feedback"} <= set(paths)


def test_web_component_loader_is_served(client):
    r = client.get("/gradio.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert r.headers["access-control-allow-origin"] == "*"
    assert "./assets/index-" in r.text
    asset = r.text.split('"./')[1].split('"')[0]
    assert client.get("/" + asset).status_code == 200


def test_cors_allows_only_the_configured_origin(client, web_settings):
    allowed = web_settings.server.allowed_origins[0]
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/api/ask", headers={"Origin": allowed, **preflight})
    assert ok.headers.get("access-control-allow-origin") == allowed
    other = client.options("/api/ask", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    # Gradio's own routes follow the same policy
    cfg = client.get("/config", headers={"Origin": allowed})
    assert cfg.headers.get("access-control-allow-origin") == allowed
    cfg = client.get("/config", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in cfg.headers


def test_the_page_is_served_at_root(client):
    r = client.get("/")
    assert r.status_code == 200 and "<gradio-app" in r.text


def test_root_path_for_a_reverse_proxy(web_settings):
    """Behind a proxy that serves the app under /qa, Gradio builds its URLs with the prefix."""
    from fastapi.testclient import TestClient

    from qa import Assistant, FakeEmbedder
    from ui.server import create_app

    settings = web_settings.model_copy(deep=True)
    settings.server.root_path = "/qa"
    app = create_app(settings, Assistant(settings, embedder=FakeEmbedder(name="fake-hash")))
    with TestClient(app) as client:
        assert client.get("/config").json()["root"] == "http://testserver/qa"
        proxied = {"X-Forwarded-Host": "news.example.com", "X-Forwarded-Proto": "https"}
        assert client.get("/config", headers=proxied).json()["root"] == "https://news.example.com/qa"
        assert client.get("/api/health").json()["status"] == "ok"  # the proxy strips the prefix

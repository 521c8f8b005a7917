"""Roles: readers ask, admins add and remove articles; keys are checked server-side, in constant
time, and never logged. The app runs in-process (TestClient) over the seed article."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa import Assistant, ConfigError, FakeEmbedder, load_settings
from ui.access import Access, bearer, key_id, read_key_file
from ui.observe import JsonLines

from .conftest import seed_settings

ADMIN = "admin-key-0123456789abcdef"
READER = "reader-key-0123456789abcdef"
HARBOUR = {"title": "Harbour reopens", "date": "2025-04-11", "source": "Test Wire",
           "text": "The harbour of Port Meridian reopened on Friday after storm repairs costing "
                   "12 million euros."}
HARBOUR_Q = "How much did the storm repairs of the harbour of Port Meridian cost?"


def client_for(settings) -> TestClient:
    from ui.server import create_app

    app = create_app(settings, Assistant(settings, embedder=FakeEmbedder(name="fake-hash")))
    app.state.service.warm_up()
    return TestClient(app)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def elem_ids(client: TestClient, prefix: str = "") -> set[str]:
    config = client.get(f"{prefix}/config").json()
    return {c["props"].get("elem_id") for c in config["components"] if c.get("props")}


# ------------------------------------------------------------------ who may write


@pytest.mark.parametrize(("server", "access", "writes"), [
    ({"host": "127.0.0.1"}, {}, "open"),
    ({"host": "localhost"}, {}, "open"),
    ({"host": "::1"}, {}, "open"),
    ({"host": "0.0.0.0"}, {}, "off"),
    ({"host": "news.example.com"}, {}, "off"),
    ({"host": "127.0.0.1", "proxy_hops": 1}, {}, "off"),  # a proxy on this machine makes it public
    ({"host": "127.0.0.1"}, {"anonymous_writes": "never"}, "off"),
    ({"host": "0.0.0.0"}, {"admin_keys": [ADMIN]}, "keys"),
    ({"host": "127.0.0.1"}, {"admin_keys": [ADMIN]}, "keys"),
])
def test_writing_is_open_only_on_loopback_without_keys(server, access, writes):
    assert Access.from_settings(load_settings(server=server, access=access)).writes == writes


def test_roles_of_keys():
    access = Access.from_settings(load_settings(access={"admin_keys": [ADMIN], "reader_keys": [READER]}))
    assert access.role(ADMIN) == "admin" and access.role(READER) == "reader"
    for wrong in (None, "", ADMIN[:-1], ADMIN + "x", READER.upper()):
        assert access.role(wrong) is None
    assert access.may_write(ADMIN) and not access.may_write(READER) and not access.may_write(None)
    assert access.may_read(READER) and access.may_read(ADMIN) and not access.may_read("nope" * 5)
    assert access.private


def test_bearer_header_parsing():
    assert bearer({"authorization": f"Bearer {ADMIN}"}) == ADMIN
    assert bearer({"authorization": f"bearer  {ADMIN} "}) == ADMIN
    assert bearer({"authorization": f"Basic {ADMIN}"}) is None
    assert bearer({"authorization": "Bearer "}) is None and bearer({}) is None


def test_key_files_and_short_keys_are_checked_without_echoing_them(tmp_path: Path):
    keys = tmp_path / "admin.keys"
    keys.write_text(f"# admins\n{ADMIN}\n\n{READER}  # second admin\n")
    assert read_key_file(keys) == [ADMIN, READER]
    access = Access.from_settings(load_settings(access={"admin_keys_file": keys}))
    assert access.role(READER) == "admin" and access.writes == "keys"
    keys.write_text("short-secret\n")
    with pytest.raises(ConfigError, match="shorter than 16") as err:
        read_key_file(keys)
    assert "short-secret" not in str(err.value)
    with pytest.raises(ConfigError, match="cannot read the key file"):
        read_key_file(tmp_path / "missing.keys")
    with pytest.raises(ConfigError, match="at least 16") as err:
        load_settings(access={"admin_keys": ["tiny-secret"]})
    assert "tiny-secret" not in str(err.value)
    assert ADMIN not in key_id(ADMIN) and key_id(ADMIN) != key_id(READER)


# ------------------------------------------------------------------ admin keys set


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory):
    settings = seed_settings(tmp_path_factory.mktemp("keyed"), access={"admin_keys": [ADMIN]},
                             server={"host": "0.0.0.0"})
    with client_for(settings) as client:
        yield client


def test_adding_articles_needs_an_admin_key(keyed):
    for headers in ({}, auth("wrong-key-0123456789abcdef"), {"Authorization": ADMIN}):
        r = keyed.post("/api/articles", json=HARBOUR, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text
        assert "admin key" in r.json()["error"]
    files = {"file": ("harbour.txt", b"Harbour news\n\nThe harbour reopened.", "text/plain")}
    assert keyed.post("/api/articles", files=files).status_code == 401
    assert keyed.post("/api/ask", json={"question": HARBOUR_Q}).json()["abstained"]


def test_an_admin_adds_and_removes_articles(keyed):
    r = keyed.post("/api/articles", json=HARBOUR, headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["indexed"]) == 1 and body["skipped"] == [] and body["refused"] == []
    article_id = body["indexed"][0]
    answer = keyed.post("/api/ask", json={"question": HARBOUR_Q}).json()
    assert "12 million" in answer["answer"]
    again = keyed.post("/api/articles", json={"articles": [HARBOUR]}, headers=auth(ADMIN)).json()
    assert again["indexed"] == [] and again["skipped"] == [{"id": article_id, "reason": "unchanged"}]

    assert keyed.delete(f"/api/articles/{article_id}").status_code == 401
    assert keyed.delete(f"/api/articles/{article_id}", headers=auth(ADMIN[:-1] + "x")).status_code == 401
    r = keyed.delete(f"/api/articles/{article_id}", headers=auth(ADMIN))
    assert r.status_code == 200 and r.json() == {"removed": [article_id]}
    assert keyed.post("/api/ask", json={"question": HARBOUR_Q}).json()["abstained"]
    missing = keyed.delete(f"/api/articles/{article_id}", headers=auth(ADMIN))
    assert missing.status_code == 404 and "no article" in missing.json()["error"]


def test_an_admin_uploads_files_and_hears_what_was_refused(keyed):
    files = [("file", ("zebra-crossing.txt", b"Zebras cross the river\n\nRangers counted 4,000 zebras "
                       b"crossing the Mara river on Tuesday.", "text/plain")),
             ("file", ("virus.exe", b"MZ", "application/octet-stream"))]
    r = keyed.post("/api/articles", files=files, headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["indexed"] == ["zebra-crossing"]
    assert len(body["refused"]) == 1 and "unsupported file type" in body["refused"][0]
    answer = keyed.post("/api/ask", json={"question": "How many zebras did rangers count?"}).json()
    assert "4,000" in answer["answer"]


def test_bad_article_bodies_are_one_line_errors(keyed):
    r = keyed.post("/api/articles", json={"title": "no text"}, headers=auth(ADMIN))
    assert r.status_code == 400 and "text" in r.json()["error"]
    r = keyed.post("/api/articles", json={**HARBOUR, "date": "Friday"}, headers=auth(ADMIN))
    assert r.status_code == 400 and "date" in r.json()["error"]
    r = keyed.post("/api/articles", content=b"{not json", headers={**auth(ADMIN),
                                                                   "content-type": "application/json"})
    assert r.status_code == 400
    r = keyed.post("/api/articles", content=b"text", headers={**auth(ADMIN), "content-type": "text/plain"})
    assert r.status_code == 415


def test_the_readers_page_has_no_way_to_add_articles(keyed):
    ids = elem_ids(keyed)
    assert "qa-chat" in ids and not ids & {"qa-add", "qa-upload", "qa-paste-text", "qa-index-files"}
    r = keyed.post("/gradio_api/upload", files={"files": ("a.txt", b"x", "text/plain")})
    assert r.status_code == 403


def test_the_admin_page_needs_an_admin_key_and_has_the_panel(keyed):
    assert keyed.get("/admin/config").status_code == 401
    # its events (indexing included) cannot be called without the session either
    join = {"data": [], "fn_index": 0, "session_hash": "x", "event_data": None, "trigger_id": None}
    assert keyed.post("/admin/gradio_api/queue/join", json=join).status_code == 401
    assert keyed.post("/admin/gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 401
    bad = keyed.post("/admin/login", data={"username": "admin", "password": "wrong-key-0123456789abcdef"})
    assert bad.status_code == 400
    ok = keyed.post("/admin/login", data={"username": "admin", "password": ADMIN})
    assert ok.status_code == 200
    assert {"qa-add", "qa-upload", "qa-paste-text"} <= elem_ids(keyed, "/admin")
    keyed.cookies.clear()
    assert keyed.get("/admin/config").status_code == 401


def test_metrics_need_an_admin_key(keyed):
    assert keyed.get("/metrics").status_code == 401
    r = keyed.get("/metrics", headers=auth(ADMIN))
    assert r.status_code == 200 and "qa_http_requests_total" in r.text


def test_keys_never_reach_the_log(keyed, caplog):
    caplog.set_level(logging.DEBUG)
    keyed.post("/api/articles", json=HARBOUR, headers=auth(ADMIN))
    keyed.post("/api/articles", json=HARBOUR, headers=auth("wrong-key-0123456789abcdef"))
    keyed.post("/admin/login", data={"username": "admin", "password": ADMIN})
    lines = [JsonLines().format(r) for r in caplog.records]
    assert any('"route": "/api/articles"' in line for line in lines)
    assert not any(ADMIN in line or "wrong-key-0123456789abcdef" in line for line in lines)


# ------------------------------------------------------------------ other states


def test_with_reader_keys_asking_needs_a_key(tmp_path: Path):
    keys = tmp_path / "readers.keys"
    keys.write_text(READER + "\n")
    settings = seed_settings(tmp_path, access={"admin_keys": [ADMIN], "reader_keys_file": keys})
    with client_for(settings) as client:
        question = {"question": "Who chaired the first meeting of the coalition of the willing?"}
        assert client.post("/api/ask", json=question).status_code == 401
        wrong = auth("wrong-key-0123456789abcdef")
        assert client.post("/api/ask", json=question, headers=wrong).status_code == 401
        assert "Healey" in client.post("/api/ask", json=question, headers=auth(READER)).json()["answer"]
        assert client.post("/api/ask", json=question, headers=auth(ADMIN)).status_code == 200
        assert client.post("/api/feedback", json={"answer": {}, "vote": "up"}).status_code == 401
        r = client.post("/api/articles", json=HARBOUR, headers=auth(READER))
        assert r.status_code == 403 and "reader key" in r.json()["error"]
        assert client.get("/config").status_code == 401  # the page asks for a key
        assert client.get("/api/health").status_code == 200


def test_on_a_public_address_without_keys_nobody_writes(tmp_path: Path):
    settings = seed_settings(tmp_path, server={"host": "0.0.0.0"})
    with client_for(settings) as client:
        r = client.post("/api/articles", json=HARBOUR)
        assert r.status_code == 403 and "turned off" in r.json()["error"]
        assert client.delete("/api/articles/uk-urges-coalition-ukraine-planning").status_code == 403
        assert "qa-upload" not in elem_ids(client)
        assert client.get("/admin/config").status_code == 404  # no admin page either
        upload = {"files": ("a.txt", b"x", "text/plain")}
        assert client.post("/gradio_api/upload", files=upload).status_code == 403


def test_on_loopback_without_keys_anyone_may_write(tmp_path: Path):
    settings = seed_settings(tmp_path)
    with client_for(settings) as client:
        r = client.post("/api/articles", json=[HARBOUR])
        assert r.status_code == 200 and len(r.json()["indexed"]) == 1
        assert {"qa-add", "qa-upload"} <= elem_ids(client)
        assert client.get("/metrics").status_code == 200  # no admin keys: metrics are open

"""A public site in a real browser (headless Debian Chromium): the page a reader gets has no way
to add articles; an admin logs in at /admin with a key and gets the "Add articles" panel, which
works; a reader who closes the page while an LLM answer streams stops its generation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import seed_settings, serve_app
from .fakes import llm_assistant, slow_chat, wait_for

pytestmark = pytest.mark.browser

ADMIN = "admin-key-0123456789abcdef"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory):
    settings = seed_settings(tmp_path_factory.mktemp("keyed-browser"), access={"admin_keys": [ADMIN]})
    with serve_app(settings) as server:
        yield server


def test_a_readers_page_has_no_way_to_add_articles(keyed_server, browser_page, tmp_path: Path):
    page = browser_page
    page.goto(keyed_server.url + "/")
    expect(page.locator("#qa-question textarea")).to_be_visible()
    expect(page.locator("#qa-chat")).to_be_visible()
    page.wait_for_timeout(500)
    assert page.get_by_text("Add articles").count() == 0
    assert page.locator("#qa-add, #qa-upload, input[type=file], #qa-paste-text").count() == 0
    page.screenshot(path=str(tmp_path / "reader.png"), full_page=True)
    assert page.qa_events == []


def test_an_admin_logs_in_with_a_key_and_adds_an_article(keyed_server, browser_page, tmp_path: Path):
    page = browser_page
    page.goto(keyed_server.url + "/admin/")
    page.get_by_label("username").fill("admin")
    page.get_by_label("password").fill("wrong-key-0123456789abcdef")
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_text("Incorrect credentials")).to_be_visible()
    assert page.locator("#qa-add").count() == 0
    page.get_by_label("username").fill("admin")  # the form is cleared after a failed login
    page.get_by_label("password").fill(ADMIN)
    page.get_by_role("button", name="Login").click()
    expect(page.locator("#qa-add")).to_be_visible()
    page.locator("#qa-add").get_by_text("Add articles").click()
    page.get_by_role("tab", name="Paste text").click()
    page.locator("#qa-paste-title textarea").fill("Lighthouse restored")
    page.locator("#qa-paste-text textarea").fill(
        "The lighthouse of Cape Varen was restored in March at a cost of 3 million euros.")
    page.locator("#qa-paste-add").click()
    expect(page.locator("#qa-add-status")).to_contain_text("Indexed: pasted-")
    page.screenshot(path=str(tmp_path / "admin.png"), full_page=True)

    # a reader asks at / and the article answers
    page.goto(keyed_server.url + "/")
    box = page.locator("#qa-question textarea")
    box.fill("How much did the restoration of the lighthouse of Cape Varen cost?")
    box.press("Enter")
    expect(page.locator("#qa-chat .qa-answer:not(.qa-streaming)").last).to_contain_text("3 million")
    assert page.qa_events == []


def test_closing_the_page_stops_the_llm_generation(tmp_path_factory, browser_page):
    settings = seed_settings(tmp_path_factory.mktemp("closing"), answer={"mode": "llm", "chat_mode": "llm"},
                             limits={"llm_timeout_s": 600})
    chat = slow_chat(100_000)  # hours of tokens: only the page's departure can stop it
    with serve_app(settings, llm_assistant(settings, chat)) as server:
        page = browser_page
        page.goto(server.url + "/")
        box = page.locator("#qa-question textarea")
        box.fill("Who chaired the meeting?")
        box.press("Enter")
        expect(page.locator("#qa-chat .qa-streaming p")).to_have_text(re.compile(r"\w+ \w+"))
        assert chat.state["started"] == 1 and chat.state["closed"] == 0
        page.close()
        assert wait_for(lambda: chat.state["closed"] == 1, 60), "generation went on after the page closed"
        produced = chat.state["produced"]
        page.context.new_page().wait_for_timeout(500)
        assert chat.state["produced"] == produced < 100_000

"""The page in a real browser: headless Debian Chromium driven by Playwright (no browser download).

Each test saves a screenshot in its temp dir. Marked ``browser``; they run in CI (`make test`
installs Chromium through `make browser-deps`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# the article reports two meetings; the question names the one it means
SEED_Q = "Who chaired the first meeting of the coalition of the willing?"
FINISHED = ".qa-answer:not(.qa-streaming)"


def ask(root, question: str):
    """Type a question into the page (or embed) and return the finished answer's locator."""
    box = root.locator("#qa-question textarea")
    before = root.locator(f"#qa-chat {FINISHED}, #qa-chat .qa-error").count()
    box.fill(question)
    box.press("Enter")
    answers = root.locator(f"#qa-chat {FINISHED}, #qa-chat .qa-error")
    expect(answers).to_have_count(before + 1)
    return answers.last


def check_seed_answer(root) -> None:
    answer = ask(root, SEED_Q)
    expect(answer).to_contain_text("Healey")
    marker = answer.locator("a.qa-ref").first
    expect(marker).to_have_text("[1]")
    footnote = answer.locator("details.qa-fn").first
    expect(footnote).not_to_have_attribute("open", "")
    marker.click()  # the marker opens its footnote
    expect(footnote).to_have_attribute("open", "")
    mark = footnote.locator("blockquote mark")
    expect(mark).to_be_visible()
    sentence = footnote.locator("summary").inner_text().split("] ", 1)[1]
    assert mark.inner_text() == sentence and "Healey" in sentence
    expect(footnote.locator("summary mark.qa-short")).to_have_text("John Healey")  # the short answer
    meta = footnote.locator(".qa-fn-meta")
    expect(meta).to_contain_text("UK urges ‘coalition’ to step up Ukraine planning")
    expect(root.locator("#qa-sources")).to_contain_text("UK urges ‘coalition’")


WATCH_STREAMING = """() => {
  window.__qaStreamed = [];
  new MutationObserver(() => {
    const s = document.querySelector('#qa-chat .qa-streaming');
    if (s) window.__qaStreamed.push(s.textContent);
  }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def test_chat_streams_cites_and_opens_footnotes(live_server, browser_page, tmp_path: Path, web_settings):
    page = browser_page
    page.goto(live_server.url + "/")
    page.locator("#qa-question textarea").wait_for()
    page.evaluate(WATCH_STREAMING)
    check_seed_answer(page)
    streamed = page.evaluate("window.__qaStreamed")
    assert any("John" in s and "Healey" not in s for s in streamed), streamed  # a partial answer was shown
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)

    # a follow-up within the conversation
    follow = ask(page, "And who chairs the meeting on Friday?")
    expect(follow.locator("a.qa-ref").first).to_be_visible()

    # an abstention looks different from an answer
    abstained = ask(page, "What is the capital of Peru?")
    expect(abstained).to_have_class("qa-answer qa-abstained")
    expect(abstained).to_contain_text("Not found in the indexed articles")

    # too long a question gets a message in the chat
    refused = ask(page, "why " * 100)
    expect(refused).to_contain_text("limit is 300")

    # thumbs up on the first answer is recorded
    path = web_settings.server.feedback_path
    before = path.read_text().count("\n") if path.exists() else 0
    page.locator("#qa-chat button[aria-label='Like']").first.click()
    expect(page.get_by_text("your feedback was recorded")).to_be_visible()
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(rows) == before + 1 and rows[-1]["question"] == SEED_Q and rows[-1]["vote"] == "up"
    assert page.qa_events == []


def test_embed_page_web_component_and_iframe(embed_site, live_server, browser_page, tmp_path: Path):
    page = browser_page
    page.goto(f"{embed_site.url}/embed.html?app={live_server.url}")
    check_seed_answer(page.locator("gradio-app"))
    check_seed_answer(page.frame_locator("#qa-frame"))
    page.screenshot(path=str(tmp_path / "embed.png"), full_page=True)
    assert page.qa_events == []


def _open_add_panel(page, tab: str) -> None:
    page.locator("#qa-add").get_by_text("Add articles").click()
    page.get_by_role("tab", name=tab).click()


def test_uploaded_article_with_script_is_shown_as_text(live_server, browser_page, tmp_path: Path):
    page = browser_page
    hostile = tmp_path / "zebra <img src=x onerror=alert(1)>.txt"
    hostile.write_text(
        "Zebra herd <script>alert('title')</script> crosses the river\n\n"
        "The zebra herd crossed the Mara river on Tuesday <script>window.__pwned = 1; alert('x')</script> "
        "watched by rangers. <img src=x onerror=\"window.__pwned = 2; alert('img')\"> "
        "Rangers counted 4,000 zebras in the crossing.\n",
        encoding="utf-8",
    )
    page.goto(live_server.url + "/")
    _open_add_panel(page, "Upload files")
    page.locator("#qa-upload input[type=file]").set_input_files(str(hostile))
    page.locator("#qa-index-files").click()
    expect(page.locator("#qa-add-status")).to_contain_text("Indexed:", timeout=60_000)

    answer = ask(page, "How many zebras did rangers count in the crossing?")
    expect(answer).to_contain_text("4,000")
    answer.locator("details.qa-fn summary").first.click()
    footnote = answer.locator("details.qa-fn").first
    expect(footnote.locator(".qa-fn-meta")).to_contain_text("<script>alert('title')</script>")
    expect(footnote.locator(".qa-fn-para")).to_contain_text("<img src=x onerror=")
    page.wait_for_timeout(500)
    assert page.locator("#qa-chat script, #qa-chat img, #qa-sources img, #qa-sources script").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.qa_events == []
    page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)


def test_unreadable_and_oversized_uploads_get_a_message(live_server, browser_page, tmp_path: Path):
    page = browser_page
    binary = tmp_path / "photo.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    page.goto(live_server.url + "/")
    _open_add_panel(page, "Upload files")
    page.locator("#qa-upload input[type=file]").set_input_files(str(binary))
    page.locator("#qa-index-files").click()
    status = page.locator("#qa-add-status")
    expect(status).to_contain_text("photo.txt: looks like a binary file")
    assert "Traceback" not in status.inner_text()

    big = tmp_path / "big.txt"
    big.write_text("Big news.\n\n" + "word " * 20_000)
    page.locator("#qa-upload input[type=file]").set_input_files(str(big))
    expect(page.get_by_text("exceed the maximum allowed size")).to_be_visible()


def test_pasted_article_is_answerable_at_once(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/")
    _open_add_panel(page, "Paste text")
    page.locator("#qa-paste-title textarea").fill("Harbour reopens")
    page.locator("#qa-paste-date textarea").fill("2025-04-11")
    page.locator("#qa-paste-source textarea").fill("Test Wire")
    page.locator("#qa-paste-text textarea").fill(
        "The harbour of Port Meridian reopened on Friday after storm repairs costing 12 million euros.")
    page.locator("#qa-paste-add").click()
    expect(page.locator("#qa-add-status")).to_contain_text("Indexed: pasted-")
    answer = ask(page, "How much did the storm repairs of the harbour of Port Meridian cost?")
    expect(answer).to_contain_text("12 million euros")
    answer.locator("a.qa-ref").first.click()
    meta = answer.locator("details[open] .qa-fn-meta")
    expect(meta).to_contain_text("Harbour reopens · 2025-04-11 · Test Wire")

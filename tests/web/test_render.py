"""The chat HTML is built only from escaped strings."""

from __future__ import annotations

import re

from ui import render

ARTICLE = "Headline\n\nFirst sentence. The <b>chair</b> was Ann & Bob.\nSecond line.\n\nOther paragraph."
START = ARTICLE.index("The <b>")
END = ARTICLE.index("Bob.") + 4
CITATION = {"n": 1, "article_id": "a1", "title": "T <script>x</script>", "date": "2025-04-10",
            "source": "Wire & Co", "sentence": ARTICLE[START:END], "start": START, "end": END}
ANSWER = {"question": "q", "answer": "Ann & Bob [1] [7]", "abstained": False, "citations": [CITATION]}


def tags(html: str) -> set[str]:
    return set(re.findall(r"<([a-z]+)", html))


def test_answer_links_markers_and_footnotes():
    html = render.answer_html(ANSWER, "m1", lambda _id: ARTICLE)
    assert '<a class="qa-ref" href="#m1-fn-1"' in html
    assert "[7]" in html and 'href="#m1-fn-7"' not in html  # no such citation: left as text
    assert '<details class="qa-fn" id="m1-fn-1">' in html
    assert "<mark>The &lt;b&gt;chair&lt;/b&gt; was Ann &amp; Bob.</mark>" in html
    assert "First sentence. <mark>" in html and "</mark>\nSecond line." in html  # its paragraph only
    assert "Other paragraph" not in html and "Headline" not in html
    assert "T &lt;script&gt;x&lt;/script&gt;" in html and "2025-04-10" in html and "Wire &amp; Co" in html
    assert tags(html) <= {"div", "p", "a", "details", "summary", "span", "strong", "blockquote", "mark"}


def test_changed_article_shows_the_sentence_alone():
    html = render.answer_html(ANSWER, "m1", lambda _id: "something else entirely")
    assert "<mark>The &lt;b&gt;chair&lt;/b&gt; was Ann &amp; Bob.</mark></blockquote>" in html
    assert "<mark>" in render.answer_html(ANSWER, "m1", lambda _id: None)


def test_abstention_is_marked_and_has_no_footnotes():
    html = render.answer_html({"answer": "I could not find this.", "abstained": True, "citations": []},
                              "m2", lambda _id: None)
    assert "qa-abstained" in html and "Not found in the indexed articles" in html
    assert "<details" not in html


def test_user_text_errors_status_and_stream_are_escaped():
    payload = "<img src=x onerror=alert(1)>"
    for html in (render.user_html(payload), render.error_html(payload), render.streaming_html(payload),
                 render.status_html([payload])):
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_sources_list_each_article_once():
    other = {**CITATION, "n": 2, "article_id": "a2", "title": "Second"}
    html = render.sources_html([CITATION, {**CITATION, "n": 3}, other])
    assert html.count("<li>") == 2 and "Second" in html
    assert "<script>" not in html
    assert "listed here" in render.sources_html([])


def test_paragraph_around():
    expected = ("First sentence. ", ARTICLE[START:END], "\nSecond line.")
    assert render.paragraph_around(ARTICLE, START, END) == expected


def test_also_in_and_sources_notes_are_plain_and_escaped():
    copied = {**CITATION, "also_in": ["<b>copy-1</b>", "copy-2"]}
    answer = {**ANSWER, "answer": "Sources differ: about 150 [1]; at least 155 [2]",
              "citations": [copied, {**CITATION, "n": 2, "article_id": "a2"}],
              "sources": {"status": "disagree", "agree": 1, "citations": [1],
                          "disagree": [{"answer": "at least <155>", "sources": 1, "date": "2025-04-10",
                                        "citations": [2]}], "earlier": []}}
    html = render.answer_html(answer, "m3", lambda _id: ARTICLE)
    assert "also in 2 other articles:" in html and "&lt;b&gt;copy-1&lt;/b&gt;" in html and "+2 copies" in html
    assert "Sources differ." in html
    assert "This answer: 1 source; other answers: at least &lt;155&gt; (1 source)" in html
    assert "<b>" not in html and "<155>" not in html
    assert tags(html) <= {"div", "p", "a", "details", "summary", "span", "strong", "blockquote", "mark",
                          "code"}
    updated = {**ANSWER, "sources": {"status": "updated", "agree": 1, "disagree": [],
                                     "earlier": [{"answer": "42", "sources": 1, "date": "2025-04-04"}]}}
    assert "Updated figure." in render.answer_html(updated, "m4", lambda _id: ARTICLE)
    assert "earlier: 42 on 2025-04-04" in render.answer_html(updated, "m4", lambda _id: ARTICLE)
    agree = {**ANSWER, "sources": {"status": "agree", "agree": 3, "disagree": [], "earlier": []}}
    assert "3 independent sources agree." in render.answer_html(agree, "m5", lambda _id: ARTICLE)
    single = {**ANSWER, "sources": {"status": "single", "agree": 1, "disagree": [], "earlier": []}}
    assert "qa-note" not in render.answer_html(single, "m6", lambda _id: ARTICLE)
    assert "also in" not in render.answer_html(ANSWER, "m7", lambda _id: ARTICLE)


def test_an_as_of_note_is_shown_escaped():
    note = "As of 2025-04-08 (the newest cited article; asked on <2025-06-30>)."
    html = render.answer_html({**ANSWER, "as_of": {"date": "2025-06-30", "note": note}}, "m3",
                              lambda _id: ARTICLE)
    assert ('<p class="qa-as-of">As of 2025-04-08 (the newest cited article; asked on '
            '&lt;2025-06-30&gt;).</p>') in html
    assert "qa-as-of" not in render.answer_html(ANSWER, "m3", lambda _id: ARTICLE)


def test_short_answer_is_marked_inside_its_cited_sentence():
    a = ARTICLE.index("Ann & Bob")
    short = {"text": "Ann & Bob", "article_id": "a1", "start": a, "end": a + len("Ann & Bob")}
    html = render.answer_html({**ANSWER, "short_answer": short}, "m1", lambda _id: ARTICLE)
    summary = html[html.index("<summary>"):html.index("</summary>")]
    assert ('The &lt;b&gt;chair&lt;/b&gt; was <mark class="qa-short">Ann &amp; Bob</mark>.'
            in summary)
    assert tags(html) <= {"div", "p", "a", "details", "summary", "span", "strong", "blockquote", "mark"}
    # a short answer in another article, or outside the sentence, marks nothing in the summary
    for other in ({**short, "article_id": "a2"}, {**short, "start": 0, "end": 5}):
        html = render.answer_html({**ANSWER, "short_answer": other}, "m1", lambda _id: ARTICLE)
        assert "qa-short" not in html[html.index("<summary>"):html.index("</summary>")]


def test_a_short_answer_over_two_sentences_is_marked_in_each():
    text = "“One two. Three four,” he said."
    first = {"n": 1, "article_id": "a1", "title": "T", "sentence": "“One two.", "start": 0, "end": 9}
    second = {"n": 2, "article_id": "a1", "title": "T", "sentence": "Three four,” he said.",
              "start": 10, "end": len(text)}
    end = text.index("”")
    short = {"text": text[1:end], "article_id": "a1", "start": 1, "end": end}
    html = render.answer_html({"answer": "x [1][2]", "abstained": False, "citations": [first, second],
                               "short_answer": short}, "m1", lambda _id: text)
    assert '“<mark class="qa-short">One two.</mark>' in html
    assert '<mark class="qa-short">Three four,</mark>” he said.' in html

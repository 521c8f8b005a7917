"""HTML for the chat, built only from escaped strings.

Gradio's Chatbot treats message content as HTML whether or not Markdown is on, and its
sanitizer is a second line of defence, not the first. So every piece of article text, title,
source and user question goes through ``html.escape`` here, and the only tags in the output are
the ones written literally in this module. An article containing ``<script>`` is shown as the
text "<script>".

An answer is one message: the answer text with ``[n]`` links, then one ``<details>`` footnote per
citation (cited sentence, with the short answer marked in it; title, date and source; the
sentence highlighted in its paragraph).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from qa import MARKER

Citation = Mapping[str, Any]


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def user_html(question: str) -> str:
    return f'<p class="qa-question">{esc(question)}</p>'


def streaming_html(partial: str) -> str:
    return (f'<div class="qa-answer qa-streaming"><p>{esc(partial)}'
            f'<span class="qa-cursor" aria-hidden="true">▍</span></p></div>')


def error_html(message: str) -> str:
    return f'<div class="qa-error" role="alert"><p>{esc(message)}</p></div>'


def status_html(lines: Sequence[str]) -> str:
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return f'<ul class="qa-status">{items}</ul>'


def paragraph_around(text: str, start: int, end: int) -> tuple[str, str, str]:
    """(before, sentence, after) inside the paragraph (blank-line separated) holding start:end."""
    p0 = text.rfind("\n\n", 0, start)
    p0 = 0 if p0 < 0 else p0 + 2
    p1 = text.find("\n\n", end)
    p1 = len(text) if p1 < 0 else p1
    return text[p0:start], text[start:end], text[end:p1]


def _meta(c: Citation) -> str:
    bits = [f'<strong class="qa-title">{esc(c.get("title") or c.get("article_id"))}</strong>']
    bits += [esc(c[key]) for key in ("date", "source") if c.get(key)]
    if c.get("is_caption"):
        bits.append("photo caption")
    return " · ".join(bits)


def also_in_html(c: Citation) -> str:
    """"also in N other articles" (wire copies carrying the same sentence), listed by id."""
    others = [str(a) for a in c.get("also_in") or ()]
    if not others:
        return ""
    noun = "article" if len(others) == 1 else "articles"
    ids = ", ".join(f'<code class="qa-id">{esc(a)}</code>' for a in others)
    return f'<div class="qa-also-in">also in {len(others)} other {noun}: {ids}</div>'




def sentence_html(c: Citation, short: Mapping[str, Any] | None) -> str:
    """The cited sentence, escaped, with the part of the short answer that lies in it marked."""
    sentence = str(c["sentence"])
    if not short or str(short.get("article_id")) != str(c.get("article_id")):
        return esc(sentence)
    start, end = int(c["start"]), int(c["end"])
    a, b = max(int(short["start"]), start) - start, min(int(short["end"]), end) - start
    if not 0 <= a < b <= len(sentence):
        return esc(sentence)
    return (f'{esc(sentence[:a])}<mark class="qa-short">{esc(sentence[a:b])}</mark>'
            f"{esc(sentence[b:])}")


def footnote_html(c: Citation, fid: str, article_text: str | None,
                  short: Mapping[str, Any] | None = None) -> str:
    """One citation: the sentence as summary (the short answer marked in it); opened, the article
    and the highlighted paragraph."""
    start, end, sentence = int(c["start"]), int(c["end"]), str(c["sentence"])
    if article_text is not None and article_text[start:end] == sentence:
        before, sentence, after = paragraph_around(article_text, start, end)
    else:  # the article changed since the answer: show the sentence alone
        before, after = "", ""
    count = len(c.get("also_in") or ())
    badge = f' <span class="qa-also-badge">+{count} copies</span>' if count else ""
    return (
        f'<details class="qa-fn" id="{esc(fid)}"><summary><span class="qa-fn-n">[{int(c["n"])}]</span> '
        f'{sentence_html(c, short)}{badge}</summary><div class="qa-fn-meta">{_meta(c)}</div>'
        f'{also_in_html(c)}'
        f'<blockquote class="qa-fn-para">{esc(before)}<mark>{esc(sentence)}</mark>{esc(after)}'
        f"</blockquote></details>"
    )


def sources_note_html(sources: Mapping[str, Any] | None) -> str:
    """A plain line on what the sources say: they differ, the figure was updated, or several
    independent sources agree. Nothing for a single source."""
    if not sources:
        return ""
    status = sources.get("status")
    if status == "disagree":
        sides = "; ".join(f"{esc(d['answer'])} ({_sources(d['sources'])})"
                          for d in sources.get("disagree", []))
        return (f'<p class="qa-note qa-differ" role="note"><strong>Sources differ.</strong> '
                f"This answer: {_sources(sources.get('agree', 0))}; other answers: {sides}.</p>")
    if status == "updated":
        before = "; ".join(f"{esc(d['answer'])} on {esc(d.get('date') or 'an earlier date')}"
                           for d in sources.get("earlier", []))
        return (f'<p class="qa-note qa-updated" role="note"><strong>Updated figure.</strong> '
                f"The latest as of the question's date; earlier: {before}.</p>")
    if status == "agree":
        return (f'<p class="qa-note qa-agree">{int(sources.get("agree", 0))} independent sources '
                "agree.</p>")
    return ""


def _sources(n: Any) -> str:
    count = int(n)
    return f"{count} source" if count == 1 else f"{count} sources"


def answer_html(answer: Mapping[str, Any], msg_id: str, article_text: Callable[[str], str | None]) -> str:
    """The finished assistant message for an ``Answer.to_dict()``."""
    cites = {int(c["n"]): c for c in answer.get("citations", [])}

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in cites:
            return match.group(0)
        return f'<a class="qa-ref" href="#{msg_id}-fn-{n}" title="Show source {n}">[{n}]</a>'

    body = MARKER.sub(link, esc(answer.get("answer", "")))
    said = f'<p class="qa-note">{esc(answer["note"])}</p>' if answer.get("note") else ""
    if answer.get("abstained"):
        return ('<div class="qa-answer qa-abstained"><p class="qa-abstain-label">Not found in the '
                f"indexed articles</p>{said}<p>{body}</p></div>")
    notes = "".join(
        footnote_html(c, f"{msg_id}-fn-{n}", article_text(str(c["article_id"])),
                      answer.get("short_answer"))
        for n, c in sorted(cites.items())
    )
    note = (answer.get("as_of") or {}).get("note")  # the newest evidence is much older than today
    dated = f'<p class="qa-as-of">{esc(note)}</p>' if note else ""
    sources = sources_note_html(answer.get("sources"))
    return (f'<div class="qa-answer">{said}<p>{body}</p>{sources}{dated}'
            f'<div class="qa-footnotes">{notes}</div></div>')


def sources_html(citations: Sequence[Citation]) -> str:
    """The side panel: each article the last answer used, once."""
    first: dict[str, Citation] = {}
    for c in citations:
        first.setdefault(str(c["article_id"]), c)
    if not first:
        return ('<div class="qa-sources"><p class="qa-muted">The articles an answer uses are listed here.'
                "</p></div>")
    items = "".join(
        f'<li>{_meta(c)} <code class="qa-id">{esc(aid)}</code></li>' for aid, c in first.items()
    )
    return f'<div class="qa-sources"><ol>{items}</ol></div>'


CSS = """
.qa-answer mark { background: #fde68a; color: #111827; padding: 0 2px; border-radius: 2px; }
.qa-fn summary mark.qa-short { background: #bbf7d0; font-weight: 600; }
.qa-ref { font-size: 0.8em; vertical-align: super; text-decoration: none; font-weight: 600;
          margin-left: 1px; }
.qa-footnotes { margin-top: 6px; }
.qa-fn { margin: 4px 0; border-left: 3px solid #d1d5db; padding-left: 8px; }
.qa-fn summary { cursor: pointer; }
.qa-fn-meta { font-size: 0.85em; color: #6b7280; margin: 4px 0; }
.qa-fn-para { margin: 4px 0; font-size: 0.9em; white-space: pre-wrap; }
.qa-abstained { border: 1px dashed #9ca3af; border-radius: 6px; padding: 2px 10px; color: #4b5563;
                font-style: italic; }
.qa-abstain-label { font-weight: 600; font-style: normal; }
.qa-abstain-label::before { content: "⚠ "; }
.qa-as-of { color: #4b5563; font-size: 0.9em; font-style: italic; }
.qa-error { color: #b91c1c; font-weight: 500; }
.qa-cursor { opacity: 0.6; }
.qa-muted { color: #6b7280; }
.qa-id { font-size: 0.75em; color: #6b7280; }
.qa-note { margin: 4px 0; font-size: 0.9em; padding: 2px 8px; border-radius: 4px; }
.qa-differ { background: #fef3c7; color: #78350f; }
.qa-differ strong::before { content: "⚠ "; }
.qa-updated { background: #e0f2fe; color: #0c4a6e; }
.qa-agree { color: #065f46; }
.qa-also-in { font-size: 0.85em; color: #6b7280; margin: 2px 0 4px; }
.qa-also-badge { font-size: 0.75em; color: #6b7280; margin-left: 4px; }
"""

# Clicking an inline [n] opens its footnote (a <details>) and scrolls to it. Without the script
# the footnotes still open by clicking their summary line. Runs in the page, the web component
# and the iframe alike; the flag keeps one listener per document.
JS = """
() => {
  if (window.__qaFootnotes) return;
  window.__qaFootnotes = true;
  document.addEventListener('click', (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest('a.qa-ref') : null;
    if (!a) return;
    const id = (a.getAttribute('href') || '').slice(1);
    const scope = a.closest('.qa-answer') || document;
    const d = scope.querySelector('details[id="' + CSS.escape(id) + '"]');
    if (!d) return;
    ev.preventDefault();
    d.open = true;
    d.scrollIntoView({block: 'nearest'});
  }, true);
}
"""

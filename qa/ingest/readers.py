"""Readers for .txt, .md, .html and articles JSONL, and the news clean-up they share.

Every reader turns a file into blocks of lines; ``build_article`` then drops boilerplate the same
way for every format (lone separators, exact repeated lines, agency tags), labels photo captions,
and joins what is left into the stored text. Offsets everywhere refer to that stored text, so the
clean-up can never make a citation point at text the user cannot see.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from qa.errors import InputError
from qa.text import ARTICLE_SUFFIXES
from qa.types import Article

_SEPARATOR = re.compile(r"^[\W_]{1,80}$")  # a line of only punctuation/symbols: |, ***, ----
_AGENCIES = r"(?:AP|AFP|Reuters|dpa|DPA|PA|PA Media|Bloomberg|EFE|ANSA|Xinhua|UPI|Associated Press)"
_AGENCY_TAG = re.compile(
    rf"^[-–—(]*\s*(?:with\s+|additional reporting by\s+)?{_AGENCIES}"
    rf"(?:\s*(?:,|and|&|/)\s*{_AGENCIES})*\s*[.)]*$",
    re.IGNORECASE,
)
_PHOTO_CREDIT = re.compile(
    r"(\((?:[\w .'/-]{0,40}\s)?(?:photo|photograph|picture|image)s?\b[^()]{0,60}\)\s*$)"
    r"|(^(?:photo|photograph|picture|image)\s*(?:credit)?\s*:)",
    re.IGNORECASE,
)
_LABEL_MAX_WORDS = 6


class IngestWarning(UserWarning):
    """Something in a file was skipped or decoded with a fallback; the message names the file."""


@dataclass
class _Line:
    text: str
    is_caption: bool = False


# ---------------------------------------------------------------- reading files


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand folders (recursively, sorted) into the supported files inside them."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in ARTICLE_SUFFIXES \
                        and not _is_folder_furniture(child):
                    yield child
        elif path.is_file():
            if path.suffix.lower() not in ARTICLE_SUFFIXES:
                raise InputError(
                    f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
                    f"use one of {', '.join(ARTICLE_SUFFIXES)}"
                )
            yield path
        else:
            raise InputError(f"{path}: no such file or folder")


def _is_folder_furniture(path: Path) -> bool:
    """README files and eval datasets sit beside articles in a folder but are not articles."""
    name = path.name.lower()
    return name.startswith("readme") or (name.endswith(".jsonl") and name.startswith("eval"))


def read_text(path: Path, max_mb: float = 64.0) -> str:
    """Read a text file: refuse binary files, fall back to cp1252/latin-1 with a warning."""
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        raise InputError(f"{path}: {size / 1e6:.1f} MB is over the limit of {max_mb} MB (index.max_file_mb)")
    data = path.read_bytes()
    if b"\x00" in data[:8192] or _looks_binary(data[:8192]):
        raise InputError(f"{path}: looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        warnings.warn(
            f"{path}: not valid UTF-8 (byte {exc.start}); decoded as Windows-1252",
            IngestWarning,
            stacklevel=2,
        )
        return data.decode("cp1252", errors="replace")


def _looks_binary(head: bytes) -> bool:
    if not head:
        return False
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control / len(head) > 0.1


def read_articles(path: Path, max_mb: float = 64.0, max_chars: int = 1_000_000) -> Iterator[Article]:
    """Yield the articles of one file (one, or many for JSONL)."""
    suffix = path.suffix.lower()
    text = read_text(path, max_mb)
    if suffix == ".jsonl":
        yield from _read_jsonl(text, path, max_chars)
        return
    if len(text) > max_chars:
        raise InputError(f"{path}: {_too_long(len(text), max_chars)}")
    if suffix in (".html", ".htm"):
        title, meta, blocks = _parse_html(text)
    elif suffix in (".md", ".markdown"):
        title, meta, blocks = _parse_markdown(text)
    else:
        title, meta, blocks = _parse_plain(text)
    article = build_article(blocks, title=title, article_id=slugify(path.stem), path=str(path), **meta)
    if article is None:
        warnings.warn(f"{path}: no text left to index; skipped", IngestWarning, stacklevel=2)
        return
    yield article


def _too_long(chars: int, limit: int) -> str:
    return (f"one article of {chars:,} characters is over the limit of {limit:,} "
            "(index.max_article_chars); split it into articles, e.g. as articles JSONL")


def _read_jsonl(text: str, path: Path, max_chars: int = 1_000_000) -> Iterator[Article]:
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
            if len(row["text"]) > max_chars:
                raise ValueError(_too_long(len(row["text"]), max_chars))
        except ValueError as exc:
            warnings.warn(f"{path}:{lineno}: bad line skipped ({exc})", IngestWarning, stacklevel=2)
            continue
        title, _, blocks = _parse_plain(row["text"], first_line_is_title=not row.get("title"))
        article = build_article(
            blocks,
            title=_opt_str(row.get("title")) or title,
            article_id=str(row.get("id") or content_id(row["text"])),
            date=_opt_str(row.get("date")),
            source=_opt_str(row.get("source")),
            url=_opt_str(row.get("url")),
            path=f"{path}:{lineno}",
        )
        if article is None:
            warnings.warn(f"{path}:{lineno}: no text left to index; skipped", IngestWarning, stacklevel=2)
            continue
        yield article


def _opt_str(value: object) -> str | None:
    return None if value in (None, "") else str(value)


# ---------------------------------------------------------------- format parsers

Blocks = list[list[_Line]]


def _parse_plain(text: str, first_line_is_title: bool = True) -> tuple[str | None, dict, Blocks]:
    blocks = [
        [_Line(line.strip()) for line in para.splitlines() if line.strip()]
        for para in re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    ]
    blocks = [b for b in blocks if b]
    title = None
    # The first line is the headline when it looks like one and is not all there is; a first
    # line that is a paragraph stays in the body (the title is then derived from it).
    if first_line_is_title and sum(len(b) for b in blocks) > 1 and _looks_like_headline(blocks[0][0].text):
        title = blocks[0].pop(0).text
        blocks = [b for b in blocks if b]
    return title, {}, blocks


HEADLINE_MAX_WORDS = 25


def _looks_like_headline(line: str) -> bool:
    return len(line.split()) <= HEADLINE_MAX_WORDS and not re.search(r"[.!?][\"”’')]*$", line)


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def _parse_markdown(text: str) -> tuple[str | None, dict, Blocks]:
    """Strip the common Markdown syntax; the first heading (or line) is the title."""
    lines = []
    for raw in text.splitlines():
        line = _MD_LINK.sub(r"\1", raw)
        line = _MD_EMPHASIS.sub(r"\2", line)
        line = re.sub(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", "", line)
        lines.append(line)
    return _parse_plain("\n".join(lines))


_HTML_SKIP = {"script", "style", "noscript", "nav", "footer", "header", "aside", "form", "svg", "template"}
_HTML_BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "figcaption",
               "section", "article", "br", "tr", "td", "pre", "title", "figure", "main"}


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []  # (tag, text)
        self.meta: dict[str, str] = {}
        self._stack: list[str] = []
        self._buf: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self._meta(dict(attrs))
            return
        if tag in _HTML_SKIP:
            self._skip += 1
        elif tag in _HTML_BLOCK:
            self._flush()
        if tag not in ("br", "img", "hr", "link", "input"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_SKIP and self._skip:
            self._skip -= 1
        elif tag in _HTML_BLOCK:
            self._flush()
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self._buf)).strip()
        self._buf = []
        if text:
            tag = next((t for t in reversed(self._stack) if t in _HTML_BLOCK), "p")
            self.blocks.append((tag, text))

    def _meta(self, attrs: dict[str, str | None]) -> None:
        key = (attrs.get("property") or attrs.get("name") or "").lower()
        value = attrs.get("content")
        wanted = {"article:published_time": "date", "date": "date", "og:site_name": "source",
                  "og:url": "url", "og:title": "title"}
        if value and key in wanted:
            self.meta.setdefault(wanted[key], value.strip())


def _parse_html(text: str) -> tuple[str | None, dict, Blocks]:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    title = parser.meta.pop("title", None)
    blocks: Blocks = []
    for tag, line in parser.blocks:
        if tag == "title" or (tag == "h1" and title is None):
            title = title or line
            continue
        blocks.append([_Line(line, is_caption=tag == "figcaption")])
    date = parser.meta.get("date")
    meta = {"date": date[:10] if date else None, "source": parser.meta.get("source"),
            "url": parser.meta.get("url")}
    return title, meta, blocks


# ---------------------------------------------------------------- clean-up


def build_article(
    blocks: Blocks,
    *,
    title: str | None,
    article_id: str,
    date: str | None = None,
    source: str | None = None,
    url: str | None = None,
    path: str | None = None,
) -> Article | None:
    """Apply the news clean-up and join the kept lines into the stored text."""
    cleaned = _clean(blocks)
    paragraphs: list[str] = []
    captions: list[tuple[int, int]] = []
    pos = 0
    for block in cleaned:
        if paragraphs:
            pos += 2  # the "\n\n" joining paragraphs
        parts = []
        for i, line in enumerate(block):
            if i:
                pos += 1
            if line.is_caption:
                captions.append((pos, pos + len(line.text)))
            parts.append(line.text)
            pos += len(line.text)
        paragraphs.append("\n".join(parts))
    text = "\n\n".join(paragraphs)
    if not text.strip():
        return None
    title = (title or "").strip() or text.split("\n", 1)[0][:120]
    return Article(id=article_id, title=title, text=text, date=date, source=source, url=url,
                   path=path, captions=tuple(captions))


def _clean(blocks: Blocks) -> Blocks:
    seen: set[str] = set()
    previous: _Line | None = None
    out: Blocks = []
    for block in blocks:
        kept: list[_Line] = []
        for line in block:
            text = re.sub(r"[ \t\u00a0]+", " ", line.text).strip()
            if not text or _SEPARATOR.match(text) or _AGENCY_TAG.match(text):
                continue
            if text in seen:
                # A line printed twice in a row is a photo caption shown twice (image + caption).
                if previous is not None and previous.text == text:
                    previous.is_caption = True
                continue
            seen.add(text)
            current = _Line(text, line.is_caption or bool(_PHOTO_CREDIT.search(text)))
            kept.append(current)
            previous = current
        _label_caption_names(kept)
        if kept:
            out.append(kept)
    return out


def _label_caption_names(block: list[_Line]) -> None:
    """A short unpunctuated line right above a caption is its label ("John Healey")."""
    for above, below in zip(block, block[1:], strict=False):
        if (below.is_caption and not above.is_caption
                and len(above.text.split()) <= _LABEL_MAX_WORDS and above.text[-1] not in ".!?\"”"):
            above.is_caption = True


# ---------------------------------------------------------------- ids


def slugify(name: str) -> str:
    slug = re.sub(r"[^\w]+", "-", name.lower(), flags=re.UNICODE).strip("-")
    return slug[:120] or content_id(name)


def content_id(text: str) -> str:
    """A stable id for an article that has none: a hash of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

"""Where uploaded and pasted articles are kept, under names that cannot escape the folder.

An upload keeps its file name (the article id is derived from it, as for ``qa index``), reduced
to letters, digits, ``.``, ``-`` and ``_``: no separators, no ``..``, no hidden files, bounded
length. The resolved target is checked to lie inside the upload folder all the same.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import unicodedata
from pathlib import Path

from qa import ARTICLE_SUFFIXES, InputError

SUFFIXES = ARTICLE_SUFFIXES
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100


def safe_name(name: str) -> str:
    """A file name that is safe to create inside the upload folder; keeps the suffix."""
    base = re.split(r"[\\/]", str(name))[-1]  # a browser may send a path; Windows ones too
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = _UNSAFE.sub("-", stem).strip(".-_")[:MAX_NAME] or "upload"
    suffix = _UNSAFE.sub("", suffix).lower()[:10]
    return f"{stem}.{suffix}" if suffix else stem


def target_in(folder: Path, name: str) -> Path:
    folder = folder.resolve()
    target = (folder / safe_name(name)).resolve()
    if target.parent != folder:  # unreachable after safe_name; kept as the invariant
        raise InputError(f"upload name {name!r} is not allowed")
    return target


def save_upload(source: Path, name: str, folder: Path, max_bytes: int) -> Path:
    """Copy an uploaded temp file into ``folder``; refuse wrong types and oversize files."""
    suffix = Path(safe_name(name)).suffix
    if suffix not in SUFFIXES:
        raise InputError(f"{name}: unsupported file type {suffix or '(none)'!r}; "
                         f"use one of {', '.join(SUFFIXES)}")
    size = source.stat().st_size
    if size > max_bytes:
        raise InputError(f"{name}: {size / 1e6:.1f} MB is over the upload limit of {max_bytes / 1e6:.1f} MB "
                         "(server.max_upload_mb)")
    folder.mkdir(parents=True, exist_ok=True)
    target = target_in(folder, name)
    shutil.copyfile(source, target)
    return target


def save_pasted(folder: Path, title: str, text: str, date: str | None, source: str | None) -> Path:
    """Write a pasted article as a one-line articles JSONL file (read by the normal ingest)."""
    if not text.strip():
        raise InputError("the article text is empty; paste the text of an article")
    if date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date.strip()):
        raise InputError(f"date {date!r} is not YYYY-MM-DD")
    row = {"title": title.strip() or None, "text": text, "date": (date or "").strip() or None,
           "source": (source or "").strip() or None}
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    row["id"] = f"pasted-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    path = target_in(folder, f"pasted-{digest}.jsonl")
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    return path

"""Where uploaded and pasted articles are kept, under names that cannot escape the folder.

An upload keeps its file name (the article id is derived from it, as for ``qa index``), reduced
to letters, digits, ``.``, ``-`` and ``_``: no separators, no ``..``, no hidden files, bounded
length. The resolved target is checked to lie inside the upload folder all the same. The folder
as a whole has a size cap (``server.upload_dir_max_mb``): an upload that would pass it is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

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


def folder_bytes(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def check_room(folder: Path, incoming: int, cap: int) -> None:
    """Refuse ``incoming`` bytes when the folder would pass its cap (callers hold the write lock)."""
    used = folder_bytes(folder)
    if used + incoming > cap:
        raise InputError(f"the upload folder is full ({used / 1e6:.1f} of {cap / 1e6:.1f} MB used; "
                         "server.upload_dir_max_mb): remove articles or raise the cap")


def _check_type(name: str) -> str:
    suffix = Path(safe_name(name)).suffix
    if suffix not in SUFFIXES:
        raise InputError(f"{name}: unsupported file type {suffix or '(none)'!r}; "
                         f"use one of {', '.join(SUFFIXES)}")
    return suffix


def _too_big(name: str, size: int, max_bytes: int) -> InputError:
    return InputError(f"{name}: {size / 1e6:.1f} MB is over the upload limit of {max_bytes / 1e6:.1f} MB "
                      "(server.max_upload_mb)")


def save_upload(source: Path, name: str, folder: Path, max_bytes: int,
                folder_cap: int | None = None) -> Path:
    """Copy an uploaded temp file into ``folder``; refuse wrong types and oversize files."""
    _check_type(name)
    size = source.stat().st_size
    if size > max_bytes:
        raise _too_big(name, size, max_bytes)
    if folder_cap is not None:
        check_room(folder, size, folder_cap)
    folder.mkdir(parents=True, exist_ok=True)
    target = target_in(folder, name)
    shutil.copyfile(source, target)
    return target


def save_stream(stream: BinaryIO, name: str, folder: Path, max_bytes: int, folder_cap: int) -> Path:
    """Like ``save_upload`` for a file object of unknown size (an HTTP multipart part)."""
    _check_type(name)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_big(name, len(data), max_bytes)
    check_room(folder, len(data), folder_cap)
    folder.mkdir(parents=True, exist_ok=True)
    target = target_in(folder, name)
    target.write_bytes(data)
    return target


def save_pasted(folder: Path, title: str, text: str, date: str | None, source: str | None,
                folder_cap: int | None = None) -> Path:
    """Write a pasted article as a one-line articles JSONL file (read by the normal ingest)."""
    row = {"title": title, "text": text, "date": date, "source": source}
    return save_rows(folder, [row], folder_cap, prefix="pasted")


def save_rows(folder: Path, rows: Sequence[Mapping[str, Any]], folder_cap: int | None = None,
              prefix: str = "articles") -> Path:
    """Articles given as fields (title, text, date, source, id, url) as one articles JSONL file."""
    lines = [json.dumps(_row(r, prefix if len(rows) == 1 else None), ensure_ascii=False) for r in rows]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if folder_cap is not None:
        check_room(folder, len(data), folder_cap)
    digest = hashlib.sha256(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    path = target_in(folder, f"{prefix}-{digest}.jsonl")
    path.write_bytes(data)
    return path


def _row(given: Mapping[str, Any], id_prefix: str | None) -> dict[str, Any]:
    text = str(given.get("text") or "")
    if not text.strip():
        raise InputError("the article text is empty; paste the text of an article")
    date = str(given.get("date") or "").strip()
    if date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise InputError(f"date {date!r} is not YYYY-MM-DD")
    row = {"title": str(given.get("title") or "").strip() or None, "text": text, "date": date or None,
           "source": str(given.get("source") or "").strip() or None}
    if given.get("url"):
        row["url"] = str(given["url"])
    if given.get("id"):
        row["id"] = str(given["id"])
    elif id_prefix:  # a pasted article is named after its text, as before
        row["id"] = f"{id_prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"
    return row

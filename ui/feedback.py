"""Thumbs up/down, appended to a JSONL file that is also an eval dataset.

Each row has the eval fields (``id``, ``question``, ``answers``, ``article_id``) plus what was
shown (``model_answer``, ``citations``, ``abstained``, ``mode``) and the ``vote``. ``answers`` is
prefilled from the vote: an up-voted answer's text (markers removed) is taken as gold, an
up-voted abstention as "unanswerable" (``[]``); a down-voted row gets ``[]`` and
``needs_review: true`` until a person writes the right answer in.

The file is bounded: a row over ``limits.feedback_row_kb`` is refused; the file is rotated
(``feedback.jsonl.1`` … ``.N``, ``limits.feedback_files`` kept) when it reaches
``limits.feedback_file_mb``; how many rows one client may add is a rate limit (``ui.limits``).
Appends are whole lines, under a thread lock and an exclusive ``flock`` on a lock file beside it,
so concurrent writers (threads or processes) neither interleave lines nor rotate twice.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qa import InputError, strip_markers

_lock = threading.Lock()


def feedback_row(answer: Mapping[str, Any], vote: str) -> dict[str, Any]:
    if vote not in ("up", "down"):
        raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
    text = str(answer.get("answer", ""))
    abstained = bool(answer.get("abstained"))
    given = answer.get("citations")
    citations = [c for c in given if isinstance(c, dict)] if isinstance(given, list) else []
    gold = [] if (abstained or vote == "down") else [strip_markers(text)]
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    key = f"{created}|{answer.get('question')}|{text}|{vote}"
    return {
        "id": "fb-" + hashlib.sha256(key.encode()).hexdigest()[:12],
        "question": str(answer.get("question", "")),
        "answers": gold,
        "article_id": citations[0].get("article_id") if citations else None,
        "vote": vote,
        "needs_review": vote == "down",
        "model_answer": text,
        "abstained": abstained,
        "citations": citations,
        "mode": answer.get("mode"),
        "created": created,
    }


def record(path: Path, answer: Mapping[str, Any], vote: str, *, max_row_bytes: int = 64 * 1024,
           max_file_bytes: int = 20 << 20, keep: int = 5) -> dict[str, Any]:
    """Append one row; refuse an oversized one; rotate the file first when it is full."""
    row = feedback_row(answer, vote)
    data = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
    if len(data) > max_row_bytes:
        raise InputError(f"the feedback row is {len(data) // 1024} KB; the limit is "
                         f"{max_row_bytes // 1024} KB (limits.feedback_row_kb)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the lock file is closed
        size = path.stat().st_size if path.exists() else 0
        if size and size + len(data) > max_file_bytes:
            rotate(path, keep)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    return row


def rotate(path: Path, keep: int) -> None:
    """feedback.jsonl -> .1 -> .2 …; the oldest beyond ``keep`` is deleted."""
    path.with_name(f"{path.name}.{keep}").unlink(missing_ok=True)
    for n in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{n + 1}"))
    path.replace(path.with_name(f"{path.name}.1"))

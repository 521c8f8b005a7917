"""Thumbs up/down, appended to a JSONL file that is also an eval dataset.

Each row has the eval fields (``id``, ``question``, ``answers``, ``article_id``) plus what was
shown (``model_answer``, ``citations``, ``abstained``, ``mode``) and the ``vote``. ``answers`` is
prefilled from the vote: an up-voted answer's text (markers removed) is taken as gold, an
up-voted abstention as "unanswerable" (``[]``); a down-voted row gets ``[]`` and
``needs_review: true`` until a person writes the right answer in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qa import strip_markers

_lock = threading.Lock()


def feedback_row(answer: Mapping[str, Any], vote: str) -> dict[str, Any]:
    if vote not in ("up", "down"):
        raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
    text = str(answer.get("answer", ""))
    abstained = bool(answer.get("abstained"))
    citations = list(answer.get("citations") or [])
    gold = [] if (abstained or vote == "down") else [strip_markers(text)]
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    key = f"{created}|{answer.get('question')}|{text}|{vote}"
    return {
        "id": "fb-" + hashlib.sha256(key.encode()).hexdigest()[:12],
        "question": str(answer.get("question", "")),
        "answers": gold,
        "article_id": citations[0]["article_id"] if citations else None,
        "vote": vote,
        "needs_review": vote == "down",
        "model_answer": text,
        "abstained": abstained,
        "citations": citations,
        "mode": answer.get("mode"),
        "created": created,
    }


def record(path: Path, answer: Mapping[str, Any], vote: str) -> dict[str, Any]:
    row = feedback_row(answer, vote)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return row

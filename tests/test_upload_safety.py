"""Uploads cannot write outside their folder: any name (hypothesis), and a planted symlink."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa import InputError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ui") is None, reason="ui/ is not in this tree")

PARTS = ["..", ".", "/", "\\", "~", "etc", "passwd", ".txt", ".md", ".html", ".jsonl", "\x00", ":", "C:",
         "%2e%2e", "\u2025", "\uff0e\uff0e", "\u2215", " ", "a", "ü", "\n"]
names = st.one_of(st.text(max_size=300), st.lists(st.sampled_from(PARTS), max_size=30).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
def test_any_name_lands_inside_the_folder(tmp_path: Path, name: str) -> None:
    from ui import files

    folder = tmp_path / "uploads"
    folder.mkdir(exist_ok=True)
    source = tmp_path / "source.txt"
    source.write_text("Title\n\nBody.")
    before = {p for p in tmp_path.rglob("*")}
    try:
        saved = files.save_upload(source, name, folder, max_bytes=1000)
    except InputError:
        assert {p for p in tmp_path.rglob("*")} == before  # refused: nothing written anywhere
        return
    assert saved.parent == folder.resolve() and saved.read_text() == "Title\n\nBody."
    assert {p for p in tmp_path.rglob("*")} - before <= {saved}
    saved.unlink()


def test_a_planted_symlink_cannot_redirect_an_upload(tmp_path: Path) -> None:
    from ui import files

    folder, outside = tmp_path / "uploads", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("precious")
    (folder / "news.txt").symlink_to(victim)
    source = tmp_path / "source.txt"
    source.write_text("Title\n\nBody.")
    with pytest.raises(InputError):
        files.save_upload(source, "news.txt", folder, max_bytes=1000)
    assert victim.read_text() == "precious"

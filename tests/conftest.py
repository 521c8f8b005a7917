"""Shared fixtures. Unit tests use FakeEmbedder (deterministic, no model); tests marked
``integration`` load the packaged MiniLM once per session."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from qa import FakeEmbedder, Settings, index_paths, load_settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ARTICLE = SEEDS / "uk-urges-coalition-ukraine-planning.txt"
SEED_ID = "uk-urges-coalition-ukraine-planning"


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder(name="fake-hash")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(index={"dir": tmp_path / "index"}, embedding={"model": "fake-hash"})


@pytest.fixture
def seed_index(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    """The seed article indexed with the fake embedder; returns the settings pointing at it."""
    report = index_paths([SEED_ARTICLE], settings, embedder=fake_embedder)
    assert report.indexed == [SEED_ID]
    return settings


@pytest.fixture(scope="session")
def real_seed_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The seed article indexed with the real packaged model, once per session."""
    directory = tmp_path_factory.mktemp("real") / "index"
    settings = load_settings(index={"dir": directory})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index_paths([SEED_ARTICLE], settings)
    return settings


@pytest.fixture(scope="session")
def real_assistant(real_seed_index: Settings):
    from qa import Assistant

    return Assistant(real_seed_index).warm_up()


def copy_seed(tmp_path: Path) -> Path:
    target = tmp_path / "articles"
    target.mkdir()
    shutil.copy(SEED_ARTICLE, target)
    return target

"""`qa index --ray`: the Ray Data pipeline on a local cluster writes what the in-process indexer
writes, into either backend; unchanged articles are skipped and unreadable files reported."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa import FakeEmbedder, InputError, Settings, index_paths, load_settings
from qa.store.protocol import open_store
from qa.store.ray_indexer import index_paths_ray
from tests.conftest import SEED_ARTICLE, SEED_ID

EXTRA = {
    "harbour.txt": ("Harbour bridge reopens\n\nThe harbour bridge reopened on Monday. "
                    "The mayor cut the ribbon."),
    "orchard.md": "# Orchard harvest doubles\n\nApple growers reported a record harvest. Cider prices fell.",
}


# A local Ray cluster takes 15-30 s to start and each actor imports torch: slow, so run with the
# integration tests (CI runs them all).
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ray_cluster():
    """One small local cluster for the module, offline (no dashboard, no usage stats)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray

    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(SEED_ARTICLE, folder)
    for name, text in EXTRA.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def snapshot_of(settings: Settings) -> dict:
    """Every article with its sentences, sentence vectors and chunks, as stored."""
    store = open_store(settings)
    out = {}
    try:
        with store.snapshot() as reader:
            for row in store.articles():
                article = reader.article(row["id"])
                assert article is not None
                stored = reader.sentences(article, 0, 10_000)
                out[article.id] = (article, [s.sentence for s in stored],
                                   np.vstack([s.vector for s in stored]), [s.parse for s in stored])
    finally:
        store.close()
    return out


def test_ray_ingest_stores_what_the_in_process_indexer_stores(ray_cluster, articles, tmp_path,
                                                             backend_settings):
    reference = load_settings(index={"dir": tmp_path / "reference"}, embedding={"model": "fake-hash"})
    index_paths([articles], reference, embedder=FakeEmbedder(name="fake-hash"))

    report = index_paths_ray([articles], backend_settings, workers=2)
    expected, got = snapshot_of(reference), snapshot_of(backend_settings)
    assert len(expected) == 3 and SEED_ID in expected
    assert sorted(report.indexed) == sorted(expected) == sorted(got)
    assert report.errors == []
    for article_id, (article, sentences, vectors, parses) in expected.items():
        assert got[article_id][0] == article
        assert got[article_id][1] == sentences
        np.testing.assert_allclose(got[article_id][2], vectors, rtol=1e-6)
        assert got[article_id][3] == parses and None not in parses  # the workers' parses, carried

    again = index_paths_ray([articles], backend_settings, workers=1)
    assert again.indexed == [] and again.errors == []


def test_more_workers_than_the_cluster_can_run_is_a_clear_error(ray_cluster, articles, backend_settings):
    with pytest.raises(InputError, match="at most --workers 2"):
        index_paths_ray([articles], backend_settings, workers=3)


def test_an_unreadable_file_is_reported_and_the_rest_indexed(ray_cluster, articles, backend_settings):
    (articles / "broken.html").write_bytes(b"\x00\x01\x02 binary \xff\xfe")
    report = index_paths_ray([articles], backend_settings, workers=1)
    assert len(report.indexed) == 3
    assert len(report.errors) == 1 and "broken.html" in report.errors[0]


def test_ray_ingest_with_the_real_encoder_matches_the_in_process_vectors(ray_cluster, tmp_path,
                                                                         real_seed_index):
    settings = load_settings(index={"dir": tmp_path / "index"})
    report = index_paths_ray([SEED_ARTICLE], settings, workers=1)
    assert report.indexed == [SEED_ID]
    got, expected = snapshot_of(settings)[SEED_ID], snapshot_of(real_seed_index)[SEED_ID]
    assert got[1] == expected[1]
    cosines = np.sum(got[2] * expected[2], axis=1)
    assert cosines.min() > 0.9999

"""embedding.variant: the setting, how ``auto`` resolves, what the index records, and (integration)
that bf16 vectors stay within cosine 0.99 of fp32's on real sentences."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from click.testing import CliRunner

from qa import Assistant, ConfigError, FakeEmbedder, Index, index_articles, index_paths, load_settings
from qa.cli import main
from qa.config import EmbeddingSettings

from .conftest import SEED_ARTICLE
from .test_store import article


def test_variant_setting_accepts_the_offered_variants_only(monkeypatch) -> None:
    assert load_settings().embedding.variant == "auto"
    assert load_settings(embedding={"variant": "fp32"}).embedding.variant == "fp32"
    monkeypatch.setenv("QA_EMBEDDING__VARIANT", "int8")
    with pytest.raises(ConfigError, match=r"embedding\.variant \[QA_EMBEDDING__VARIANT\]"):
        load_settings()


@pytest.mark.parametrize(("variant", "device", "native", "expected"), [
    ("auto", "cpu", True, "bf16"),
    ("auto", "cpu", False, "fp32"),  # emulated bfloat16 is slower than fp32
    ("auto", "cuda", True, "fp32"),
    ("fp32", "cpu", True, "fp32"),
    ("bf16", "cpu", False, "bf16"),  # asked for explicitly
])
def test_auto_is_bf16_only_on_a_cpu_with_native_bfloat16(monkeypatch, variant, device, native,
                                                         expected) -> None:
    from qa import embeddings

    monkeypatch.setattr(embeddings, "native_bf16", lambda: native)
    settings = EmbeddingSettings(variant=variant, device=device)
    assert embeddings.resolve_variant(settings) == expected
    assert embeddings.SentenceTransformerEmbedder(settings).variant == expected  # loads no model


def test_vectors_are_float32_and_unit_length_whatever_the_model_returns() -> None:
    from qa.embeddings import SentenceTransformerEmbedder

    class Model:  # a bf16 model's rows, cast to float32 but normalised in bfloat16 (or not at all)
        def encode(self, texts, **kwargs):
            return np.tile(np.array([3.0, 4.0, 0.0, 0.0], dtype=np.float32), (len(texts), 1))

    embedder = SentenceTransformerEmbedder(EmbeddingSettings(variant="bf16"))
    embedder._model, embedder._dim = Model(), 4
    out = embedder.encode(["one", "two"])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8, 0.0, 0.0]] * 2, rtol=1e-6)


def test_index_records_each_variant_that_wrote_and_any_variant_reads(settings) -> None:
    index_articles([article("a1", "The first article says one thing.")], settings,
                   embedder=FakeEmbedder(variant="bf16"))
    assert Index.open(settings).info()["encoder_variant"] == "bf16"
    index_articles([article("a2", "The second article says another.")], settings,
                   embedder=FakeEmbedder(variant="fp32"))
    index_articles([article("a3", "A third one, by bf16 again.")], settings,
                   embedder=FakeEmbedder(variant="bf16"))
    info = Index.open(settings).info()
    assert info["articles"] == 3 and info["encoder_variant"] == "bf16,fp32"
    reader = Assistant(settings, embedder=FakeEmbedder(variant="fp32"))
    docs = reader.retriever.invoke("What does the first article say?", k=1)
    assert [d.metadata["article_id"] for d in docs] == ["a1"]


def test_removing_articles_records_no_variant(settings) -> None:
    from qa import remove_articles

    index_articles([article("a1", "One article here."), article("a2", "Another one there.")], settings,
                   embedder=FakeEmbedder(variant="bf16"))
    remove_articles(["a2"], settings)
    assert Index.open(settings).info()["encoder_variant"] == "bf16"


def test_an_index_from_before_variants_were_recorded_is_fp32(settings) -> None:
    index_paths([SEED_ARTICLE], settings, embedder=FakeEmbedder())
    with sqlite3.connect(settings.index.dir / "qa.sqlite") as con:
        con.execute("DELETE FROM meta WHERE key = 'encoder_variant'")
    con.close()
    assert Index.open(settings).info()["encoder_variant"] == "fp32"
    index_articles([article("a1", "Added later by bf16.")], settings, embedder=FakeEmbedder(variant="bf16"))
    assert Index.open(settings).info()["encoder_variant"] == "fp32,bf16"


def test_qa_info_shows_the_variant_from_the_setting(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("QA_EMBEDDING__MODEL", "fake-hash")
    monkeypatch.setenv("QA_EMBEDDING__VARIANT", "bf16")
    runner, idx = CliRunner(), str(tmp_path / "idx")
    assert runner.invoke(main, ["index", str(SEED_ARTICLE), "--index-dir", idx]).exit_code == 0
    result = runner.invoke(main, ["info", "--index-dir", idx])
    assert result.exit_code == 0 and "encoder variant: bf16" in result.output
    monkeypatch.setenv("QA_EMBEDDING__VARIANT", "fp32")  # another variant reads it: no error
    result = runner.invoke(main, ["ask", "How many military planners?", "--index-dir", idx])
    assert result.exit_code == 0 and "[1]" in result.output


@pytest.mark.integration
def test_bf16_vectors_are_within_cosine_0_99_of_fp32_on_real_sentences() -> None:
    from qa import read_articles
    from qa.embeddings import SentenceTransformerEmbedder, resolve_variant
    from qa.ingest.chunking import article_sentences

    texts = [s.text for a in read_articles(SEED_ARTICLE) for s in article_sentences(a)][:24]
    assert len(texts) >= 10
    fp32 = SentenceTransformerEmbedder(EmbeddingSettings(variant="fp32")).encode(texts)
    chosen = {"bf16", resolve_variant(EmbeddingSettings())}  # bf16, and the default here
    for variant in chosen:
        vectors = SentenceTransformerEmbedder(EmbeddingSettings(variant=variant)).encode(texts)
        cosine = np.einsum("ij,ij->i", vectors, fp32)
        assert cosine.min() >= 0.99, (variant, cosine.min())
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
        if variant == "bf16":
            assert np.abs(vectors - fp32).max() > 1e-4  # it really ran in bfloat16

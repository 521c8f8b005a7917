import numpy as np
import pytest
from langchain_core.documents import Document

from qa import Assistant, index_articles
from qa.retrieve import rrf_fuse

from .test_store import article


def test_rrf_hand_computed() -> None:
    fused = rrf_fuse([[1, 2, 3], [3, 1]], rrf_k=60)
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)
    assert [i for i, _ in fused] == [1, 3, 2]


def test_retriever_returns_documents_with_citation_metadata(seed_index, fake_embedder) -> None:
    assistant = Assistant(seed_index, embedder=fake_embedder)
    docs = assistant.retriever.invoke("Who chaired the meeting?")
    assert docs and all(isinstance(d, Document) for d in docs)
    meta = docs[0].metadata
    for key in ("chunk_id", "article_id", "title", "first_sentence", "last_sentence", "score"):
        assert key in meta
    assert any("chaired" in d.page_content for d in docs)
    assert len(assistant.retriever.invoke("meeting", k=2)) == 2


def test_source_and_date_filters(settings, fake_embedder) -> None:
    index_articles([
        article("a", "The mayor opened the bridge.", source="Wire", date="2025-01-10"),
        article("b", "The mayor closed the bridge.", source="Daily", date="2025-03-01"),
    ], settings, embedder=fake_embedder)
    assistant = Assistant(settings, embedder=fake_embedder)

    def ids(**filters):
        return {d.metadata["article_id"] for d in assistant.retriever.invoke("mayor bridge", filters=filters)}

    assert ids() == {"a", "b"}
    assert ids(source="Daily") == {"b"}
    assert ids(date_from="2025-02-01") == {"b"}
    assert ids(date_to="2025-01-10") == {"a"}
    assert ids(source="Nobody") == set()


def test_small_inputs_are_encoded_on_query_threads_and_batches_on_torchs() -> None:
    import torch

    from qa.config import EmbeddingSettings
    from qa.embeddings import SMALL_INPUT, SentenceTransformerEmbedder

    class RecordingModel:
        """Stands in for the SentenceTransformer: records torch's thread count per call."""

        def __init__(self) -> None:
            self.threads: list[int] = []

        def encode(self, texts, **kwargs):
            self.threads.append(torch.get_num_threads())
            return np.zeros((len(texts), 4), dtype=np.float32)

    before = torch.get_num_threads()
    embedder = SentenceTransformerEmbedder(EmbeddingSettings(query_threads=1))
    embedder._model, embedder._dim = RecordingModel(), 4
    embedder.encode(["one question"])
    embedder.encode(["sentence"] * (SMALL_INPUT + 1))
    assert embedder._model.threads == [1, before]
    assert torch.get_num_threads() == before  # restored after the call

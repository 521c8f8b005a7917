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


def test_assistant_sets_query_threads_on_the_embedder(seed_index) -> None:
    from qa import FakeEmbedder

    class ThreadAware(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__(name="fake-hash")
            self.threads: list[int] = []

        def use_threads(self, n: int) -> None:
            self.threads.append(n)

    seed_index.embedding.query_threads = 1
    embedder = ThreadAware()
    Assistant(seed_index, embedder=embedder)
    assert embedder.threads == [1]

"""Side by side with the plain LangChain recipe a user would otherwise write.

The recipe, as in LangChain's documentation: ``RecursiveCharacterTextSplitter`` (chunk_size=1000,
chunk_overlap=200), ``HuggingFaceEmbeddings`` with the same packaged all-MiniLM-L6-v2
(normalised), and ``langchain_community.vectorstores.FAISS``, retrieving the top 5 by similarity.
Both sides get the same article texts (the cleaned text ``qa`` stores).

- Ingest time on the generated corpus: both sides index the same parts in turn (alternating which
  goes first), so that both see the same load on a shared machine; model loading is excluded.
- Retrieval recall@5 on the seed eval set and the XQuAD sample: the share of answerable questions
  with a gold answer inside one of the top 5 chunks of the right article (``qa.eval.metrics``, as
  ``qa eval`` computes it). ``qa``'s side is its hybrid retriever (FAISS + BM25, fused).

``langchain-community`` is sunset and the product does not depend on it: it is only in the
``bench`` extra (``pip install -e '.[bench]'``).

    python -m benchmarks.langchain_baseline             # 500 articles for ingest, both eval sets
    python -m benchmarks.langchain_baseline --quick     # a smoke run (fake embedder on qa's side)
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from benchmarks import corpus
from benchmarks.common import (
    REAL_MODEL,
    ROOT,
    SEED_EVAL,
    XQUAD,
    print_table,
    quiet,
    scratch,
    settings_for,
    write_json,
)

CHUNK_SIZE, CHUNK_OVERLAP, K = 1000, 200, 5


class LangChainRecipe:
    def __init__(self, model_path: str) -> None:
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
        self.embeddings = HuggingFaceEmbeddings(model_name=model_path, model_kwargs={"device": "cpu"},
                                                encode_kwargs={"normalize_embeddings": True})
        self.embeddings.embed_query("warm up")
        self.store = None

    def add(self, articles: list[dict]) -> None:
        from langchain_community.vectorstores import FAISS

        docs = self.splitter.create_documents([a["text"] for a in articles],
                                              metadatas=[{"article_id": a["id"]} for a in articles])
        if self.store is None:
            self.store = FAISS.from_documents(docs, self.embeddings)
        else:
            self.store.add_documents(docs)

    def retrieve(self, question: str) -> list[tuple[str, str]]:
        assert self.store is not None
        return [(d.metadata["article_id"], d.page_content)
                for d in self.store.similarity_search(question, k=K)]


def cleaned(rows: list[dict], work: Path, name: str) -> tuple[Path, list[dict]]:
    """Write rows as articles JSONL and read them back through qa's reader: both sides index this."""
    from qa import read_articles

    path = corpus.write_jsonl(rows, work / f"{name}.jsonl")
    return path, [{"id": a.id, "title": a.title, "text": a.text} for a in read_articles(path)]


def ingest_race(lc: LangChainRecipe, model: str, articles: int, parts: int, work: Path) -> dict:
    from qa import index_paths

    rows = corpus.generate(articles, seed=11)
    size = -(-articles // parts)
    settings = settings_for(work / "race-index", model)
    times = {"qa": 0.0, "langchain": 0.0}
    for n, start in enumerate(range(0, articles, size)):
        path, texts = cleaned(rows[start : start + size], work, f"race{n}")
        order = ("qa", "langchain") if n % 2 == 0 else ("langchain", "qa")
        for side in order:
            started = time.perf_counter()
            if side == "qa":
                index_paths([path], settings)
            else:
                lc.add(texts)
            times[side] += time.perf_counter() - started
    return times


def eval_recall(dataset: Path, lc_model: str, model: str, work: Path, name: str) -> dict:
    from qa import Assistant, index_paths
    from qa.eval.metrics import first_relevant_rank, recall_at_k
    from qa.eval.runner import load_dataset

    items = [i for i in load_dataset(dataset) if i.answerable]
    articles: dict[str, dict] = {}
    for item in items:
        if item.article_text:
            articles.setdefault(item.article_id, {"id": item.article_id, "title": item.article_title
                                                  or item.article_id, "text": item.article_text})
    if not articles:  # the seed eval set asks about the shipped articles
        from qa import read_articles

        articles = {a.id: {"id": a.id, "title": a.title, "text": a.text}
                    for p in sorted((ROOT / "seeds").glob("*.txt")) for a in read_articles(p)}
    path, texts = cleaned(list(articles.values()), work, name)
    settings = settings_for(work / f"{name}-index", model)
    index_paths([path], settings)
    assistant = Assistant(settings)
    lc = LangChainRecipe(lc_model)
    lc.add(texts)
    ranks: dict[str, list] = defaultdict(list)
    for item in items:
        ours = [(d.metadata["article_id"], d.page_content)
                for d in assistant.retriever.invoke(item.question, k=K)]
        theirs = lc.retrieve(item.question)
        ranks["qa"].append(first_relevant_rank(ours, item.answers, item.article_id))
        ranks["langchain"].append(first_relevant_rank(theirs, item.answers, item.article_id))
    return {"questions": len(items), "articles": len(texts),
            **{side: recall_at_k(r, K) for side, r in ranks.items()}}


def run(args: argparse.Namespace) -> dict:
    quiet()
    from qa.embeddings import packaged_model_path

    lc_model = packaged_model_path(REAL_MODEL)
    work = scratch("qa-bench-langchain-")
    lc = LangChainRecipe(lc_model)
    times = ingest_race(lc, args.model, args.articles, args.parts, work)
    figures: dict = {"model": args.model, "articles": args.articles, "ingest_seconds": times,
                     "ingest_ratio_langchain_over_qa": times["langchain"] / times["qa"]}
    rows = [["ingest seconds", f"{args.articles} articles", times["qa"], times["langchain"],
             f"{times['langchain'] / times['qa']:.2f}"]]
    for name, dataset in (("seed eval set", args.seed_eval), ("XQuAD sample", args.xquad)):
        if not dataset.is_file():
            print(f"skipped {name}: {dataset} is missing")
            continue
        result = eval_recall(dataset, lc_model, args.model, work, name.split()[0].lower())
        figures[name] = result
        ratio = result["qa"] / result["langchain"] if result["langchain"] else float("inf")
        rows.append([f"recall@{K}, {name}", f"{result['questions']} questions", result["qa"],
                     result["langchain"], f"{ratio:.2f}"])
    print_table(f"qa vs the LangChain recipe (splitter {CHUNK_SIZE}/{CHUNK_OVERLAP}, same model, "
                f"qa embeds with {args.model})", rows,
                ["", "on", "qa", "LangChain", "ratio (LC/qa time, qa/LC recall)"])
    write_json(args.json, figures)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=REAL_MODEL, help="qa's embedding model")
    parser.add_argument("--articles", type=int, default=500, help="generated articles for the ingest race")
    parser.add_argument("--parts", type=int, default=4)
    parser.add_argument("--seed-eval", type=Path, default=SEED_EVAL)
    parser.add_argument("--xquad", type=Path, default=XQUAD)
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.model = "fake-hash" if args.model == REAL_MODEL else args.model
        args.articles, args.parts = 10, 2
    run(args)


if __name__ == "__main__":
    main()

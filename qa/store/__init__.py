"""Storage: the index directory (SQLite rows + FAISS vectors) and the indexer that writes it."""

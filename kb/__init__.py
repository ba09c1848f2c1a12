"""Storage and indexing: SQLite entries, embeddings cache, FAISS + BM25 index."""

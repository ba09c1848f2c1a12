"""BM25 over pre-tokenised documents, stored as one sparse matrix of term weights.

Weights are precomputed per (document, term), so scoring a query is a sum of a few
sparse columns. The matrix is rebuilt from the stored tokens after an edit: that is
milliseconds per thousand documents and needs no re-segmentation or embedding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import sparse


class BM25:
    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        self.weights = sparse.csc_matrix((0, 0), dtype=np.float32)

    @property
    def n_docs(self) -> int:
        return self.weights.shape[0]

    def build(self, docs: list[list[str]]) -> "BM25":
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        for d, tokens in enumerate(docs):
            counts: dict[int, int] = {}
            for tok in tokens:
                t = vocab.setdefault(tok, len(vocab))
                counts[t] = counts.get(t, 0) + 1
            rows.extend([d] * len(counts))
            cols.extend(counts)
            tfs.extend(counts.values())
        n = len(docs)
        tf = np.asarray(tfs, dtype=np.float32)
        rows_a = np.asarray(rows, dtype=np.int64)
        cols_a = np.asarray(cols, dtype=np.int64)
        lengths = np.asarray([len(t) for t in docs], dtype=np.float32)
        avg = float(lengths.mean()) if n else 1.0
        df = np.bincount(cols_a, minlength=len(vocab)).astype(np.float32)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        norm = self.k1 * (1 - self.b + self.b * lengths[rows_a] / max(avg, 1e-6))
        w = idf[cols_a] * tf * (self.k1 + 1) / (tf + norm)
        self.vocab = vocab
        self.weights = sparse.csc_matrix((w, (rows_a, cols_a)), shape=(n, len(vocab)), dtype=np.float32)
        return self

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for the query tokens (repeated tokens count once)."""
        cols = sorted({self.vocab[t] for t in tokens if t in self.vocab})
        if not cols or not self.n_docs:
            return np.zeros(self.n_docs, dtype=np.float32)
        # What .sum(axis=1) computes (scipy multiplies by a column of ones, adding in column
        # order), without its matrix wrapping: ~0.1 ms less per search at 40k rows.
        return self.weights[:, cols] @ np.ones(len(cols), dtype=self.weights.dtype)

    def save(self, path: Path) -> None:
        terms = np.array(sorted(self.vocab, key=self.vocab.get), dtype=object)
        w = self.weights
        with open(path, "wb") as fh:
            np.savez(fh, data=w.data, indices=w.indices, indptr=w.indptr,
                     shape=np.array(w.shape), terms=np.array(terms.tolist(), dtype=str),
                     params=np.array([self.k1, self.b]))

    @classmethod
    def load(cls, path: Path) -> "BM25":
        z = np.load(path, allow_pickle=False)
        k1, b = z["params"].tolist()
        bm = cls(k1, b)
        bm.weights = sparse.csc_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        bm.vocab = {t: i for i, t in enumerate(z["terms"].tolist())}
        return bm

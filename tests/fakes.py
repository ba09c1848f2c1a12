"""A small deterministic embedder for unit tests: hashed character n-grams, no model."""

from __future__ import annotations

import hashlib

import numpy as np


class FakeEmbedder:
    """Bag of character uni/bi-grams hashed into `dim` buckets; counts every text it encodes."""

    def __init__(self, id: str = "fake", dim: int = 64):
        self.id = id
        self.dim = dim
        self.encoded: list[str] = []

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        grams = list(text) + [text[i:i + 2] for i in range(len(text) - 1)]
        for g in grams:
            h = int.from_bytes(hashlib.md5(g.encode()).digest()[:4], "little")
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

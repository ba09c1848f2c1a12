"""Confidence for any set of models: their cosines put on the scale the curve was tuned on.

`Fusion`'s weights and confidence curve were tuned for one set of models, the reference
set (use-m3 and e5-small-q4): the curve reads 0.5·USE + 2.0·e5 + 0.1·BM25. Each model
has its own cosine scale (e5 puts unrelated phrasings at 0.85, USE at 0.24), so with
other models the tuned numbers mean nothing: before this module, a USE-only or a
sentence-transformers knowledge base never matched, not even a stored question.

The rule, for a model set other than the reference set (a fine-tuned model counts as
the model it replaces):
1. The reference scale is that of the reference set's dense score, the weighted mean
   cosine D = (0.5·USE + 2.0·e5) / 2.5. The curve reads 2.5·D + 0.1·BM25.
2. Each configured model's cosine c becomes a·c + b on that scale, fitted on the
   knowledge base itself: sampled pairs of phrasings of the same entry and of different
   entries give per model the two group means and their pooled standard deviation
   (`Anchors`). The slope makes a cosine difference carry as much evidence as on the
   reference scale (group gap over variance, as in linear discriminant analysis); the
   offset puts the point halfway between the groups onto the reference's halfway point.
   A model that separates the entries poorly gets a flat mapping: its scores stay near
   that halfway point, which the curve reads as a no-match, instead of falsely certain.
3. D is the mean of the mapped cosines weighted by each model's separation d′ (group gap
   over pooled deviation), so a model that cannot tell entries apart does not dilute
   one that can.
4. The reference scale's own anchors are measured on the same pairs when the reference
   models are all configured, else taken from the shipped corpus (`REFERENCE`). A
   knowledge base with fewer than `MIN_PAIRS` same-entry pairs uses the shipped anchors
   of a built-in model, and the cosines as they are for any other.

Only the confidence (and so the no-match flag) reads this scale; ranking keeps the fused
score. The reference set itself is left exactly as tuned. Sampling is bounded (`SAMPLE`
pairs of each kind, vectors read back from the exact FAISS index) and the retriever
caches the result per index content: about 35 ms once at 100k entries of 4 phrasings.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

SAMPLE = 2_000  # pairs of each kind drawn per calibration
MIN_PAIRS = 10  # distinct same-entry pairs a knowledge base needs to be measured
# A spread under this (cosine units) is taken as this: a few near-identical pairs must not
# make a model look infinitely sure. The narrowest real one, e5's, is 0.027.
MIN_SPREAD = 0.01


@dataclass(frozen=True)
class Anchors:
    """Where a score puts phrasing pairs of one entry and of different entries."""
    same: float  # mean over same-entry pairs
    other: float  # mean over different-entry pairs
    spread: float  # pooled within-group standard deviation

    @property
    def separation(self) -> float:
        """d′: the gap between the groups in pooled standard deviations."""
        return (self.same - self.other) / max(self.spread, MIN_SPREAD)

    def onto(self, ref: "Anchors") -> tuple[float, float]:
        """(a, b): a·score + b is on `ref`'s scale, with the same evidence per unit
        (gap / variance) and the midpoint between the groups kept; a ≥ 0."""
        per_unit = (self.same - self.other) / max(self.spread, MIN_SPREAD) ** 2
        ref_per_unit = (ref.same - ref.other) / max(ref.spread, MIN_SPREAD) ** 2
        a = max(per_unit / ref_per_unit, 0.0) if ref_per_unit > 0 else 0.0
        b = (ref.same + ref.other) / 2 - a * (self.same + self.other) / 2
        return a, b


# Measured by `measure` on the shipped corpus (corpus/entries.jsonl, 238 entries);
# tests/test_integration.py checks them against the real models.
REFERENCE = Anchors(0.8270, 0.7260, 0.0458)  # (0.5·use-m3 + 2.0·e5-small-q4) / 2.5
BUILTIN = {"use-m3": Anchors(0.5140, 0.2320, 0.1432), "e5-small-q4": Anchors(0.9053, 0.8495, 0.0264)}


@dataclass(frozen=True)
class Scale:
    """The dense part the confidence curve reads: Σ weights[m]·cosine_m + offset."""
    weights: dict[str, float]
    offset: float


def sample_pairs(index, n: int = SAMPLE, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """(same, other): (k, 2) arrays of vector ids of phrasing pairs of one entry and of two
    entries, or None when the index has fewer than MIN_PAIRS distinct same-entry pairs.

    Entries are taken in id order and prototype rows left out, so the same content gives
    the same pairs however the index was built."""
    entries = sorted(index.by_entry)
    counts = np.fromiter((len(index.by_entry[e]) for e in entries), dtype=np.int64, count=len(entries))
    for e in index.prototypes:
        counts[bisect.bisect_left(entries, e)] -= 1
    if len(entries) < 2 or int((counts * (counts - 1) // 2).sum()) < MIN_PAIRS:
        return None
    rng = np.random.default_rng(seed)
    several = np.flatnonzero(counts >= 2)
    pick = several[rng.integers(len(several), size=n)]
    i = rng.integers(counts[pick])
    j = rng.integers(counts[pick] - 1)
    j += j >= i
    same = [(index.by_entry[entries[e]][x], index.by_entry[entries[e]][y]) for e, x, y in zip(pick, i, j)]
    some = np.flatnonzero(counts >= 1)
    e1, e2 = some[rng.integers(len(some), size=n)], some[rng.integers(len(some), size=n)]
    x, y = rng.integers(counts[e1]), rng.integers(counts[e2])
    other = [(index.by_entry[entries[a]][p], index.by_entry[entries[b]][q])
             for a, b, p, q in zip(e1, e2, x, y) if a != b]
    return np.asarray(same, dtype=np.int64), np.asarray(other, dtype=np.int64)


def pair_cosines(index, model: str, pairs: np.ndarray) -> np.ndarray:
    flat = index.dense[model]
    return (flat.reconstruct_batch(pairs[:, 0]) * flat.reconstruct_batch(pairs[:, 1])).sum(axis=1)


def anchors(same: np.ndarray, other: np.ndarray) -> Anchors:
    """The anchors of one score from its values on same-entry and different-entry pairs."""
    spread = float(np.sqrt((same.var() + other.var()) / 2))
    return Anchors(float(same.mean()), float(other.mean()), spread)


def measure(index, models: list[str], weights: dict[str, float],
            maps: dict[str, tuple[float, float]] | None = None) -> dict[str, Anchors]:
    """Anchors of each of `models` on `index`, plus "reference" when the models named in
    `weights` are all among them ({} when the index has too few pairs). `maps` holds the
    [a, b] of models whose scores are a·cosine + b (fine-tuned: see Retriever.calibration)."""
    pairs = sample_pairs(index)
    if pairs is None:
        return {}
    maps = maps or {}
    cos = {m: [pair_cosines(index, m, p) for p in pairs] for m in models}
    out = {m: anchors(*[maps[m][0] * c + maps[m][1] for c in cos[m]] if m in maps else cos[m]) for m in models}
    if weights and set(weights) <= set(models) and sum(weights.values()) > 0:
        total = sum(weights.values())
        out["reference"] = anchors(*[sum(w * cos[m][g] for m, w in weights.items()) / total for g in (0, 1)])
    return out


def scale(index, models: list[str], weights: dict[str, float], reference: Anchors | None,
          maps: dict[str, tuple[float, float]] | None = None) -> Scale:
    """The reference-scale dense score of `models` (see the module docstring); `weights`
    are the reference set's dense weights, `reference` its shipped anchors, `maps` as in
    `measure`."""
    measured = measure(index, models, weights, maps)
    ref = measured.get("reference", reference)
    total = sum(weights.values())
    own = {m: measured.get(m, BUILTIN.get(m)) for m in models}
    if ref is None or any(a is None for a in own.values()):
        # Nothing to map with: the cosines count as they are, on the reference's total weight.
        return Scale({m: total / len(models) for m in models}, 0.0)
    onto = {m: a.onto(ref) for m, a in own.items()}
    sep = {m: max(a.separation, 0.0) for m, a in own.items()}
    share = {m: (sep[m] / sum(sep.values()) if sum(sep.values()) > 0 else 1 / len(models)) for m in models}
    return Scale({m: total * share[m] * onto[m][0] for m in models},
                 total * sum(share[m] * onto[m][1] for m in models))

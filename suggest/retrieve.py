"""Hybrid retrieval: dense (one FAISS index per model) + BM25, fused per entry.

How a message is answered:
1. normalise it (half-width, simplified script, tail of an over-long message);
2. gather candidate entries: the nearest phrasings of each dense model and the best
   BM25 phrasings;
3. score every candidate exactly: per model the best cosine over the entry's
   phrasings, and its best BM25 relative to the best candidate's;
4. fuse with a weighted sum, and turn the fused score into a confidence in [0, 1]
   with a logistic curve that also counts the message's content words (greetings
   and chit-chat have few); below 0.5 the result is flagged `no_match`.
The weights and the three numbers of the curve were tuned on ../shared/bench/shop-dev
for the default models, the reference set (see README); `Fusion` takes others. With any
other set of models (one of them alone, a sentence-transformers model, a mix) the curve
reads the candidate's cosines mapped onto the reference set's scale by a calibration
fitted on the knowledge base itself (suggest/calibrate.py); the ranking is the same.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

import numpy as np

from kefu.kb.base import KnowledgeBase
from kefu.kb.entry import in_window
from kefu.kb.errors import EmptyQuery
from kefu.kb.learned import LearnStore
from kefu.kb.text import normalize

from . import calibrate
from .calibrate import REFERENCE, Anchors, Scale
from .learn import Learning, PriorRule

LEXICAL = "bm25"


@dataclass
class Fusion:
    """Weights of each score part, and the logistic curve from fused score to confidence."""
    weights: dict[str, float] = field(default_factory=lambda: {
        "use-m3": 0.5, "e5-small-q4": 2.0, LEXICAL: 0.1})
    default_dense: float = 1.0  # weight of a model not named in `weights`
    slope: float = 9.87
    midpoint: float = 2.290  # fused score at which a one-word message has confidence 0.5
    per_word: float = 0.66  # logit added per content word beyond the first, up to 4 words
    # Where the reference set's dense score (the models named in `weights`) puts phrasing
    # pairs of one entry and of different entries on the shipped corpus: the scale another
    # model set is mapped onto when the reference models are not all configured. Measured
    # for the default weights: a Fusion with other weights gives its own, or None.
    reference: Anchors | None = REFERENCE

    def weight(self, part: str) -> float:
        return self.weights.get(part, self.default_dense)

    def reference_weights(self, embedders) -> dict[str, float]:
        """The dense weights of the models the curve was tuned for (not those a fine-tuned
        model adopted from the model it replaces)."""
        adopted = {m.id for m in embedders if getattr(m, "like", None) in self.weights and m.id != m.like}
        return {p: w for p, w in self.weights.items() if p != LEXICAL and p not in adopted}

    def tuned_for(self, embedders) -> bool:
        """Whether `embedders` are the reference set, a fine-tuned model standing for the one it replaces."""
        ref = self.reference_weights(embedders)
        present = [m.like if getattr(m, "like", None) in ref else m.id for m in embedders]
        return sorted(present) == sorted(ref)

    def adopting(self, embedders) -> "Fusion":
        """A copy in which a fine-tuned model (`like` = the model it replaces) has that model's weight."""
        weights = dict(self.weights)
        for m in embedders:
            like = getattr(m, "like", None)
            if like in weights and m.id not in weights:
                weights[m.id] = weights[like]
        return replace(self, weights=weights)

    def confidence(self, score: float, n_words: int) -> float:
        logit = self.slope * (score - self.midpoint) + self.per_word * (min(n_words, 4) - 1)
        return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


@dataclass
class Hit:
    entry_id: str
    question: str
    answer: str
    category: str
    tags: list[str]
    matched: str  # the phrasing (question or similar question) that matched best
    score: float
    confidence: float
    dense: dict[str, float]
    lexical: float
    prior: float = 0.0  # what use (accepts, rejects, demotion) added to `score` for ranking


@dataclass
class Reference:
    """A passage of an imported document that speaks to the message: quotable, with its source."""
    passage_id: str
    source: str
    section: str
    page: int | None
    text: str
    score: float
    shared: list[str]  # content words of the message that the passage contains


@dataclass
class SearchResult:
    query: str
    normalized: str
    script: str
    no_match: bool
    hits: list[Hit]
    warnings: list[str] = field(default_factory=list)
    took_ms: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)  # per stage, for benchmarks
    references: list[Reference] = field(default_factory=list)  # document passages, never answers

    @property
    def confidence(self) -> float:
        return self.hits[0].confidence if self.hits else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "confidence": self.confidence}


class Retriever:
    """Answers customer messages from a KnowledgeBase; `top_k` hits, `candidates` per channel."""

    def __init__(self, kb: KnowledgeBase, top_k: int = 5, candidates: int = 30,
                 fusion: Fusion | None = None, references: int = 3, prior: PriorRule | None = PriorRule()):
        if top_k <= 0:
            raise ValueError(f"top_k must be greater than 0, got {top_k}")
        if candidates < top_k:
            raise ValueError(f"candidates must be at least top_k ({top_k}), got {candidates}")
        self.kb = kb
        self.top_k = top_k
        self.candidates = candidates
        self.fusion = (fusion or Fusion()).adopting(kb.embedders)
        # A fine-tuned model's cosines, mapped onto the scale of the model it replaces.
        self.calibration = {m.id: m.calibration for m in kb.embedders if getattr(m, "calibration", None)}
        self.references = references  # most passages returned beside the hits
        self.prior = prior  # None: rank on semantics alone
        self._learning: tuple[tuple, Learning] | None = None
        self._scale: tuple[tuple, Scale | None] | None = None

    def warm_up(self) -> None:
        """Pay the one-off costs (index load, its compact copies, jieba dictionary, model
        weights) before timing."""
        index = self.kb.index()
        for m in self.kb.embedders:
            index.searcher(m.id)
        self.kb.segmenter.split("预热")
        for m in self.kb.embedders:
            m.encode_queries(["预热"])

    def search(self, message: str, top_k: int | None = None, now: datetime | None = None) -> SearchResult:
        """The entries that answer `message`, best first; EmptyQuery for a blank message.

        `now` (local time) decides which validity windows are open; default: now.
        """
        clock = _Clock()
        if not message or not message.strip():
            raise EmptyQuery()
        top_k = self.top_k if top_k is None else top_k
        if top_k <= 0:
            raise ValueError(f"top_k must be greater than 0, got {top_k}")
        norm = normalize(message)
        warnings = []
        if norm.truncated:
            warnings.append(f"message longer than {len(norm.text)} characters: only its end was matched")
        index = self.kb.index()
        now = now or datetime.now()
        words, chars = self.kb.segmenter.split(norm.text)
        clock.lap("prepare")

        queries = {}
        for m in self.kb.embedders:
            queries[m.id] = m.encode_queries([norm.text])[0]
            clock.lap(f"encode {m.id}")
        cand: dict[str, None] = {}
        for model, q in queries.items():
            _, vids = index.dense_search(model, q, self.candidates * 4)
            for vid in vids.tolist():
                cand.setdefault(index.rows[vid].entry_id, None)
        clock.lap("dense search")
        lex_scores = index.lexical_scores(words + chars)
        n_lex = min(self.candidates * 2, int(np.count_nonzero(lex_scores)))
        if n_lex:
            best = np.argpartition(-lex_scores, n_lex - 1)[:n_lex]
            for pos in best[np.argsort(-lex_scores[best])]:
                cand.setdefault(index.rows[int(index.lexical_vids[pos])].entry_id, None)
        entries = [e for e in cand if e in index.windows and in_window(*index.windows[e], now)]
        clock.lap("lexical search")

        scored = self._score(index, entries, queries, lex_scores)
        adjust = self.learning().adjust([s[0] for s in scored], queries) if self.prior else np.zeros(len(scored))
        order = sorted(range(len(scored)), key=lambda i: -(scored[i][1] + adjust[i]))[:top_k]
        scale = self.confidence_scale(index) if order else None
        clock.lap("score")
        store_entries = self.kb.store.get_many(scored[i][0] for i in order)
        hits = []
        for i in order:
            entry_id, fused, dense, lexical, best_pos = scored[i]
            entry = store_entries[entry_id]
            phrasings = entry.phrasings
            # Past the entry's own phrasings come its learned ones, held by the index only.
            matched = phrasings[best_pos] if best_pos < len(phrasings) else \
                index.rows[index.by_entry[entry_id][best_pos]].text
            # Confidence (and so no-match) stays semantic: the prior only reorders.
            hits.append(Hit(entry_id, entry.question, entry.answer, entry.category, entry.tags,
                            matched, round(float(fused + adjust[i]), 4),
                            round(self.fusion.confidence(self._curve_input(scale, fused, dense, lexical),
                                                         len(words)), 4),
                            {m: round(v, 4) for m, v in dense.items()}, round(lexical, 4),
                            round(float(adjust[i]), 4)))
        no_match = not hits or max(h.confidence for h in hits) < 0.5
        clock.lap("fetch")
        references = []
        if self.references and self.kb.store.passage_count():
            references = self._references(queries, words, chars)
            clock.lap("references")
        return SearchResult(message, norm.text, norm.script, no_match, hits, warnings,
                            round(clock.total_ms, 3), clock.laps, references)

    def learning(self) -> Learning:
        """The use prior and demotions, re-read only when the learning tables changed."""
        key = (LearnStore(self.kb.store).version(), self.kb.store.published_hash())
        if self._learning is None or self._learning[0] != key:
            self._learning = (key, Learning.load(self.kb, self.prior))
        return self._learning[1]

    def confidence_scale(self, index) -> Scale | None:
        """How the confidence curve reads a candidate's dense scores: None for the
        reference set (the fused score, as tuned), else their mapping onto the reference
        scale fitted on `index` (suggest/calibrate.py), kept until its content changes."""
        key = (index.content_hash, repr(self.fusion))
        if self._scale is None or self._scale[0] != key:
            embedders = self.kb.embedders
            found = None
            if not self.fusion.tuned_for(embedders):
                found = calibrate.scale(index, [m.id for m in embedders], self.fusion.reference_weights(embedders),
                                        self.fusion.reference, self.calibration)
            self._scale = (key, found)
        return self._scale[1]

    def _curve_input(self, scale: Scale | None, fused: float, dense: dict[str, float], lexical: float) -> float:
        """The score the confidence curve reads: the fused one, or on the reference scale."""
        if scale is None:
            return fused
        return (scale.offset + sum(w * dense[m] for m, w in scale.weights.items())
                + self.fusion.weight(LEXICAL) * lexical)

    def _references(self, queries: dict, words: list[str], chars: list[str]) -> list[Reference]:
        """The best passages, scored like entries but in their own index; a passage must
        share a content word with the message, so chit-chat gets no reference text."""
        index = self.kb.passage_index()
        cand: dict[str, None] = {}
        for model, q in queries.items():
            for vid in index.dense_search(model, q, self.references * 4)[1].tolist():
                cand.setdefault(index.rows[vid].entry_id, None)
        lex_scores = index.lexical_scores(words + chars)
        for pos in np.argsort(-lex_scores)[:self.references * 4]:
            if lex_scores[pos] > 0:
                cand.setdefault(index.rows[int(index.lexical_vids[pos])].entry_id, None)
        scored = []
        for key, fused, _, _, _ in self._score(index, list(cand), queries, lex_scores):
            row = index.rows[index.by_entry[key][0]]
            shared = [w for w in dict.fromkeys(words) if w in set(row.tokens)]
            if shared:
                scored.append((fused, key, shared))
        scored.sort(key=lambda t: -t[0])
        scored = scored[:self.references]
        stored = {p["id"]: p for p in self.kb.store.passages(k for _, k, _ in scored)}
        return [Reference(key, stored[key]["source"], stored[key]["section"], stored[key]["page"],
                          stored[key]["text"], round(fused, 4), shared)
                for fused, key, shared in scored if key in stored]

    def _score(self, index, entries, queries, lex_scores):
        """(entry id, fused, dense parts, lexical part, position of best phrasing) per entry."""
        if not entries:
            return []
        vids = [v for e in entries for v in index.by_entry[e]]
        owner = np.repeat(np.arange(len(entries)), [len(index.by_entry[e]) for e in entries])
        starts = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(entries)))[:-1]])
        ids = np.asarray(vids, dtype=np.int64)
        fused = np.zeros(len(entries))
        parts: dict[str, np.ndarray] = {}
        best_row = np.zeros(len(vids))
        for model, q in queries.items():
            sims = index.vectors(model, ids) @ q
            best = np.maximum.reduceat(sims, starts)
            if model in self.calibration:
                a, b = self.calibration[model]
                best = a * best + b
            parts[model] = best
            fused += self.fusion.weight(model) * best
            best_row += sims
        lex_rows = lex_scores[np.searchsorted(index.lexical_vids, ids)]
        lex = np.maximum.reduceat(lex_rows, starts)
        top = lex.max()
        lex_rel = lex / top if top > 0 else lex
        fused += self.fusion.weight(LEXICAL) * lex_rel
        # Per entry, the position of its first phrasing with the highest summed cosine; a
        # prototype row (last, see kb.index.with_prototype) scores but is not a phrasing.
        ends = np.append(starts[1:], len(vids)) - 1
        protos = [i for i, e in enumerate(entries) if e in index.prototypes]
        if protos:
            best_row[ends[protos]] = -np.inf
        seg_max = np.maximum.reduceat(best_row, starts)
        at_max = np.flatnonzero(best_row == seg_max[owner])
        first = at_max[np.unique(owner[at_max], return_index=True)[1]]
        best_pos = (first - starts).tolist()
        fused_l, lex_l = fused.tolist(), lex_rel.tolist()
        parts_l = {m: p.tolist() for m, p in parts.items()}
        return [(entry_id, fused_l[i], {m: p[i] for m, p in parts_l.items()}, lex_l[i], best_pos[i])
                for i, entry_id in enumerate(entries)]


class _Clock:
    """Wall time per stage of one search."""

    def __init__(self):
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self.last) * 1000, 3)
        self.last = now

    @property
    def total_ms(self) -> float:
        return (self.last - self.start) * 1000

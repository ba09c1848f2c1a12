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
import re
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Callable

import numpy as np

from kefu.kb.base import KnowledgeBase
from kefu.kb.embed import Embedder
from kefu.kb.entry import in_window
from kefu.kb.errors import EmptyQuery
from kefu.kb.text import MAX_CHARS, for_matching, mandarin, normalize, scrub

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


# Words that tie a sentence together but name nothing (prepositions, adverbs, place
# particles; modal, question and pointing words): sharing one of them is no reason to quote
# a passage ("门店在哪里" and a manual's "不在保修范围内", "羽绒服能不能机洗" and an air
# fryer's "机身不能水洗"). Nor are words for the shop or a product in general, or the
# catch-all 处理: "你们店支持花呗吗" got a down jacket's and a face cream's passages for 店
# (感谢您选购本店…), "水壶怎么处理" a care guide's "联系客服处理". Matching still reads
# them, as the tuned scores did.
FUNCTION_WORDS = frozenset("""在 把 被 给 对 从 向 跟 让 为 与 及 或 等 又 再 才 很 太 更 最 没 不 多 少 内 外 上 里 中
    不能 不可 不要 不是 没有 不会 能不能 可不可以 是不是 有没有 会不会 是否 能否 多少 多久 哪些 哪个 哪里
    这个 那个 这款 那款 这种 店 本店 店里 店铺 你们 我们 款 处理""".split())

_HAN_WORD = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")

CANDIDATES = 30  # candidates per channel, unless a caller asks for more hits than that


class Retriever:
    """Answers customer messages from a KnowledgeBase; `top_k` hits, `candidates` per channel
    (by default CANDIDATES, or `top_k` when more hits are asked for)."""

    def __init__(self, kb: KnowledgeBase, top_k: int = 5, candidates: int | None = None,
                 fusion: Fusion | None = None, references: int = 3, prior: PriorRule | None = PriorRule(),
                 encode: Callable[[Embedder, str], np.ndarray] | None = None):
        if top_k <= 0:
            raise ValueError(f"top_k must be greater than 0, got {top_k}")
        if candidates is None:
            candidates = max(CANDIDATES, top_k)
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
        # A model's query vector of a text (default: encoded, remembered for the last few)
        self.encode = encode or kb.encode_query
        self._learning: tuple[tuple, Learning] | None = None
        self._scale: tuple[tuple, Scale | None] | None = None

    def warm_up(self) -> None:
        """Pay the one-off costs (index load, its compact copies and row layout, jieba
        dictionary, model weights) before timing."""
        index = self.kb.index()
        index.layout()
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
        message = scrub(message or "")
        if not message.strip():  # a control character alone is no message either
            raise EmptyQuery()
        top_k = self.top_k if top_k is None else top_k
        if top_k <= 0:
            raise ValueError(f"top_k must be greater than 0, got {top_k}")
        # a chat app's nickname-and-time lines, notices and order cards are not matched, unless alone
        norm = normalize(for_matching(message), asked=True)
        warnings = []
        if norm.asked_window:
            warnings.append(f"message longer than {MAX_CHARS} characters: only the part from its last question on was matched")
        elif norm.truncated:
            warnings.append(f"message longer than {len(norm.text)} characters: only its end was matched")
        index = self.kb.index()
        now = now or datetime.now()
        text = mandarin(norm.text)  # Cantonese read as the Mandarin the entries are written in
        segmenter = self.kb.segmenter  # one look at the shop terms per search
        words, chars = segmenter.split(text)
        clock.lap("prepare")

        queries = {}
        for m in self.kb.embedders:
            queries[m.id] = self.encode(m, text)
            clock.lap(f"encode {m.id}")
        layout = index.layout()
        found = []
        for model, q in queries.items():
            _, vids = index.dense_search(model, q, self.candidates * 4)
            found.append(layout.entry_of[vids])
        clock.lap("dense search")
        lex_scores = index.lexical_scores(words + chars)
        found.append(_best_lexical(index, layout, lex_scores, self.candidates * 2))
        ords = _open(index, layout, _first_seen(np.concatenate(found)), now)
        clock.lap("lexical search")

        scored = self._score(index, ords, queries, lex_scores)
        adjust = self.learning().adjust(scored.keys, queries, message) if self.prior else np.zeros(len(scored.keys))
        order = np.argsort(-(scored.fused + adjust), kind="stable")[:top_k].tolist()
        scale = self.confidence_scale(index) if order else None
        clock.lap("score")
        store_entries = self.kb.store.get_many(scored.keys[i] for i in order)
        n_words = segmenter.count(words)
        hits = []
        for i in order:
            entry_id, fused, lexical, best_pos = scored.keys[i], float(scored.fused[i]), \
                float(scored.lexical[i]), int(scored.best_pos[i])
            dense = {m: float(v[i]) for m, v in scored.dense.items()}
            entry = store_entries[entry_id]
            phrasings = entry.phrasings
            # Past the entry's own phrasings come its learned ones, held by the index only.
            matched = phrasings[best_pos] if best_pos < len(phrasings) else \
                index.rows[index.by_entry[entry_id][best_pos]].text
            # Confidence (and so no-match) stays semantic: the prior only reorders.
            hits.append(Hit(entry_id, entry.question, entry.answer, entry.category, entry.tags,
                            matched, round(float(fused + adjust[i]), 4),
                            round(self.fusion.confidence(self._curve_input(scale, fused, dense, lexical),
                                                         n_words), 4),
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
        # The store's change markers (one query) move with the learning tables and with
        # everything the published hash is made of.
        key = tuple(sorted(self.kb.store.changes().items()))
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
        layout = index.layout()
        found = [layout.entry_of[index.dense_search(model, q, self.references * 4)[1]]
                 for model, q in queries.items()]
        lex_scores = index.lexical_scores(words + chars)
        found.append(_best_lexical(index, layout, lex_scores, self.references * 4))
        candidates = self._score(index, _first_seen(np.concatenate(found)), queries, lex_scores)
        scored = []
        for key, fused in zip(candidates.keys, candidates.fused.tolist()):
            row = index.rows[index.by_entry[key][0]]
            tokens = set(row.tokens)
            # A Chinese word may stand inside a longer one of the passage (功率 in 额定功率):
            # a one-character word already matched the passage's characters anywhere. Not a
            # number or Latin word: 15 is no part of 1500W, nor pro of product.
            shared = [w for w in dict.fromkeys(words) if w not in FUNCTION_WORDS and (
                w in tokens or (len(w) > 1 and _HAN_WORD.fullmatch(w) is not None and w in row.text))]
            if shared:
                scored.append((fused, key, shared))
        scored.sort(key=lambda t: -t[0])
        scored = scored[:self.references]
        stored = {p["id"]: p for p in self.kb.store.passages(k for _, k, _ in scored)}
        return [Reference(key, stored[key]["source"], stored[key]["section"], stored[key]["page"],
                          stored[key]["text"], round(fused, 4), shared)
                for fused, key, shared in scored if key in stored]

    def _score(self, index, ords: np.ndarray, queries, lex_scores) -> "_Scored":
        """The fused score and its parts of the entries `ords` (ordinals in index.layout())."""
        if not len(ords):
            none = np.zeros(0)
            return _Scored([], none, {m: none for m in queries}, none, np.zeros(0, dtype=np.int64))
        layout = index.layout()
        ids, starts = layout.rows_of(ords)
        counts = layout.count[ords]
        owner = np.repeat(np.arange(len(ords)), counts)
        fused = np.zeros(len(ords))
        parts: dict[str, np.ndarray] = {}
        best_row = np.zeros(len(ids))
        for model, q in queries.items():
            sims = index.similarities(model, ids, q)
            best = np.maximum.reduceat(sims, starts)
            if model in self.calibration:
                a, b = self.calibration[model]
                best = a * best + b
            parts[model] = best
            fused += self.fusion.weight(model) * best
            best_row += sims
        at = layout.lexical_pos[ids]
        lex = np.maximum.reduceat(np.where(at >= 0, lex_scores[at], 0.0), starts)
        top = lex.max()
        lex_rel = lex / top if top > 0 else lex
        fused += self.fusion.weight(LEXICAL) * lex_rel
        # Per entry, the position of its first phrasing with the highest summed cosine; a
        # prototype row (last, see kb.index.with_prototype) scores but is not a phrasing.
        best_row[(starts + counts - 1)[layout.prototype[ords]]] = -np.inf
        seg_max = np.maximum.reduceat(best_row, starts)
        at_max = np.flatnonzero(best_row == seg_max[owner])
        owners = owner[at_max]  # ascending, as at_max is: an entry's first is where its number starts
        first = at_max[np.flatnonzero(np.diff(owners, prepend=-1))]
        return _Scored(layout.keys_of(ords), fused, parts, lex_rel, first - starts)


@dataclass
class _Scored:
    """Candidate entries and their scores, as parallel arrays."""
    keys: list[str]  # entry ids
    fused: np.ndarray
    dense: dict[str, np.ndarray]  # model id -> best cosine over the entry's rows
    lexical: np.ndarray  # best BM25 over its rows, relative to the best candidate's
    best_pos: np.ndarray  # position of its best-matching phrasing among its rows


def _best_lexical(index, layout, lex_scores: np.ndarray, n: int) -> np.ndarray:
    """The entries (ordinals) of the `n` rows with the best BM25 scores above 0, best first."""
    hit = np.flatnonzero(lex_scores > 0)  # usually a small share of the rows: rank only those
    n = min(n, len(hit))
    if not n:
        return np.zeros(0, dtype=np.int64)
    scores = lex_scores[hit]
    best = np.argpartition(-scores, n - 1)[:n] if n < len(hit) else np.arange(n)
    best = best[np.argsort(-scores[best], kind="stable")]
    return layout.entry_of[index.lexical_vids[hit[best]]]


def _first_seen(ords: np.ndarray) -> np.ndarray:
    """`ords` without repeats, each where it first occurs (-1, no entry, dropped)."""
    ords = ords[ords >= 0]
    return ords[np.sort(np.unique(ords, return_index=True)[1])]


def _open(index, layout, ords: np.ndarray, now: datetime) -> np.ndarray:
    """The entries of `ords` whose validity window is open at `now`."""
    windowed = layout.windowed[ords]
    if not windowed.any():
        return ords
    keep = [not w or (k in index.windows and in_window(*index.windows[k], now))
            for k, w in zip(layout.keys_of(ords), windowed.tolist())]
    return ords[np.asarray(keep, dtype=bool)]


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

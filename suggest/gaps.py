"""Knowledge-base gaps and answer drift, mined from what agents did with suggestions.

A customer message the assistant had no match for, or whose suggestion an agent
rejected, is a sign the knowledge base lacks an entry. `mine_gaps` clusters such
messages into suggested new entries, ranked by how many customers asked and how
recently, leaving out the messages the knowledge base answers *now* (see
`mine_gaps`' `answers` and `current_answers`). `answer_drift` finds the same edit
made by agents again and again to one entry's drafts since its answer last changed:
a sign the entry's answer is out of date. The loaders at the end read both inputs
from the product database; the functions above them take plain values, so they can
be fed from anywhere.
"""

from __future__ import annotations

import bisect
import difflib
import json
import math
import unicodedata
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Sequence

import numpy as np

from kefu.kb.feedback import draft_answers
from kefu.kb.learned import ConfirmedRejects
from kefu.kb.text import normalize, to_simplified

from .understand import CHIT_CHAT, offer_unanswered, understand

KINDS = ("no_match", "reject")

# Mean cosine (over the models, see `combined_embedder`) above which average linkage
# merges two groups of messages. Chosen on shop-dev's 42 unanswered queries
# (bench/gaps.py): at 0.75 all 6 clusters are one topic each (5 questions asked in
# both scripts, plus 你好/好的谢谢); at 0.70 unrelated neighbours merge (定做 + 搭配,
# 撤回退货申请 joins 上门取件); at 0.80 only 3 pairs are left. No threshold catches
# 评价返现 / 寫評價送購物金 (0.70) without those false merges (0.74).
DEFAULT_THRESHOLD = 0.75

# Average linkage needs all pairwise distances: n² / 2 floats, ~100 MB at 5000
# distinct texts (~220 MB peak with scipy's working copy) and ~3 s on two cores.
# Older messages beyond this are ignored; recency weighting makes them count little.
MAX_MESSAGES = 5000

# The side panel logs a request per debounced pause in typing, so a message followed
# shortly by a longer message that starts with it was an unfinished one.
TYPING_WINDOW_S = 120

EMBED_BATCH = 256
MAX_EXAMPLES = 5

# Re-checking a message against the current knowledge base is one retrieval: ~20-30 ms
# with the two default models on two cores, so at most this many distinct texts are
# checked per run (~5 s); the rest count as unanswered.
MAX_CHECKS = 200

# The retriever's own cut: below this confidence a result is flagged no-match.
CONFIDENT = 0.5


@dataclass
class GapMessage:
    """One message the knowledge base did not answer (text already masked for PII)."""
    text: str
    at: str  # ISO-8601, UTC when no offset is given
    kind: str  # "no_match": nothing fitted; "reject": an agent rejected `entry_id` for it
    entry_id: str | None = None
    # Entries an agent turned down for it (besides `entry_id`): the ones shown when the
    # agent said nothing fits, every one rejected. None: unknown, so every entry counts
    # as turned down (a replayed "no good match" line; what was shown is not known).
    dismissed: list[str] | None = field(default_factory=list)


@dataclass
class Gap:
    """A suggested new entry: a cluster of messages about one topic."""
    question: str  # the medoid: the member closest to the cluster's (count-weighted) centre
    examples: list[str]  # up to 5 other distinct members, most central first
    count: int  # messages in the cluster, repeats included
    first_at: str
    last_at: str
    kinds: dict[str, int]  # {"no_match": n, "reject": m}
    rejected_entries: dict[str, int]  # entry id -> how many of these messages rejected it
    score: float  # sum over messages of 0.5 ** (age_days / half_life_days)


@dataclass
class Drift:
    """The same change made by agents to drafts of one entry: the answer may need updating."""
    entry_id: str
    count: int  # edits that made this change
    removed: str  # text deleted from the draft ('' if none)
    added: str  # text inserted ('' if none)
    examples: list[str] = field(default_factory=list)  # up to 3 distinct sent texts


# -- gaps ------------------------------------------------------------------------------

def text_key(text: str) -> str:
    """Identity of a message for deduplication: simplified, half-width, lower-case,
    letters and digits only (punctuation, spaces and emoji carry no topic)."""
    return "".join(ch for ch in normalize(text).text if ch.isalnum())


def combined_embedder(embedders: Sequence) -> Callable[[list[str]], np.ndarray]:
    """An `embed` for `mine_gaps` from the product's embedders (each with `encode_queries`).

    Each model's unit vector is scaled by 1/sqrt(k) before concatenation, so the result
    is unit length and its cosine is the *mean* of the k models' cosines: the scale
    `DEFAULT_THRESHOLD` is expressed in.
    """
    if not embedders:
        raise ValueError("combined_embedder needs at least one embedder")
    scale = 1.0 / math.sqrt(len(embedders))

    def embed(texts: list[str]) -> np.ndarray:
        return np.hstack([np.asarray(e.encode_queries(texts), np.float32) for e in embedders]) * scale

    return embed


def stored_embedder(kb) -> Callable[[list[str]], np.ndarray]:
    """`combined_embedder(kb.embedders)` through the knowledge base's embedding cache.

    A message's vectors are kept in the store, keyed by model and text hash as entries'
    are, so mining a year of messages again encodes only the new ones: at ~25 ms a text
    and model, 5000 messages took minutes on every run of `kefu learn gaps` and every
    load of the console's gaps and statistics pages. Each model encodes a text as it
    would the query (`read_as_query`; the built-in models encode both sides alike).
    """
    from kefu.kb.embed import read_as_query

    if not kb.embedders:
        raise ValueError("stored_embedder needs at least one embedder")
    scale = 1.0 / math.sqrt(len(kb.embedders))

    def embed(texts: list[str]) -> np.ndarray:
        return np.hstack([np.asarray(kb.embed_documents(e, read_as_query(e, texts)), np.float32)
                          for e in kb.embedders]) * scale

    return embed


def encode_pending(kb, messages: list[GapMessage], most: int, max_messages: int = MAX_MESSAGES) -> tuple[int, int]:
    """Put into `kb`'s embedding cache at most `most` of the texts `mine_gaps` would embed
    for `messages` (normalised, of the newest `max_messages`) that are not there yet,
    newest first, for `stored_embedder`; (how many of them are cached now, how many
    there are). A page calls it to bound its work: the first run on a year of messages
    encodes thousands of texts (minutes), which it spreads over several loads. With
    `most` 0 it encodes nothing. Either way it records those texts' vectors as messages'
    (`Store.mark_message_vectors`), so that retention deletes them with the messages;
    not on a store this user cannot write (`kefu stats` reads it all the same), where
    nothing is encoded ahead either: `mine_gaps` encodes them in memory."""
    return encode_texts(kb, pending_texts(messages, max_messages), most)


def pending_texts(messages: list[GapMessage], max_messages: int = MAX_MESSAGES) -> dict[str, str]:
    """The texts `mine_gaps` would embed for `messages` (normalised, of the newest
    `max_messages`), newest first, each with when its newest message was logged: what
    `encode_texts` takes. Reads no store (the console works it out outside its lock)."""
    newest = [m for _, _, m in _newest(messages, max_messages)]  # newest first
    last_at: dict[str, str] = {}  # text -> when its newest message was logged, newest first
    for m in newest[:max(max_messages, 0)]:
        text = normalize(m.text).text
        last_at[text] = max(last_at.get(text, m.at), m.at)
    return last_at


def encode_texts(kb, last_at: dict[str, str], most: int) -> tuple[int, int]:
    """`encode_pending` of the texts `pending_texts` gave."""
    from kefu.kb.embed import cache_key, read_as_query
    from kefu.kb.store import text_hash

    texts = list(last_at)
    missing: dict[str, None] = {}
    for e in kb.embedders:
        read = read_as_query(e, texts)
        if not kb.store.read_only:
            marks: dict[str, str] = {}  # texts that differ only outside the window a model reads share a hash
            for t, r in zip(texts, read):
                h = text_hash(r)
                marks[h] = max(marks.get(h, last_at[t]), last_at[t])
            kb.store.mark_message_vectors(cache_key(e), marks)
        have = kb.store.cached_hashes(cache_key(e), [text_hash(r) for r in read])
        missing.update((t, None) for t, r in zip(texts, read) if text_hash(r) not in have)
    todo = [] if kb.store.read_only else list(missing)[:max(most, 0)]  # it could keep none of them
    for e in kb.embedders:
        if todo:
            kb.embed_documents(e, read_as_query(e, todo), collect=False)
    return len(texts) - len(missing) + len(todo), len(texts)


@dataclass
class _Text:
    """One distinct text after deduplication, with everything its messages contribute."""
    key: str
    texts: Counter  # raw text -> count (the most frequent one is shown)
    count: int = 0
    weight: float = 0.0
    first: datetime | None = None
    last: datetime | None = None
    first_at: str = ""
    last_at: str = ""
    kinds: Counter = field(default_factory=Counter)
    rejected: Counter = field(default_factory=Counter)
    dismissed: dict[str, datetime] = field(default_factory=dict)  # entry -> when last turned down
    dismissed_all: datetime | None = None  # when a message last turned down every entry

    @property
    def text(self) -> str:
        return min(self.texts.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def add(self, m: GapMessage, at: datetime, weight: float) -> None:
        self.texts[m.text] += 1
        self.count += 1
        self.weight += weight
        if self.first is None or at < self.first:
            self.first, self.first_at = at, m.at
        if self.last is None or at > self.last:
            self.last, self.last_at = at, m.at
        self.kinds[m.kind] += 1
        if m.kind == "reject" and m.entry_id:
            self.rejected[m.entry_id] += 1
        if m.dismissed is None:
            self.dismissed_all = max(self.dismissed_all or at, at)
        for entry_id in [*(m.dismissed or []), *([m.entry_id] if m.kind == "reject" and m.entry_id else [])]:
            self.dismissed[entry_id] = max(self.dismissed.get(entry_id, at), at)

    def answered_by(self, answers: dict[str, "datetime | Versions | None"]) -> bool:
        """Whether one of `answers` (entry id -> its content's `Versions`, or when its
        content last changed; None if unknown) answers this text: an entry none of its
        messages turned down, or one whose content changed since the last time it was
        turned down (with `Versions`: differs now from what it was then, so an edit
        undone since is no change)."""
        for entry_id, changed in answers.items():
            turned_down = [t for t in (self.dismissed.get(entry_id), self.dismissed_all) if t is not None]
            if not turned_down or (changed is not None and _changed_since(changed, max(turned_down))):
                return True
        return False


@dataclass(frozen=True)
class Versions:
    """An entry's content over time (the fields compared), from the history table: when
    each version began, oldest first, what those fields held, and what they hold now
    (the latest version's, whatever the clock said when it was written)."""
    starts: tuple[datetime, ...]
    contents: tuple[str, ...]
    current: str

    def changed_since(self, moment: datetime) -> bool:
        """Whether the content now differs from the content at `moment`: edits undone since
        (an approved phrasing reset, an edit reverted) change nothing; an entry created
        after `moment` did change."""
        i = bisect.bisect_right(self.starts, moment) - 1
        return i < 0 or self.contents[i] != self.current


def _changed_since(changed: "datetime | Versions", moment: datetime) -> bool:
    return changed.changed_since(moment) if isinstance(changed, Versions) else changed > moment


def parse_time(at: str) -> datetime:
    """An ISO-8601 timestamp as an aware datetime (UTC when it has no offset)."""
    dt = datetime.fromisoformat(at)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _newest(messages: list[GapMessage], most: int) -> list[tuple[datetime, str, GapMessage]]:
    """(time, `text_key`, message) for the newest `most` messages that have a key, and any
    others logged at the same moment as the oldest of them (which of those count is decided
    by key), newest first (as given, among messages logged at one moment). Older messages are not normalised: a year of them
    took seconds on every load of the gaps page."""
    if most <= 0:
        return []
    out: list[tuple[datetime, str, GapMessage]] = []
    cut = None
    for at, m in sorted(((parse_time(m.at), m) for m in messages), key=lambda it: it[0], reverse=True):
        if cut is not None and at < cut:
            break
        key = text_key(m.text)
        if key:
            out.append((at, key, m))
            if len(out) == most:
                cut = at
    return out


def _drop_typing(items: list[tuple[datetime, str, GapMessage]]) -> list[tuple[datetime, str, GapMessage]]:
    """Drop messages that a longer message of the same kind, logged within
    TYPING_WINDOW_S after it, starts with. `items` is sorted by time."""
    keep = []
    for i, (at, key, m) in enumerate(items):
        partial = False
        for at2, key2, m2 in items[i + 1:]:
            if (at2 - at).total_seconds() > TYPING_WINDOW_S:
                break
            if m2.kind == m.kind and len(key2) > len(key) and key2.startswith(key):
                partial = True
                break
        if not partial:
            keep.append((at, key, m))
    return keep


def _embed(embed: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    parts = [np.asarray(embed(texts[i:i + EMBED_BATCH]), dtype=np.float64)
             for i in range(0, len(texts), EMBED_BATCH)]
    vectors = np.concatenate(parts)
    if vectors.ndim != 2 or len(vectors) != len(texts):
        raise ValueError(f"embed returned shape {vectors.shape} for {len(texts)} texts")
    # Re-normalised anyway: a caller's concatenation may be slightly off unit length,
    # and the centre/medoid below relies on dot product = cosine.
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _cluster(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster label per row: average-linkage agglomerative clustering on cosine distance,
    cut where the mean pairwise cosine between two groups drops below `threshold`.

    Why this and not HDBSCAN (both run in `bench/gaps.py`): gap messages are
    mostly singletons with a few small groups, often pairs. On shop-dev's unanswered
    queries HDBSCAN (min_cluster_size=2) put 29 of 42 into 11 clusters, only 4 of them
    one topic: density chaining built clusters like 在吗/好的谢谢/哈哈哈哈/你們有在徵人嗎
    and 批发价/满多少包邮, and it has no threshold an editor can reason about. Average
    linkage with a distance cut merges two groups only when their *mean* pairwise
    similarity is high, so it keeps pairs, does not chain, and is deterministic
    (6 clusters at the default threshold, all one topic).

    scipy's `linkage` is called directly rather than through sklearn's
    AgglomerativeClustering(metric="cosine", linkage="average", distance_threshold),
    which runs the same scipy code: scipy is already a dependency, and building the
    condensed distances here with BLAS takes 0.3 s and ~250 MB at 5000 texts where
    sklearn's path takes 8 s (scipy's pure cosine pdist) or ~800 MB (a precomputed
    square matrix).
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=int)
    rows = vectors.astype(np.float32)
    condensed = np.empty(n * (n - 1) // 2, dtype=np.float64)
    pos = 0
    for start in range(0, n, 256):
        block = 1.0 - rows[start:start + 256] @ rows.T  # rows are unit length: 1 - cos
        for k, i in enumerate(range(start, min(start + 256, n))):
            condensed[pos:pos + n - i - 1] = block[k, i + 1:]
            pos += n - i - 1
    np.clip(condensed, 0.0, 2.0, out=condensed)
    tree = linkage(condensed, method="average")
    # Merge heights are mean distances between groups; "distance" keeps groups joined
    # at or below the cut, i.e. with mean cosine >= threshold.
    return fcluster(tree, t=1.0 - threshold, criterion="distance")


Answers = Callable[[list[str]], list[dict[str, "datetime | Versions | None"]]]


def mine_gaps(messages: list[GapMessage], embed: Callable[[list[str]], np.ndarray], *,
              threshold: float = DEFAULT_THRESHOLD, min_size: int = 2, limit: int = 20,
              now: datetime | None = None, half_life_days: float = 14.0,
              max_messages: int = MAX_MESSAGES, max_examples: int = MAX_EXAMPLES,
              answers: Answers | None = None, max_checks: int = MAX_CHECKS) -> list[Gap]:
    """Cluster unanswered messages into suggested new entries, best first.

    1. Messages whose text has no letters or digits are ignored; only the newest
       `max_messages` are used (clustering is O(n²) in memory).
    2. A message is dropped when a longer message of the same kind starting with it
       was logged within 120 s after it (the agent was still typing).
    3. Identical texts (after `text_key`) are embedded once but keep their count.
    4. `embed(texts)` gets the distinct texts, normalised with
       `kefu.kb.text.normalize` (simplified script, half-width, lower-case), and must
       return one unit-length row per text; cosine is then the dot product. For the
       product's several models use `combined_embedder`, whose cosine is the mean of
       the models' cosines: `threshold` is on that scale.
    5. Average-linkage clustering merges groups while their mean pairwise cosine is
       at least `threshold`. A cluster of fewer than `min_size` messages is dropped:
       with the default 2, a message asked once and never again is treated as noise,
       not a gap (the same text asked twice is a gap).
    6. score = sum over the cluster's messages of 0.5 ** (age_days / half_life_days),
       age measured from `now` (default: the newest message, so the same input gives
       the same output). Changing `now` scales every score by one factor, so the
       ranking does not depend on it. At most `limit` gaps are returned, each with at
       most `max_examples` examples.

    Answered now: with `answers` (e.g. `current_answers(kb)`), a distinct text the
    knowledge base now answers is left out before clustering, so a gap disappears
    once an editor has filled it. `answers(texts)` gives, per text, the entries that
    answer it confidently now (`current_answers`: the top hit, if the retriever's
    no-match flag is off for it), each with its content's `Versions` (or when its
    content last changed). A text is answered when one of those entries was not turned
    down for it by an agent (a rejected entry, or the entries shown when the agent said
    nothing fits), or was edited since it was turned down: the same wrong answer, still
    confident, does not close a gap, nor does an edit undone since (with `Versions`: the
    content must differ from what it was then). To bound the cost only
    texts that could be part of a gap are checked (counted `min_size` times, or with
    a neighbour at cosine >= `threshold`: every member of an average-linkage cluster
    has one), the most recent-weighted first, at most `max_checks` of them; the rest
    count as unanswered.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if min_size < 1:
        raise ValueError(f"min_size must be at least 1, got {min_size}")
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be positive, got {half_life_days}")
    if max_checks < 0:
        raise ValueError(f"max_checks must not be negative, got {max_checks}")
    for m in messages:
        if m.kind not in KINDS:
            raise ValueError(f"message kind must be one of {', '.join(KINDS)}, got {m.kind!r}")

    # Sorted on everything that identifies a message, so input order never matters.
    items = sorted(_newest(messages, max_messages), key=lambda it: (it[0], it[1], it[2].kind, it[2].text,
                                                                    it[2].entry_id or ""))
    items = _drop_typing(items[-max_messages:] if max_messages > 0 else [])
    if not items or limit == 0:
        return []

    now = now if now is not None else items[-1][0]
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    distinct: dict[str, _Text] = {}
    for at, key, m in items:
        age_days = max((now - at).total_seconds(), 0.0) / 86400.0
        distinct.setdefault(key, _Text(key, Counter())).add(m, at, 0.5 ** (age_days / half_life_days))
    texts = [distinct[k] for k in sorted(distinct)]

    vectors = _embed(embed, [normalize(t.text).text for t in texts])
    if answers is not None and max_checks:
        texts, vectors = _unanswered(texts, vectors, answers, threshold, min_size, max_checks)
        if not texts:
            return []
    labels = _cluster(vectors, threshold)

    clusters: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels.tolist()):
        clusters[label].append(i)
    gaps = []
    for idx in clusters.values():
        members = [texts[i] for i in idx]
        if sum(t.count for t in members) < min_size:
            continue
        gaps.append(_gap(members, vectors[idx], max_examples))
    gaps.sort(key=lambda g: (-g.score, -g.count, g.question))
    return gaps[:limit]


def _unanswered(texts: list[_Text], vectors: np.ndarray, answers: Answers, threshold: float,
                min_size: int, max_checks: int) -> tuple[list[_Text], np.ndarray]:
    """The texts (and their rows) that `answers` does not answer; see `mine_gaps`."""
    could = np.array([t.count >= min_size for t in texts])
    rows = vectors.astype(np.float32)
    for start in range(0, len(rows), 256):
        block = rows[start:start + 256] @ rows.T
        own = np.arange(start, start + len(block))
        block[own - start, own] = -1.0
        # A hair below the cut: float32 here, float64 distances in `_cluster`.
        could[own] |= (block >= threshold - 1e-6).any(axis=1)
    check = sorted(np.flatnonzero(could).tolist(), key=lambda i: (-texts[i].weight, texts[i].key))[:max_checks]
    if not check:
        return texts, vectors
    found = answers([texts[i].text for i in check])
    if len(found) != len(check):
        raise ValueError(f"answers returned {len(found)} results for {len(check)} texts")
    answered = {i for i, a in zip(check, found) if texts[i].answered_by(a)}
    keep = [i for i in range(len(texts)) if i not in answered]
    return [texts[i] for i in keep], vectors[keep]


def _gap(members: list[_Text], vectors: np.ndarray, max_examples: int) -> Gap:
    """One cluster as a Gap; members are ordered by closeness to the centre."""
    counts = np.array([t.count for t in members], dtype=np.float64)
    centre = (vectors * counts[:, None]).sum(axis=0)
    closeness = vectors @ centre
    order = sorted(range(len(members)), key=lambda i: (-round(float(closeness[i]), 9), members[i].key))
    ranked = [members[i] for i in order]
    kinds = Counter({k: 0 for k in KINDS})
    rejected: Counter = Counter()
    for t in members:
        kinds.update(t.kinds)
        rejected.update(t.rejected)
    first = min(members, key=lambda t: t.first)
    last = max(members, key=lambda t: t.last)
    return Gap(question=ranked[0].text, examples=[t.text for t in ranked[1:1 + max_examples]],
               count=int(counts.sum()), first_at=first.first_at, last_at=last.last_at,
               kinds=dict(kinds), rejected_entries=dict(sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))),
               score=round(sum(t.weight for t in members), 6))


# -- answer drift ----------------------------------------------------------------------

# Changes separated by at most this many unchanged characters are one change:
# character diffs split "3-5" -> "1-3" into "insert 1-", keep "3", "delete -5".
MERGE_GAP = 1


def _significant(text: str) -> str:
    """What a changed segment says, for comparison: normalised, letters and digits only."""
    return text_key(text) if text else ""


def _trim(text: str) -> str:
    """A segment without the spaces and punctuation at its ends, for display."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or unicodedata.category(text[start]).startswith("P")):
        start += 1
    while end > start and (text[end - 1].isspace() or unicodedata.category(text[end - 1]).startswith("P")):
        end -= 1
    return text[start:end]


def answer_span(draft: str, answer: str) -> tuple[int, int] | None:
    """Where in `draft` the entry's `answer` is: from the first to the last stretch of two
    or more characters they share, compared in simplified script when that keeps the
    draft's length. The answer may be changed there (its salutation dropped after kefu's
    opener, variables filled in, converted to traditional script), so it is aligned, not
    searched for; its salutation is left out first, so that it cannot match the opener's.
    None when less than half of the answer is found: it cannot be told apart then."""
    from .draft import SALUTATION  # draft.py imports the retriever: only when aligning

    core = SALUTATION.sub("", answer) or answer
    a, b = to_simplified(draft), to_simplified(core)
    if len(a) != len(draft):
        a, b = draft, core
    blocks = [m for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks() if m.size >= 2]
    if not blocks or sum(m.size for m in blocks) * 2 < len(b):
        return None
    return blocks[0].a, blocks[-1].a + blocks[-1].size


def _segments(draft: str, sent: str, span: tuple[int, int] | None = None) -> list[tuple[str, str]]:
    """(removed, added) for each changed stretch between a draft and the sent text; with
    `span` (the entry's answer in the draft), only those that change it: a stretch that
    overlaps it, or text inserted inside it or at either end of it. What the agent did to
    kefu's own opener and closing says nothing about the answer."""
    ops = [op for op in difflib.SequenceMatcher(None, draft, sent, autojunk=False).get_opcodes()
           if op[0] != "equal"]
    merged: list[list[int]] = []
    for _, i1, i2, j1, j2 in ops:
        if merged and i1 - merged[-1][1] <= MERGE_GAP and j1 - merged[-1][3] <= MERGE_GAP:
            merged[-1][1], merged[-1][3] = i2, j2
        else:
            merged.append([i1, i2, j1, j2])
    out = []
    for i1, i2, j1, j2 in merged:
        # A number is changed as a whole: "30天" -> "35天" reads 30 -> 35, not 0 -> 5.
        while (i1 > 0 and j1 > 0 and draft[i1 - 1].isdigit() and draft[i1 - 1] == sent[j1 - 1]
               and (draft[i1:i1 + 1].isdigit() or sent[j1:j1 + 1].isdigit())):
            i1, j1 = i1 - 1, j1 - 1
        while (i2 < len(draft) and j2 < len(sent) and draft[i2].isdigit() and draft[i2] == sent[j2]
               and (draft[i2 - 1:i2].isdigit() or sent[j2 - 1:j2].isdigit())):
            i2, j2 = i2 + 1, j2 + 1
        if span is not None and not (i1 < span[1] and i2 > span[0] if i1 < i2 else span[0] <= i1 <= span[1]):
            continue
        removed, added = draft[i1:i2], sent[j1:j2]
        r, a = _significant(removed), _significant(added)
        if r == a:  # whitespace, punctuation or script only
            continue
        if max(len(r), len(a)) <= 1 and not any(ch.isdigit() for ch in r + a):
            continue  # a one-character fix (的/得, a typo) says nothing about the answer
        out.append((_trim(removed), _trim(added)))
    return out


def answer_drift(edits: list[tuple], min_count: int = 2) -> list[Drift]:
    """Changes that agents made to the same entry's drafts at least `min_count` times.

    edits: (entry_id, draft text shown, text the agent actually sent), optionally with a
    fourth item, where the entry's answer is in the draft ((start, end), see
    `answer_span`; None: unknown, the whole draft counts): only changes to it count,
    not to kefu's opener or closing around it. Each edit is
    diffed character by character (Chinese has no spaces); nearby changes are merged
    and numbers widened to the whole number. Changes of whitespace or punctuation
    only, and one-character changes without a digit, are ignored. Changes are grouped
    by (entry, normalised removed text, normalised added text); an edit counts once
    per group. Most frequent first.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    groups: dict[tuple[str, str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for entry_id, draft, sent, *rest in edits:
        if not entry_id or draft == sent:
            continue
        seen = set()
        for removed, added in _segments(draft or "", sent or "", rest[0] if rest else None):
            key = (entry_id, _significant(removed), _significant(added))
            if key not in seen:
                seen.add(key)
                groups[key].append((removed, added, sent))
    out = []
    for (entry_id, _, _), changes in groups.items():
        if len(changes) < min_count:
            continue
        (removed, added), _ = min(Counter((r, a) for r, a, _ in changes).items(),
                                  key=lambda kv: (-kv[1], kv[0]))
        examples = list(dict.fromkeys(s for _, _, s in changes))[:3]
        out.append(Drift(entry_id, len(changes), removed, added, examples))
    out.sort(key=lambda d: (-d.count, d.entry_id, d.removed, d.added))
    return out


# -- loaders ---------------------------------------------------------------------------

def _since(column: str, since: str | None) -> tuple[str, list]:
    return (f" and {column} >= ?", [since]) if since else ("", [])


def _shown(hits: str | None) -> list[str] | None:
    """Entry ids of a logged suggestion's hits; None when the suggestion is gone (purged)."""
    if hits is None:
        return None
    try:
        return [h["id"] for h in json.loads(hits) if isinstance(h, dict) and h.get("id")]
    except (json.JSONDecodeError, TypeError):
        return None


def _turn_down(m: GapMessage, entry_ids: list[str] | None) -> None:
    if m.dismissed is None:
        return
    if entry_ids is None:
        m.dismissed = None
    else:
        m.dismissed = list(dict.fromkeys([*m.dismissed, *entry_ids]))


def _chit_chat(intent: str | None, message: str | None) -> bool:
    """Whether a message only greets or thanks: by the intent the assistant logged for it,
    else (a replayed line, a purged suggestion) by the assistant's own reading of it, so
    both sources are filtered alike."""
    return (intent or understand(message or "").intent) in CHIT_CHAT


def gap_messages(db, since: str | None = None) -> list[GapMessage]:
    """Unanswered messages from the product database (a `sqlite_utils.Database`).

    Suggestions the assistant flagged no-match, plus learn events where an agent said
    nothing fits or rejected an entry, the rejects only where learning trusts them
    (`ConfirmedRejects`: the pairing is demoted or an editor rejected it, and no lift
    cleared that reject): one agent rejecting the right entry again and again made the
    top gap, whose new entry would have duplicated it. A customer message counts once: a learn event
    for a suggestion already counted here is skipped, and several events for one
    suggestion (reject draft 1, then draft 2) are one message, kind "reject" with the
    first rejected entry if any was rejected. Events without a suggestion (replayed
    files) count one each. Greetings and thanks are left out, from either source (see
    `_chit_chat`), and so is a message an agent answered with one of its drafts
    (rejecting the first and sending the second is no gap). `since`: ISO timestamp,
    inclusive.

    Each message's `dismissed` lists what agents turned down for it: every rejected
    entry, and the suggestion's hits when an agent said nothing fits (None when that
    suggestion is no longer logged, or for a replayed line: unknown).
    """
    where, args = _since("at", since)
    out: list[GapMessage] = []
    by_suggestion: dict[str, GapMessage] = {}
    counted: set[str] = set()
    answered = {sid for (sid,) in db.execute(
        "select suggestion_id from feedback where action in ('accept', 'edit') and entry_id is not null"
        " union select suggestion_id from learn_events where action in ('accept', 'edit')"
        " and suggestion_id is not null")}
    for sid, draft, drafts in db.execute(  # a two-answer draft answers too; a clarifying one not
            "select f.suggestion_id, f.draft, s.drafts from feedback f join suggestions s on s.id = f.suggestion_id"
            " where f.action in ('accept', 'edit') and f.entry_id is null and f.draft is not null"):
        shown = json.loads(drafts or "[]")
        if 1 <= draft <= len(shown) and draft_answers(shown[draft - 1]):
            answered.add(sid)
    for sid, at, message, intent in db.execute(
            "select id, at, message, intent from suggestions where no_match = 1 and superseded_by is null"
            f"{where} order by at, id", args):
        if _chit_chat(intent, message) or sid in answered:
            continue
        counted.add(sid)
        by_suggestion[sid] = m = GapMessage(message or "", at, "no_match")
        out.append(m)
    where, args = _since("e.at", since)
    trusted = ConfirmedRejects(db)
    for sid, at, message, action, entry_id, agent, hits, intent in db.execute(
            # the hits only where they are read: a year's rejects' hits were tens of MB
            "select e.suggestion_id, e.at, e.message, e.action, e.entry_id, e.agent,"
            " case when e.action = 'no_match' then s.hits end, s.intent from learn_events e"
            " left join suggestions s on s.id = e.suggestion_id"
            f" where e.action in ('no_match', 'reject'){where} order by e.at, e.id", args):
        if action == "reject" and not trusted(entry_id, message, agent, at):
            continue  # one agent's say, or one an editor lifted: neither a gap nor a turn-down
        if _chit_chat(intent, message) or sid in answered:
            continue
        if action == "reject":
            turned_down = [entry_id] if entry_id else []
        else:  # "nothing fits": every hit shown; unknown (None) without the logged suggestion
            turned_down = _shown(hits) if sid else None
        if sid and sid in counted:
            # The assistant had no confident answer either; still, what agents rejected stays rejected.
            if action == "reject" and sid in by_suggestion:
                _turn_down(by_suggestion[sid], turned_down)
            continue
        m = GapMessage(message or "", at, action, entry_id if action == "reject" else None, [])
        _turn_down(m, turned_down)
        if not sid:
            out.append(m)
        elif sid not in by_suggestion:
            by_suggestion[sid] = m
            out.append(m)
        else:
            if by_suggestion[sid].kind == "no_match" and action == "reject":
                by_suggestion[sid].kind, by_suggestion[sid].entry_id = "reject", entry_id
            _turn_down(by_suggestion[sid], turned_down)
    return out


def last_changes(db, entry_ids, fields: Sequence[str] = ("answer",)) -> dict[str, datetime]:
    """Entry id -> when any of `fields` last changed (its creation counts), from the
    store's history table; entries without history are left out."""
    if not all(f.isidentifier() for f in fields):
        raise ValueError(f"fields must be entry field names, got {fields!r}")
    differs = " or ".join(f"json_extract(before, '$.{f}') is not json_extract(after, '$.{f}')" for f in fields)
    ids = sorted(set(entry_ids))
    out: dict[str, datetime] = {}
    for i in range(0, len(ids), 500):  # SQLite's limit on parameters
        chunk = ids[i:i + 500]
        for entry_id, at in db.execute(
                f"select entry_id, at from history where entry_id in ({', '.join('?' * len(chunk))})"
                f" and (before is null or {differs})", chunk):
            t = parse_time(at)
            if entry_id not in out or t > out[entry_id]:
                out[entry_id] = t
    return out


def content_versions(db, entry_ids, fields: Sequence[str]) -> dict[str, Versions]:
    """Entry id -> the `Versions` of its `fields`, from the store's history table;
    entries without history are left out."""
    if not all(f.isidentifier() for f in fields):
        raise ValueError(f"fields must be entry field names, got {fields!r}")
    values = ", ".join(f"json_extract(after, '$.{f}')" for f in fields)
    ids = sorted(set(entry_ids))
    found: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
    for i in range(0, len(ids), 500):  # SQLite's limit on parameters
        chunk = ids[i:i + 500]
        for entry_id, at, version, *content in db.execute(
                f"select entry_id, at, version, {values} from history"
                f" where entry_id in ({', '.join('?' * len(chunk))})", chunk):
            found[entry_id].append((parse_time(at), version, json.dumps(content, ensure_ascii=False)))
    out = {}
    for entry_id, rows in found.items():
        current = max(rows, key=lambda r: r[1])[2]
        rows.sort()
        out[entry_id] = Versions(tuple(r[0] for r in rows), tuple(r[2] for r in rows), current)
    return out


def current_answers(kb, searched: set | None = None) -> Answers:
    """`mine_gaps`' `answers` from the knowledge base as it is now: per text, the
    retriever's top hit if it is confident (confidence >= 0.5, where it flags no-match),
    with the `Versions` of its question, similar questions and answer. Only the top hit:
    a confident second or third one is what an agent would see below a wrong first
    answer, and when the first is the entry agents rejected, the message is still
    unanswered. Ranked on semantics alone (no use prior or demotion: what agents turned
    down is weighed by `mine_gaps` itself) and without document passages.
    `searched`: given, the content hashes of the indexes the answers were found on are
    added to it. A search does not wait for another process writing the index (a bulk
    import): it reads the previous one, which may not hold what the store holds now."""
    from kefu.kb.embed import cache_key, read_as_query
    from kefu.kb.store import text_hash

    from .retrieve import Retriever
    from .stats import window_states

    def cached(model, text: str) -> np.ndarray:
        # From the embedding cache: a message's query vector is mostly its gap vector, kept
        # there already, and each load of the gaps page checks the same texts again
        # (encoding 200 of them took minutes on two busy cores). One read otherwise (Cantonese
        # read as Mandarin, a chat app's name line) is not kept: no message's vector, it
        # would stay past retention.
        h = text_hash(read_as_query(model, [text])[0])
        found = kb.store.cached_vectors(cache_key(model), [h]).get(h)
        return found if found is not None else kb.encode_query(model, text)

    retriever = Retriever(kb, top_k=1, references=0, prior=None, encode=cached)
    # What the retriever finds depends on, as for the gaps kept (suggest/learn.py `gaps_basis`;
    # the models are the knowledge base's own), and on the index it searches: the store's
    # published hash says what the index should hold, not what the one searched holds.
    state = [kb.store.published_hash(), kb.store.changes().get("entries"), window_states(kb.store.db)]

    def answers(texts: list[str]) -> list[dict[str, Versions | None]]:
        found = []
        for text in texts:
            index = kb.index().content_hash  # the one the search below reads, unless it moves on
            now = [*state, index]
            kept_state, checked = _CHECKED.get(kb, (None, {}))
            if kept_state != now:
                checked = {}
                _CHECKED[kb] = (now, checked)
            h = text_hash(text)
            if h in checked:
                checked[h] = checked.pop(h)  # the newest last: the oldest go first
            else:
                # as the assistant decides: a job application stays a gap until an entry is written for one
                ids = [hit.entry_id for hit in retriever.search(text).hits[:1]
                       if hit.confidence >= CONFIDENT and not offer_unanswered(text, hit)]
                after = kb.index().content_hash
                if after != index:  # another index searched: kept for none
                    if searched is not None:
                        searched.update((index, after))
                    found.append(ids)
                    continue
                checked[h] = ids
                while len(checked) > CHECKS_KEPT:
                    del checked[next(iter(checked))]
            if searched is not None:
                searched.add(index)
            found.append(checked[h])
        changed = content_versions(kb.store.db, [e for ids in found for e in ids], ("question", "similar", "answer"))
        return [{e: changed.get(e) for e in ids} for ids in found]

    return answers


# What `current_answers` found for each text (by its hash: no message is held), per knowledge
# base, while what its retriever finds is unchanged: mining again after a new message checked
# the same 200 texts against the index again (~1-5 s, in the console's lock that the panel's
# suggestions wait on), where only the new one needed it. Kept under the content hash of the
# index searched too: what was found on the previous index while another process wrote the
# new one was reused after it, and a gap an entry added then fills stayed until entries changed.
_CHECKED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
CHECKS_KEPT = 4 * MAX_CHECKS


def drift_edits(db, since: str | None = None) -> list[tuple[str, str, str, tuple[int, int] | None]]:
    """(entry_id, draft shown, text sent, where the entry's answer is in the draft) for
    every edit feedback whose draft is known.

    The draft is the suggestion's drafts[draft - 1]; the entry is the feedback's, or
    else that draft's first entry. Its answer's place in the draft is found from the
    answer logged with the suggestion's hits (`answer_span`; None when it is not logged
    or not found). Edits without a draft number or entry are skipped,
    and so are edits of drafts shown before the entry's answer last changed (history
    table): once an editor has updated the answer, edits of the old one no longer say
    it needs updating.
    """
    where, args = _since("f.at", since)
    rows = []
    seen = set()
    for sid, entry_id, draft_no, text, drafts, shown_at, hits in db.execute(
            "select f.suggestion_id, f.entry_id, f.draft, f.text, s.drafts, s.at, s.hits from feedback f"
            " join suggestions s on s.id = f.suggestion_id"
            f" where f.action = 'edit' and f.text is not null and f.draft is not null{where}"
            " order by f.at, f.id", args):
        try:
            shown = json.loads(drafts or "[]")
        except json.JSONDecodeError:
            continue
        if not 1 <= draft_no <= len(shown):
            continue
        draft = shown[draft_no - 1]
        entry_id = entry_id or next(iter(draft.get("entry_ids") or []), None)
        # One customer message, one say: its warm and concise drafts edited alike are one.
        if entry_id and draft.get("text") and (sid, entry_id) not in seen:
            seen.add((sid, entry_id))
            rows.append((entry_id, draft["text"], text, _logged_answer(hits, entry_id), parse_time(shown_at)))
    changed = last_changes(db, [r[0] for r in rows])
    retired = _unpublished(db, [r[0] for r in rows])  # archived since: its answer is used no more
    # Strictly after: a draft logged in the same second as the change may show either answer.
    # Aligned only then (difflib, a millisecond each): a year's edits are tens of thousands,
    # most of them of answers changed since.
    return [(e, d, t, answer_span(d, answer) if answer else None) for e, d, t, answer, at in rows
            if e not in retired and (e not in changed or at > changed[e])]


def _unpublished(db, entry_ids) -> set[str]:
    """Those of `entry_ids` the store holds as archived or draft."""
    ids = sorted(set(entry_ids))
    out: set[str] = set()
    for i in range(0, len(ids), 500):  # SQLite's limit on parameters
        chunk = ids[i:i + 500]
        out |= {e for (e,) in db.execute(f"select id from entries where id in ({', '.join('?' * len(chunk))})"
                                         " and status != 'published'", chunk)}
    return out


def _logged_answer(hits: str | None, entry_id: str) -> str | None:
    """The answer of `entry_id` as a logged suggestion's hits show it, if they do."""
    try:
        found = json.loads(hits or "[]")
    except json.JSONDecodeError:
        return None
    return next((h.get("answer") for h in found if isinstance(h, dict) and h.get("id") == entry_id
                 and isinstance(h.get("answer"), str)), None)

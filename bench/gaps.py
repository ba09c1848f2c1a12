"""Gap mining on ../shared/bench/*: are the clusters of unanswered queries one topic each?

Takes the dataset's queries with no gold entry (`"gold": []`) as a stream of no-match
messages spread evenly over the last 30 days, embeds them with the default models
(use + e5, mean cosine) and prints, for a few thresholds, every cluster with all its
members, so a person can judge them; then what sklearn's HDBSCAN makes of the same
vectors, the alternative `mine_gaps` did not take.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from kefu.kb.embed import load_embedders
from kefu.kb.text import normalize
from kefu.suggest.gaps import DEFAULT_THRESHOLD, GapMessage, combined_embedder, mine_gaps

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.70, DEFAULT_THRESHOLD, 0.80)


def load_messages(dataset: Path, now: datetime) -> list[GapMessage]:
    queries = [json.loads(line) for line in (dataset / "queries.jsonl").read_text("utf-8").splitlines()
               if line.strip()]
    texts = [q["query"] for q in queries if q.get("gold") == []]
    step = timedelta(days=30) / max(len(texts) - 1, 1)
    start = now - timedelta(days=30)
    return [GapMessage(t, (start + i * step).isoformat(timespec="seconds"), "no_match")
            for i, t in enumerate(texts)]


def show(title: str, clusters: list[list[str]], n_messages: int, notes: list[str] | None = None) -> None:
    """Every cluster of two or more, first member first; `notes` are printed beside each."""
    kept = [c for c in clusters if len(c) >= 2]
    print(f"\n== {title}: {n_messages} messages, {len(kept)} clusters,"
          f" {n_messages - sum(len(c) for c in kept)} singletons dropped")
    for i, members in enumerate(kept, 1):
        note = f"   ({notes[i - 1]})" if notes else ""
        print(f"  [{i}] {members[0]}{note}")
        for m in members[1:]:
            print(f"        - {m}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared" / "bench" / "shop-dev"))
    args = ap.parse_args()
    dataset = Path(args.dataset)
    if not (dataset / "queries.jsonl").exists():
        sys.exit(f"no benchmark at {dataset}")

    started = time.perf_counter()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    messages = load_messages(dataset, now)
    embed = combined_embedder(load_embedders("use,e5"))
    # mine_gaps normalises before embedding; the cache only saves re-encoding per threshold.
    cache: dict[str, np.ndarray] = {}

    def cached(texts: list[str]) -> np.ndarray:
        missing = [t for t in texts if t not in cache]
        if missing:
            cache.update(zip(missing, embed(missing)))
        return np.stack([cache[t] for t in texts])

    print(f"dataset {dataset}: {len(messages)} unanswered queries as no-match messages over 30 days")
    for threshold in THRESHOLDS:
        gaps = mine_gaps(messages, cached, threshold=threshold, min_size=2, limit=1000, now=now,
                         max_examples=1000)
        mark = " (default)" if threshold == DEFAULT_THRESHOLD else ""
        show(f"mine_gaps threshold {threshold}{mark}", [[g.question, *g.examples] for g in gaps],
             len(messages), [f"count {g.count}, score {g.score:.3f}, last {g.last_at[:10]}" for g in gaps])

    from sklearn.cluster import HDBSCAN

    texts = [m.text for m in messages]
    vectors = cached([normalize(t).text for t in texts])
    labels = HDBSCAN(min_cluster_size=2, metric="cosine", copy=True).fit_predict(vectors)
    clusters = [[t for t, k in zip(texts, labels) if k == label] for label in sorted(set(labels) - {-1})]
    show("HDBSCAN min_cluster_size=2 (for comparison)", clusters, len(messages))
    print(f"\n{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

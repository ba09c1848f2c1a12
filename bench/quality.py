"""Quality on ../shared/bench/* : every score part alone and the shipped fusion.

Prints recall@1/5, MRR and no-match F1 for BM25 alone, each dense model alone and the
default fusion. For the parts alone, no-match F1 is at the best threshold on the top
score (chosen on the same set, so optimistic), as in ../shared/bench/README.md; for
the shipped pipeline it is the shipped calibration.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from kefu.kb.embed import load_embedders
from kefu.suggest.evaluate import evaluate
from kefu.suggest.retrieve import LEXICAL, Fusion

ROOT = Path(__file__).resolve().parent.parent


def best_f1(results) -> float:
    conf = np.array([r["score"] for r in results])
    neg = np.array([not r["gold"] for r in results])
    best = 0.0
    for t in np.unique(conf):
        flag = conf <= t
        tp, fp = (flag & neg).sum(), (flag & ~neg).sum()
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / neg.sum()
        best = max(best, 2 * p * r / (p + r) if p + r else 0.0)
    return round(float(best), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared" / "bench" / "shop-dev"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not Path(args.dataset, "queries.jsonl").exists():
        sys.exit(f"no benchmark at {args.dataset}")
    embedders = load_embedders("use,e5")
    alone = lambda part: Fusion(weights={p: (1.0 if p == part else 0.0)  # noqa: E731
                                         for p in ("use-m3", "e5-small-q4", LEXICAL)})
    configs = {"bm25": alone(LEXICAL), "use-m3": alone("use-m3"), "e5-small-q4": alone("e5-small-q4"),
               "fusion (shipped)": Fusion()}
    rows = {}
    for name, fusion in configs.items():
        r = evaluate(args.dataset, embedders, fusion=fusion, keep_results=True)
        rows[name] = {"recall@1": r["recall@1"], "recall@5": r["recall@5"], "mrr": r["mrr"],
                      "no_match_f1_best": best_f1(r["results"]), "no_match": r["no_match"],
                      "gated": r["gated"], "latency_ms": r["latency_ms"],
                      "by_kind": {k: v["recall@1"] for k, v in r["by_kind"].items()}}
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    print(f"dataset {args.dataset}")
    print(f"{'method':18s} {'R@1':>6s} {'R@5':>6s} {'MRR':>6s} {'nm-F1*':>7s} {'nm-F1':>6s} {'p50ms':>6s} {'p95ms':>6s}")
    for name, r in rows.items():
        print(f"{name:18s} {r['recall@1']:6.3f} {r['recall@5']:6.3f} {r['mrr']:6.3f} "
              f"{r['no_match_f1_best']:7.3f} {r['no_match']['f1']:6.3f} "
              f"{r['latency_ms']['p50']:6.1f} {r['latency_ms']['p95']:6.1f}")
    print("nm-F1* = best threshold on this set (optimistic); nm-F1 = shipped calibration "
          "(meaningful for the fusion row only). Latency includes every part's encoding.")
    print("targets (fusion): R@1 >= 0.85, MRR >= 0.90, no-match F1 >= 0.70")
    print("R@1 by kind (fusion):", json.dumps(rows["fusion (shipped)"]["by_kind"], ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Learning benchmark: scores before/after replaying a feedback file, by part, and the
cost of fine-tuning.

    python bench/learn.py [--dataset ../shared/bench/shop-dev] [--skip-finetune] [--pairs 3000]

1. For each of: learned phrasings alone, the use prior alone, fine-tuning alone, and all
   together, `evaluate(..., learn=learn.jsonl, learn_parts=...)` (every replayed accept
   trusted, as `kefu eval --learn` does) and prints recall@1/5, MRR and no-match P/F1.
2. With `--pairs N`: fine-tunes on N synthetic accepted messages over the shipped corpus
   (each a phrasing with a greeting or filler added, so every key is distinct) in a
   child process, and prints its wall time and peak memory (budget: 3,000 pairs in
   ≤ 10 minutes and ≤ 4 GiB on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = {"phrasings alone": ("phrasings",), "prior alone": ("prior",), "fine-tuning alone": ("finetune",),
         "all together": ("phrasings", "prior", "finetune")}


def row(name: str, d: dict) -> str:
    nm = d["no_match"]
    return (f"{name:24s} R@1 {d['recall@1']:.3f}  R@5 {d['recall@5']:.3f}  MRR {d['mrr']:.3f}"
            f"  no-match P {nm['precision']:.3f} R {nm['recall']:.3f} F1 {nm['f1']:.3f}")


def scores(dataset: Path, skip_finetune: bool, only: list[str] | None = None) -> None:
    from kefu.kb.embed import load_embedders
    from kefu.suggest.evaluate import evaluate

    embedders = load_embedders("use,e5")
    before = None
    for name, parts in PARTS.items():
        if (skip_finetune and "finetune" in parts) or (only and name not in only):
            continue
        start = time.perf_counter()
        report = evaluate(dataset, embedders, learn=dataset / "learn.jsonl", learn_parts=parts)
        if before is None:
            before = report["before"]
            print(row("before", before))
        after = report["after"]
        print(row(name, after) + f"   ΔR@1 {after['recall@1'] - before['recall@1']:+.3f}"
              f"  ΔP {after['no_match']['precision'] - before['no_match']['precision']:+.3f}"
              f"  ({time.perf_counter() - start:.0f} s)", flush=True)
        tuned = report["learn"]["finetune"]
        if tuned:
            print(f"    fine-tuning: {tuned['reason']}; {tuned['seconds']} s, peak RSS {tuned['peak_rss_mb']:.0f} MB,"
                  f" {tuned['train_pairs']} train / {tuned['held_out_pairs']} held-out pairs", flush=True)
        # Every part starts from the same models: a kept fine-tuned model replaced e5 only
        # inside that evaluation's temporary folder.


def synthetic_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    from kefu.corpus import ENTRIES
    from kefu.kb.io import read_entries

    fillers = ["亲，", "你好，", "请问", "在吗？", "麻烦问下", "客服，", "我想问一下", "急！", "打扰一下，", "哈喽 "]
    tails = ["", "？", "呀", "，谢谢", "。", "？急", " 在线等", "～"]
    rng = random.Random(seed)
    base = [(p, e["id"]) for e in read_entries(ENTRIES) for p in e["similar"]]
    out, seen = [], set()
    while len(out) < n:
        p, e = rng.choice(base)
        text = rng.choice(fillers) + p + rng.choice(tails)
        if (text, e) not in seen:
            seen.add((text, e))
            out.append((text, e))
    return out


def cost(n: int) -> None:
    """Runs in a child process so that its peak memory is the fine-tuning's own."""
    from kefu.corpus import ENTRIES
    from kefu.kb.base import KnowledgeBase
    from kefu.kb.embed import load_embedders
    from kefu.kb.io import read_entries
    from kefu.kb.learned import Event
    from kefu.suggest.finetune import finetune, peak_rss_mb
    from kefu.suggest.learn import Learner

    with tempfile.TemporaryDirectory() as home:
        kb = KnowledgeBase(home, load_embedders("use,e5"))
        kb.import_entries(read_entries(ENTRIES))
        Learner(kb).record([Event(t, "accept", e, f"agent{i % 7}") for i, (t, e) in enumerate(synthetic_pairs(n))])
        rss0 = peak_rss_mb()
        outcome = finetune(kb, Path(home))
        print(json.dumps({"pairs": n, "seconds": outcome.seconds, "peak_rss_mb": outcome.peak_rss_mb,
                          "rss_before_mb": round(rss0, 1), "reason": outcome.reason,
                          "train_pairs": outcome.train_pairs}, ensure_ascii=False))
        kb.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "bench" / "shop-dev")
    ap.add_argument("--skip-finetune", action="store_true")
    ap.add_argument("--only", help="comma-separated row names, e.g. 'fine-tuning alone,all together'")
    ap.add_argument("--pairs", type=int, default=0, help="also time fine-tuning on N synthetic pairs")
    ap.add_argument("--cost-child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cost_child:
        cost(args.cost_child)
        return
    scores(args.dataset, args.skip_finetune, args.only.split(",") if args.only else None)
    if args.pairs:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--cost-child", str(args.pairs)], capture_output=True,
                             text=True, check=True)
        d = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"fine-tuning {d['pairs']} synthetic pairs ({d['train_pairs']} trained): {d['seconds']} s in finetune(),"
              f" {time.perf_counter() - start:.0f} s with set-up; peak RSS {d['peak_rss_mb']:.0f} MB"
              f" (models and index loaded: {d['rss_before_mb']:.0f} MB); {d['reason']}")


if __name__ == "__main__":
    main()

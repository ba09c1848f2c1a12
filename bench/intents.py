"""Confusion matrices of suggest/understand.py on our own labelled messages: intent
(with the shipped corpus's top entry category, as `kefu suggest` uses it) and
sentiment. Each set is reported on its own: tests/data/intents.jsonl (in-sample: the
lexicons were adjusted on it), tests/data/intents_heldout.jsonl (written after the
lexicons, before reading them; its misreadings guided the next fix) and
tests/data/intents_fresh.jsonl (written after that fix, never tuned on), and two sets of
shops of other trades (cosmetics, food, fresh food, furniture, electronics, pets, books),
written together before the lexicons learned those trades: tests/data/intents_trades.jsonl
(the lexicons were adjusted on it) and tests/data/intents_trades_fresh.jsonl (every fourth
message, never tuned on). --data names other files."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

from kefu.corpus import ENTRIES, TERMS
from kefu.kb.base import KnowledgeBase
from kefu.kb.embed import load_embedders
from kefu.kb.io import read_entries
from kefu.suggest.retrieve import Retriever
from kefu.suggest.understand import INTENTS, understand

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
SETS = [DATA_DIR / "intents.jsonl", DATA_DIR / "intents_heldout.jsonl", DATA_DIR / "intents_fresh.jsonl",
        DATA_DIR / "intents_trades.jsonl", DATA_DIR / "intents_trades_fresh.jsonl"]


def matrix(pairs: list[tuple[str, str]], labels: list[str]) -> str:
    counts = Counter(pairs)
    width = max(len(x) for x in labels) + 1
    rows = ["gold \\ predicted".ljust(width + 2) + "".join(x[:9].rjust(10) for x in labels)]
    for g in labels:
        rows.append(g.ljust(width + 2) + "".join(str(counts[(g, p)]).rjust(10) for p in labels))
    return "\n".join(rows)


def score(retriever: Retriever, items: list[dict]) -> dict:
    intents, sentiments, wrong = [], [], []
    for it in items:
        r = retriever.search(it["message"])
        u = understand(it["message"], None if r.no_match else r.hits[0].category)
        intents.append((it["intent"], u.intent))
        sentiments.append((it["sentiment"], u.sentiment))
        if u.intent != it["intent"]:
            wrong.append(f"{it['intent']:>9} → {u.intent:<9} {it['message']}")
        if u.sentiment != it["sentiment"]:
            wrong.append(f"{it['sentiment']:>9} ⇒ {u.sentiment:<9} {it['message']}")
    return {"intents": intents, "sentiments": sentiments, "wrong": wrong,
            "acc_i": sum(g == p for g, p in intents) / len(items),
            "acc_s": sum(g == p for g, p in sentiments) / len(items)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--data", type=Path, action="append",
                    help="a JSONL file of labelled messages (repeatable; default: the shipped sets)")
    args = ap.parse_args()
    sets = {path: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            for path in (args.data or SETS)}
    with tempfile.TemporaryDirectory() as home:
        kb = KnowledgeBase(home, load_embedders("use,e5"))
        kb.add_terms(TERMS.read_text(encoding="utf-8").split())
        kb.import_entries(read_entries(ENTRIES))
        retriever = Retriever(kb)
        results = {path: score(retriever, items) for path, items in sets.items()}
        kb.close()
    if args.json:
        print(json.dumps({path.name: {
            "n": len(sets[path]), "intent_accuracy": round(r["acc_i"], 4),
            "sentiment_accuracy": round(r["acc_s"], 4),
            "intent_confusion": {f"{g}->{p}": n for (g, p), n in Counter(r["intents"]).items()},
            "sentiment_confusion": {f"{g}->{p}": n for (g, p), n in Counter(r["sentiments"]).items()}}
            for path, r in results.items()}, ensure_ascii=False, indent=2))
        return
    for path, r in results.items():
        print(f"== {path.name}: {len(sets[path])} labelled messages; "
              f"intent accuracy {r['acc_i']:.3f}, sentiment accuracy {r['acc_s']:.3f}\n")
        print(matrix(r["intents"], list(INTENTS)))
        print()
        print(matrix(r["sentiments"], ["calm", "anxious", "angry"]))
        print("\nmisread (→ intent, ⇒ sentiment):")
        print("\n".join(r["wrong"]))
        print()


if __name__ == "__main__":
    main()

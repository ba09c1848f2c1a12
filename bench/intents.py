"""Confusion matrices of suggest/understand.py on tests/data/intents.jsonl (our own
labelled messages): intent (with the shipped corpus's top entry category, as
`kefu suggest` uses it) and sentiment."""

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

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "intents.jsonl"


def matrix(pairs: list[tuple[str, str]], labels: list[str]) -> str:
    counts = Counter(pairs)
    width = max(len(x) for x in labels) + 1
    rows = ["gold \\ predicted".ljust(width + 2) + "".join(x[:9].rjust(10) for x in labels)]
    for g in labels:
        rows.append(g.ljust(width + 2) + "".join(str(counts[(g, p)]).rjust(10) for p in labels))
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    items = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as home:
        kb = KnowledgeBase(home, load_embedders("use,e5"))
        kb.add_terms(TERMS.read_text(encoding="utf-8").split())
        kb.import_entries(read_entries(ENTRIES))
        retriever = Retriever(kb)
        intents, sentiments, wrong = [], [], []
        for it in items:
            r = retriever.search(it["message"])
            u = understand(it["message"], None if r.no_match else r.hits[0].category)
            intents.append((it["intent"], u.intent))
            sentiments.append((it["sentiment"], u.sentiment))
            if u.intent != it["intent"]:
                wrong.append(f"{it['intent']:>9} → {u.intent:<9} {it['message']}")
        kb.close()
    acc_i = sum(g == p for g, p in intents) / len(items)
    acc_s = sum(g == p for g, p in sentiments) / len(items)
    if args.json:
        print(json.dumps({"n": len(items), "intent_accuracy": round(acc_i, 4),
                          "sentiment_accuracy": round(acc_s, 4),
                          "intent_confusion": {f"{g}->{p}": n for (g, p), n in Counter(intents).items()},
                          "sentiment_confusion": {f"{g}->{p}": n for (g, p), n in Counter(sentiments).items()}},
                         ensure_ascii=False, indent=2))
        return
    print(f"{len(items)} labelled messages; intent accuracy {acc_i:.3f}, sentiment accuracy {acc_s:.3f}\n")
    print(matrix(intents, list(INTENTS)))
    print()
    print(matrix(sentiments, ["calm", "anxious", "angry"]))
    print("\nmisread intents:")
    print("\n".join(wrong))


if __name__ == "__main__":
    main()

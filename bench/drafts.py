"""Drafting quality and cost on ../shared/bench/shop-dev (issue: polite reply drafts).

Prints, over the dataset's queries:
- script: share of drafts written in the customer's script, judged here by counting
  characters that OpenCC's t2s / s2t would change (independent of kefu's detector);
- facts: share of first drafts (answerable queries whose top hit is correct) that
  contain every number/duration of the gold entry's answer, both sides simplified;
- flags on text kefu adds (should be 0);
- no answer: share of unanswerable queries whose first draft is a clarifying or
  no-match draft rather than an answer (and, beside it, the share whose first draft
  quotes no entry's answer: a greeting or goodbye for "你好" / "好的谢谢" counts there);
- two questions: share of the queries with two gold entries whose first draft quotes
  both (and whose drafts, any of them, do), and share of one-gold queries answered
  correctly at the top whose first draft quotes some other entry as well (a second
  answer nobody asked for), and share of one-gold queries with some draft answering
  exactly the gold entry;
- latency: Assistant.suggest vs Retriever.search alone on the same queries (p95 of
  each, and their difference), and the part of suggest spent outside retrieval, per
  message: drafting itself. A message asking two things is searched twice (each
  question on its own), so the difference of the p95s moves with how many of those
  fall in the slowest 5 %; the outside-retrieval p95 does not.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import opencc

from kefu import corpus
from kefu.kb.base import KnowledgeBase
from kefu.kb.embed import load_embedders
from kefu.kb.feedback import QUESTION_STYLES, draft_answers
from kefu.kb.io import read_entries
from kefu.suggest.assistant import Assistant
from kefu.suggest.draft import Composer
from kefu.suggest.evaluate import load_queries
from kefu.suggest.phrases import PhraseLibrary
from kefu.suggest.retrieve import Retriever
from kefu.suggest.safety import Safety

ROOT = Path(__file__).resolve().parent.parent
T2S, S2T = opencc.OpenCC("t2s"), opencc.OpenCC("s2t")
NUMBER = re.compile(r"\d+(?:[.\-~～]\d+)*")


def judge_script(text: str) -> tuple[int, int]:
    """(traditional-only, simplified-only) characters, counted with OpenCC directly."""
    return (sum(a != b for a, b in zip(text, T2S.convert(text))),
            sum(a != b for a, b in zip(text, S2T.convert(text))))


def in_script(draft: str, customer: str) -> bool:
    """Both judged by which count is larger. (OpenCC's s2t writes 審覈, 高峯 where Taiwan
    writes 審核, 高峰, so a few characters of a correct Taiwan draft count as simplified.)"""
    c_trad, c_simp = judge_script(customer)
    d_trad, d_simp = judge_script(draft)
    return (d_trad > d_simp) == (c_trad > c_simp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared" / "bench" / "shop-dev"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ds = Path(args.dataset)
    if not (ds / "queries.jsonl").exists():
        sys.exit(f"no benchmark at {ds}")
    gold_answers = {e["id"]: e["answer"] for e in read_entries(ds / "kb.jsonl")}
    queries = load_queries(ds / "queries.jsonl")
    with tempfile.TemporaryDirectory() as home:
        kb = KnowledgeBase(home, load_embedders("use,e5"))
        kb.import_entries(read_entries(ds / "kb.jsonl"))
        retriever = Retriever(kb)
        composer = Composer(PhraseLibrary.load(corpus.HUASHU),
                            Safety.load(corpus.SENSITIVE_WORDS, corpus.SAFE_PHRASES))
        assistant = Assistant(retriever, composer)
        retriever.warm_up()
        for q in queries[:10]:
            assistant.suggest(q["query"])
        drafts_ok = drafts_n = facts_ok = facts_n = kefu_flags = none_ok = none_n = none_quiet = 0
        both_ok = both_any = both_n = extra = single_n = one_n = one_exact = 0
        t_suggest, t_search, t_outside, searches = [], [], [], []
        inner = [0.0, 0]  # time in, and number of, Retriever.search calls of one suggest
        search = retriever.search

        def counted_search(*args, **kwargs):
            t = time.perf_counter()
            try:
                return search(*args, **kwargs)
            finally:
                inner[0] += time.perf_counter() - t
                inner[1] += 1

        retriever.search = counted_search  # what the assistant calls; the baseline calls `search`
        for i, q in enumerate(queries):
            order = [0, 1] if i % 2 == 0 else [1, 0]  # alternate so neither runs cache-warm
            for which in order:
                kb.forget_queries()  # each call encodes its texts, as for a new message
                t0 = time.perf_counter()
                if which == 0:
                    inner[:] = [0.0, 0]
                    s = assistant.suggest(q["query"])
                    t_suggest.append(time.perf_counter() - t0)
                    t_outside.append(t_suggest[-1] - inner[0])
                    searches.append(inner[1])
                else:
                    search(q["query"])
                    t_search.append(time.perf_counter() - t0)
            for d in s.drafts:
                drafts_n += 1
                drafts_ok += in_script(d.text, q["query"])
                kefu_flags += sum(f.source == "kefu" for f in d.flags)
            if not q["gold"]:
                none_n += 1
                none_ok += bool(s.drafts) and s.drafts[0].style in QUESTION_STYLES + ("no_match",)
                # A greeting or a goodbye answers "你好" / "好的谢谢" rightly and quotes no
                # entry: not counted above, where only the two "no answer" styles count.
                none_quiet += bool(s.drafts) and (s.drafts[0].style in QUESTION_STYLES or not s.drafts[0].entry_ids)
                continue
            # What a draft answers: a clarifying one names entries but answers none.
            answers = [set(draft_answers(asdict(d))) for d in s.drafts]
            quoted = answers[0] if answers else set()
            if len(q["gold"]) >= 2:
                both_n += 1
                both_ok += set(q["gold"]) <= quoted
                both_any += any(set(q["gold"]) <= a for a in answers)
            else:
                one_n += 1
                one_exact += any(a == set(q["gold"]) for a in answers)
            if s.hits and s.hits[0].id in q["gold"] and s.drafts:
                first = T2S.convert(s.drafts[0].text)
                numbers = set(NUMBER.findall(T2S.convert(gold_answers[s.hits[0].id])))
                facts_n += 1
                facts_ok += all(n in first for n in numbers)
                if len(q["gold"]) == 1:
                    single_n += 1
                    extra += bool(quoted - set(q["gold"]))
        kb.close()
    ms = lambda xs, p: round(float(np.percentile(np.array(xs) * 1000, p)), 2)  # noqa: E731
    report = {
        "dataset": str(ds), "drafts": drafts_n,
        "script_share": round(drafts_ok / drafts_n, 4),
        "facts_share": round(facts_ok / max(facts_n, 1), 4), "facts_n": facts_n,
        "kefu_flags": kefu_flags,
        "no_answer_share": round(none_ok / max(none_n, 1), 4), "no_answer_n": none_n,
        "no_answer_no_entry_share": round(none_quiet / max(none_n, 1), 4),
        "both_share": round(both_ok / max(both_n, 1), 4), "both_n": both_n,
        "both_any_share": round(both_any / max(both_n, 1), 4),
        "extra_answer_share": round(extra / max(single_n, 1), 4), "extra_answer_n": extra,
        "one_gold_exact_share": round(one_exact / max(one_n, 1), 4), "one_gold_n": one_n,
        "latency_ms": {"suggest_p50": ms(t_suggest, 50), "suggest_p95": ms(t_suggest, 95),
                       "search_p50": ms(t_search, 50), "search_p95": ms(t_search, 95),
                       "outside_search_p50": ms(t_outside, 50), "outside_search_p95": ms(t_outside, 95),
                       "searched_twice": sum(n > 1 for n in searches)},
    }
    report["latency_ms"]["added_p95"] = round(report["latency_ms"]["suggest_p95"] - report["latency_ms"]["search_p95"], 2)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"dataset {ds}: {drafts_n} drafts for {len(queries)} queries")
    print(f"drafts in the customer's script  {report['script_share']:.3f}   (target 1.000)")
    print(f"first drafts keeping every number {report['facts_share']:.3f}   of {facts_n} correct top hits (target >= 0.95)")
    print(f"flags on text kefu adds           {kefu_flags}       (target 0)")
    print(f"no-answer queries not answered    {report['no_answer_share']:.3f}   of {none_n} (target >= 0.80); "
          f"first draft quoting no entry's answer (a greeting or goodbye counts) {report['no_answer_no_entry_share']:.3f}")
    lat = report["latency_ms"]
    print(f"two-question queries, both quoted {report['both_share']:.3f} in the first draft, "
          f"{report['both_any_share']:.3f} in some draft, of {report['both_n']}; "
          f"one-question queries with an extra answer {report['extra_answer_share']:.3f} ({extra} of {single_n})")
    print(f"one-gold queries with a draft answering exactly the gold entry {report['one_gold_exact_share']:.3f}"
          f" ({one_exact} of {one_n})")
    print(f"latency ms: suggest p50 {lat['suggest_p50']} p95 {lat['suggest_p95']}; search alone p50 "
          f"{lat['search_p50']} p95 {lat['search_p95']}; drafting adds {lat['added_p95']} at p95 (target <= 5)")
    print(f"           suggest outside retrieval p50 {lat['outside_search_p50']} p95 {lat['outside_search_p95']}; "
          f"{lat['searched_twice']} of {len(queries)} messages searched twice (two questions)")


if __name__ == "__main__":
    main()

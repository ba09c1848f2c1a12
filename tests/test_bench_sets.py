"""The project's own benchmark sets (bench/sets/*) stay well formed: they check that what was
tuned on ../shared/bench/shop-dev holds elsewhere, so a broken line would skew that check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kefu.kb.text import normalize
from kefu.suggest.evaluate import load_kb, load_queries

SETS = sorted(p for p in (Path(__file__).resolve().parent.parent / "bench" / "sets").iterdir() if p.is_dir())
KINDS = {"paraphrase", "colloquial", "typo", "traditional", "story", "multi", "none"}


def _bare(text: str) -> str:
    return re.sub(r"\W", "", normalize(text).text)


@pytest.mark.parametrize("folder", SETS, ids=lambda p: p.name)
def test_a_bench_set_loads_and_no_query_repeats_a_phrasing(folder):
    entries = load_kb(folder / "kb.jsonl")
    queries = load_queries(folder / "queries.jsonl", {e["id"] for e in entries})  # unknown gold ids fail
    assert len({e["id"] for e in entries}) == len(entries)
    assert {q["kind"] for q in queries} <= KINDS
    assert all(bool(q["gold"]) == (q["kind"] != "none") for q in queries)
    assert all(len(q["gold"]) == 2 for q in queries if q["kind"] == "multi")
    phrasings = {_bare(p) for e in entries for p in [e["question"], *e.get("similar", [])]}
    assert not [q["query"] for q in queries if _bare(q["query"]) in phrasings]
    assert (folder / "README.md").is_file()


def test_there_is_a_bench_set():
    assert SETS

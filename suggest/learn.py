"""Learning from agents: recording feedback, the use prior and demotion at ranking time.

Three ways feedback changes what the assistant suggests, each bounded and reversible:
- learned phrasings (kb/learned.py): a trusted accepted message is indexed with its
  entry, as if an editor had added it as a similar question;
- the use prior: an entry's accepts and rejects move its ranking score by at most
  `PriorRule.cap` (see there for why it can never beat a clear semantic match);
- demotion: an entry that agents rejected for a message is ranked down for that message
  and its near-duplicates only.
Fine-tuning lives in suggest/finetune.py, gap mining in suggest/gaps.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from kefu.kb.embed import read_as_query
from kefu.kb.errors import ImportFileError
from kefu.kb.feedback import answered_hit, log_marker, retention_cutoff
from kefu.kb.io import iter_jsonl, read_text
from kefu.kb.learned import (Event, LearnError, LearnStore, Recorded, TrustRule, agent_name, has_details,
                             phrase_key)
from kefu.kb.store import log_generation, writing
from kefu.kb.text import MAX_MESSAGE, mandarin, normalize

from .stats import as_utc


@dataclass
class PriorRule:
    """How use statistics move ranking.

    prior(entry) = cap * (accepts - rejects) / (accepts + rejects + smooth), so it lies in
    (-cap, +cap) and needs many events to approach either end. A named agent's events
    count at most twice a side (events of no named agent, from replayed files, each),
    and the prior is zero until they come from `min_agents` different agents: one
    agent's clicks, however many, move no ranking alone nor outweigh two colleagues'.
    It is added to the fused
    score used for *ordering* only; confidence and the no-match flag stay purely semantic,
    so a popular entry can never turn chit-chat into a match. With the default weights a
    cap of 0.04 equals a 0.02 difference in e5 cosine: it breaks near-ties, and a hit that
    leads by more than 2 × cap cannot be overtaken by any history.
    """
    cap: float = 0.04
    smooth: float = 4.0
    demote: float = 0.5  # subtracted for a message near one the entry was rejected for
    near: float = 0.92  # mean cosine over the models at which two messages are "the same"
    min_agents: int = 2  # different agents an entry's events must come from to count

    def prior(self, accepts: int, rejects: int) -> float:
        return self.cap * (accepts - rejects) / (accepts + rejects + self.smooth)


@dataclass
class Learning:
    """Ranking adjustments derived from the learning tables (rebuilt when they change)."""
    rule: PriorRule
    prior: dict[str, float] = field(default_factory=dict)
    demoted: list[str] = field(default_factory=list)  # entry id per rejected message
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # model -> (len(demoted), dim)
    keys: dict[str, list[int]] = field(default_factory=dict)  # phrase_key -> positions in `demoted`

    @classmethod
    def load(cls, kb, rule: PriorRule) -> "Learning":
        learned = LearnStore(kb.store)
        prior = {e: rule.prior(a, r) for e, (a, r, agents) in learned.entry_counts().items()
                 if agents >= rule.min_agents}
        rows = learned.demoted()
        texts = [mandarin(normalize(r.text).text) for r in rows]
        # compared with the message searched, so read (kd as 快递) and encoded as a search
        # reads it (a long message's window, not all of it), through the embedding cache
        vectors = {m.id: kb.embed_documents(m, read_as_query(m, texts)) for m in kb.embedders} if rows else {}
        keys: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            keys.setdefault(r.key, []).append(i)
        return cls(rule, prior, [r.entry_id for r in rows], vectors, keys)

    def adjust(self, entries: list[str], queries: dict[str, np.ndarray], message: str | None = None) -> np.ndarray:
        """Per entry: its use prior, minus the demotion if the message is one it was rejected
        for: one near it (mean cosine >= `near`) or, for a message with a phone or order
        number (which the stored text has taken out, moving its vectors), the same message
        as phrase_key reads it. Only then: "地址呢？" and a pasted address share a key."""
        out = np.array([self.prior.get(e, 0.0) for e in entries])
        if self.demoted and entries:
            sims = np.mean([self.vectors[m] @ q for m, q in queries.items() if m in self.vectors], axis=0)
            near = sims >= self.rule.near
            if message is not None and self.keys and has_details(message):
                near[self.keys.get(phrase_key(message), [])] = True
            hit = {self.demoted[i] for i in np.flatnonzero(near)}
            out -= np.array([self.rule.demote if e in hit else 0.0 for e in entries])
        return out


@dataclass
class FeedbackLogged:
    """A feedback row logged (`id`), and `note`: why learning and statistics count it for
    nothing (another agent's say on the customer message counts already), else None."""
    id: int
    note: str | None = None


class Learner:
    """Feedback in, learned phrasings decided on; keeps the index in step after each write.
    `retention_days`: events older than that are not recorded (a replayed file's old
    lines), as the feedback log's purge would delete them; None keeps every event."""

    def __init__(self, kb, retention_days: int | None = None):
        self.kb = kb
        self.store = LearnStore(kb.store)
        self.retention_days = retention_days

    def set_trust(self, rule: TrustRule) -> None:
        """Store the trust rule (the index reads it from the store) and re-index what it changes.
        Without config.json's lock: a data folder's rule is set with `Workspace.set_trust`."""
        self.store_trust(rule)
        self.kb.build_index()  # a write: an index that cannot follow is told (index_error)

    def store_trust(self, rule: TrustRule) -> None:
        """Store the trust rule without re-indexing: for a caller that writes it under
        config.json's lock (`Workspace.set_trust`, the settings page with what it was checked
        against), and re-indexes (`kb.build_index()`) once the lock is released."""
        self.kb.check_index_models()  # before writing: an index of other models cannot follow
        self.store.set_setting("learn.min_agents", str(rule.min_agents))
        self.store = LearnStore(self.kb.store)

    def _apply(self, write) -> Recorded | list[str]:
        self.kb.check_index_models()  # before writing: an index of other models cannot follow
        out = write()
        changed = out.entries if isinstance(out, Recorded) else out
        self.kb.refresh(changed)
        return out

    def record(self, events: list[Event], path: str | None = None) -> Recorded:
        cutoff = retention_cutoff(self.retention_days) if self.retention_days else None
        return self._apply(lambda: self.store.record(events, path, cutoff))

    def record_feedback(self, log, suggestion_id: str, action: str, draft: int | None = None,
                        text: str | None = None, agent: str | None = None) -> int:
        """`log_feedback`, and the feedback row's id."""
        return self.log_feedback(log, suggestion_id, action, draft, text, agent).id

    def log_feedback(self, log, suggestion_id: str, action: str, draft: int | None = None,
                     text: str | None = None, agent: str | None = None) -> "FeedbackLogged":
        """Log the agent's action on a suggestion and learn from it, in one transaction:
        feedback that cannot be learned from (its entry was archived since) stores nothing.
        Learning takes one say per customer message, entry and side: another agent's say
        after the first is logged, and the note says it counts for nothing."""
        self.kb.check_index_models()
        with writing(self.kb.store.db):
            fid = log.record_feedback(suggestion_id, action, draft, text, agent=agent)
            shown = log.suggestion(suggestion_id)
            entry_id = next(f["entry_id"] for f in reversed(shown["feedback"]) if f["action"] == action)
            if entry_id is None and action == "reject" and draft is None:
                # "not helpful" on the whole list rejects the entry the drafts answered, if any
                entry_id = answered_hit(shown["hits"], shown["drafts"])
            if entry_id is None and action != "no_match":
                return FeedbackLogged(fid)  # a clarifying or two-answer draft: no one entry to learn for
            # One say per message, entry and side: using its warm and its concise draft (both
            # of one entry) is one accept. Keyed by the suggestion, not the feedback row id,
            # which SQLite reuses once the newest rows are purged.
            side = "use" if action in ("accept", "edit") else action
            key = f"feedback:{suggestion_id}/{side}/{entry_id or ''}"
            try:
                rec = self.store.record([Event(shown["message"], action, entry_id, agent, key, "panel", text,
                                               suggestion_id)])
            except LearnError as exc:
                if draft is not None or not exc.field:
                    raise
                # The whole list's top hit was archived: no field of the request named it.
                raise LearnError(str(exc)) from None
        self.kb.refresh(rec.entries)
        return FeedbackLogged(fid, self._counted_before(key, agent) if rec.duplicate else None)

    def _counted_before(self, key: str, agent: str | None) -> str | None:
        """The note for a say that learning already has from another agent (`key`'s event):
        the second agent was told "recorded", and nothing said that it counted for nothing."""
        found = self.kb.store.db.execute("select agent, action, entry_id from learn_events where key = ?",
                                         [key]).fetchone()
        if found is None or agent_name(found[0]) == agent_name(agent):
            return None  # the same agent's say again (draft 2 of the entry draft 1 answered): one use
        first, action, entry_id = found
        what = f"{action} of entry {entry_id}" if entry_id else action
        return (f"learning already counts {first or 'another agent'}'s {what} for this suggestion; "
                f"{agent or 'this one'}'s is kept in the log only (one say per customer message)")

    def replay(self, path: str | Path, agent: str | None = None, encoding: str | None = None) -> Recorded:
        """Record a learn.jsonl file (one transaction; a line seen before counts once);
        its encoding is detected unless given."""
        path = Path(path)
        return self.record(read_feedback(path, agent, encoding), path=str(path))

    def approve(self, row_id: int, editor: str) -> list[str]:
        return self._apply(lambda: self.store.approve(row_id, editor))

    def reject(self, row_id: int, editor: str) -> list[str]:
        return self._apply(lambda: self.store.reject(row_id, editor))

    def move(self, row_id: int, to_entry: str, editor: str) -> list[str]:
        return self._apply(lambda: self.store.move(row_id, to_entry, editor))

    def reset(self, row_id: int, editor: str) -> list[str]:
        return self._apply(lambda: self.store.reset(row_id, editor))

    def lift(self, row_id: int, editor: str) -> list[str]:
        return self._apply(lambda: self.store.lift(row_id, editor))

    def decide(self, verb: str, ids: list[int], editor: str) -> list[str]:
        """One decision on several learned phrasings: all of them, or none (see LearnStore.decide)."""
        return self._apply(lambda: self.store.decide(verb, ids, editor))


# Gaps are mined (and kept, see `find_gaps`) at least this many at a time: the statistics
# page's top 5 and the gaps page's 20 are then one mining, one kept result. One more than
# the page lists, so that it knows whether more are left (`more`).
MINED_GAPS = 21


def gaps_mined(limit: int) -> int:
    """How many gaps are mined (and kept) for a list of `limit`: one more, to know whether
    it shows them all; at least MINED_GAPS, so the pages share one mining."""
    return max(limit + 1, MINED_GAPS)


def kept_drift(store, since: str | None = None) -> list[dict]:
    """Edits that keep making the same change to an entry's answer (`answer_drift`), kept
    in `store` until an edit is logged or an entry changes (`_drift_key`). Reads the store
    alone: the console computes it on a connection of its own, outside the lock the
    panel's requests take (~9,500 edits aligned with difflib took seconds)."""
    from .gaps import answer_drift, drift_edits

    generation = log_generation(store.db)
    key = _drift_key(store, since, generation)
    drift = store.mined(key)
    if drift is None:
        drift = [asdict(d) for d in answer_drift(drift_edits(store.db, since))]
        store.keep_mined(key, drift, generation=generation)
    return drift


def find_gaps(kb, since: str | None = None, limit: int = 20, max_new: int | None = None,
              drift: bool = True) -> dict:
    """What the base is missing: clusters of unanswered or rejected messages (suggested new
    entries), and edits that keep making the same change to an entry's answer.

    With `max_new`, at most that many messages not embedded before are embedded; when
    more are left, no gaps are mined and `"pending": {"done", "total"}` says how far the
    embedding has come (a web page answers in seconds, and the next load goes on).
    `more`: whether gaps beyond the first `limit` were found.

    Both are kept in the store (`Store.keep_mined`) under a key of all they are mined
    from (the messages, or the log's marker, and `gaps_basis`; `_drift_key`), and mined
    again only when that changes: on a year's log, reading, clustering and checking the
    same messages again and aligning the same edits took 10-20 s on every load of the
    console's gaps and statistics pages (bench/yearold.py). `drift=False`: no drift (the
    caller reads `kept_drift` itself, or shows none)."""
    drift = kept_drift(kb.store, since) if drift else []
    return {**mined_gaps(kb.store, lambda use: use(kb), since, limit, max_new), "drift": drift}


# Texts checked against the index (`current_answers`, ~5-25 ms each) per `with_kb` call: after an
# entry changed, all 200 are checked again.
CHECK_BATCH = 16


def mined_gaps(store, with_kb, since: str | None = None, limit: int = 20, max_new: int | None = None) -> dict:
    """`find_gaps` without the drift, the log read on `store` and the knowledge base used
    only inside `with_kb(use)`, which calls `use(kb)`: the console passes one that holds the
    lock the panel's requests take, and reads on a connection of its own, so that only what
    needs the models or the index waits for the panel and makes it wait (the basis, encoding
    new messages, reading their vectors, checking texts against the index: what it checked
    before is not checked again, `current_answers`). Reading a year's gap messages,
    clustering them and the rest took ~5 s inside that lock after every new no-match message."""
    from .gaps import current_answers, encode_texts, gap_messages, mine_gaps, pending_texts, stored_embedder

    mined = gaps_mined(limit)
    how = with_kb(lambda kb: gaps_basis(kb, since, mined))
    generation = how[-1]
    # The marker's key before the messages are read: one logged while mining moves it on.
    # (As `kept_gaps`, but the messages read once: a second on a year's log.)
    logged = _key("gaps-logged", _gaps_marker(store.db), how)
    gaps = store.mined(logged)
    if gaps is None:
        messages = gap_messages(store.db, since)
        key = _key("gaps", _messages_digest(messages), how)
        gaps = store.mined(key)
        if gaps is None:
            texts = pending_texts(messages)
            done, total = with_kb(lambda kb: encode_texts(kb, texts, 0 if max_new is None else max_new))
            # A store this user cannot write keeps no vectors, so spreading the work over loads
            # would never end: its messages are encoded in memory below, all at once.
            if max_new is not None and done < total and not store.read_only:
                return {"since": since, "gaps": [], "more": False, "pending": {"done": done, "total": total}}

            searched: set[str] = set()  # the content hashes of the indexes the texts were checked on

            def answers(texts: list[str]) -> list:  # a few at a time: the panel waits for one batch at most
                return [a for i in range(0, len(texts), CHECK_BATCH)
                        for a in with_kb(lambda kb: current_answers(kb, searched)(texts[i:i + CHECK_BATCH]))]

            gaps = [asdict(g) for g in mine_gaps(
                messages, lambda batch: with_kb(lambda kb: stored_embedder(kb)(batch)), limit=mined, answers=answers)]
            if not searched <= {how[BASIS_PUBLISHED]}:
                # Checked on an index other than the one the basis names (the previous one,
                # while another process writes the new one: `current_answers`): shown, not
                # kept. Kept under the basis, they were read back once the index was written,
                # and a gap an entry added then fills stayed until the next message.
                return _listed(since, gaps, limit)
            store.keep_mined(key, gaps, generation=generation)
        store.keep_mined(logged, gaps, generation=generation)
    return _listed(since, gaps, limit)


def _listed(since: str | None, gaps: list[dict], limit: int) -> dict:
    """The first `limit` gaps, and whether more were found (`more`): a page of 6 gaps said
    前 6 个, as if there were others."""
    return {"since": since, "gaps": gaps[:limit], "more": len(gaps) > limit}


def _gaps_marker(db) -> list:
    """`log_marker` less the newest suggestion: one not flagged no-match adds no gap
    message (`gap_messages` reads the no-match ones, and the suggestions that feedback
    and learning events, each moving the marker, name), and superseding one that was
    flagged moves the no-match count. A live shop logs a suggestion every few seconds:
    each made the next 统计 load read a year's gap messages again (~1 s). With the
    learning tables' version: which rejects are gap messages follows their trust
    (`ConfirmedRejects`), which a lift, an editor's decision or `--min-agents` changes
    with no new row in the log."""
    version = db.execute("select value from settings where key = 'learn.version'").fetchone()
    return [*log_marker(db)[1:], version[0] if version else None]


def kept_gaps(store, since: str | None, how: list) -> list[dict] | None:
    """The gaps kept for `how` (`gaps_basis`), else None: they must be mined. Kept twice:
    under the log's marker, which costs a few index reads to check (a page loaded again
    with nothing logged since), and under the messages read (any suggestion or feedback
    moves the marker, and most of it changes no gap message: a second to read on a year's
    log). Reads the store alone, so the console looks outside the lock."""
    from .gaps import gap_messages

    logged = _key("gaps-logged", _gaps_marker(store.db), how)
    gaps = store.mined(logged)
    if gaps is None:
        gaps = store.mined(_key("gaps", _messages_digest(gap_messages(store.db, since)), how))
        if gaps is not None:
            store.keep_mined(logged, gaps, generation=how[-1])
    return gaps


def _key(*parts) -> str:
    """A key for `Store.keep_mined` of `parts`, read back as gaps and drift (`kept_key`)."""
    from .gaps import Drift, Gap
    from .stats import kept_key

    return kept_key((Gap, Drift), *parts)


def _messages_digest(messages: list) -> str:
    """The gap messages as `gap_messages` reads them, with what agents turned down for each."""
    digest = hashlib.sha256()
    for m in messages:
        digest.update(json.dumps([m.text, m.at, m.kind, m.entry_id, m.dismissed], ensure_ascii=False).encode())
    return digest.hexdigest()


def gaps_basis(kb, since: str | None, limit: int) -> list:
    """What mined gaps depend on besides the messages: the period, how many are mined and
    how (the constants of suggest/gaps.py), the models, and the knowledge base the messages
    are checked against: its published hash (entries, shop terms, trusted learned
    phrasings), the entries' marker (their history says when an answer changed), and which
    entries' validity windows have begun and not ended now (the retriever finds no other);
    last, the log's generation (`log_generation`: read here, before the messages are)."""
    from kefu.kb.embed import cache_key

    from . import gaps as g
    from .stats import window_states

    return [since, limit, g.DEFAULT_THRESHOLD, g.MAX_MESSAGES, g.MAX_CHECKS, g.CONFIDENT, g.TYPING_WINDOW_S,
            [cache_key(e) for e in kb.embedders], kb.store.published_hash(), kb.store.changes().get("entries"),
            window_states(kb.store.db), log_generation(kb.store.db)]


BASIS_PUBLISHED = 8  # the published hash's place in `gaps_basis`


def _drift_key(store, since: str | None, generation: str) -> str:
    """What answer drift depends on: the period's edit feedback (only ever added, but for
    retention, which deletes what was kept and moves `generation`, `log_generation` read
    before) and the entries (their history and status)."""
    edits = store.db.execute("select count(*), max(id) from feedback where action = 'edit' and at >= ?",
                                [since or ""]).fetchone()
    return _key("drift", list(edits), since, generation, store.changes().get("entries"))


# How far ahead of this machine's clock a replayed `at` may be: a clock running fast, or
# a time without an offset written in a time zone ahead of this one (up to a day). A
# later time would rank its message first among the gaps and add a day to come to the
# statistics.
CLOCK_SKEW = timedelta(days=1)


def read_feedback(path: Path, agent: str | None = None, encoding: str | None = None,
                  now: datetime | None = None) -> list[Event]:
    """Events of a feedback file: one JSON object a line, `{"query", "accepted": id}` (the
    shared benchmark format), or `"rejected": id`, `"edited": id` + `"text"`, `"no_match": true`;
    optional `"agent"`, `"at"` (ISO; without an offset, local time; at most `CLOCK_SKEW`
    after `now`, default the current time) and `"id"`. Its encoding is detected unless
    given. A query or text may be at most MAX_MESSAGE characters, as through the API. A
    line's key is a hash of its content."""
    latest = (now or datetime.now(timezone.utc)) + CLOCK_SKEW
    events = []
    for n, line in iter_jsonl(path, read_text(path, encoding)):
        query = line.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ImportFileError(path, n, "query", "missing or empty")
        if "no_match" in line and not isinstance(line["no_match"], bool):
            # "no_match": "false" (or "no", 0) read as a report of no match
            raise ImportFileError(path, n, "no_match", f"must be true or false, got {json.dumps(line['no_match'])[:40]}")
        given = [k for k in ("accepted", "edited", "rejected", "no_match") if line.get(k)]
        if len(given) != 1:
            raise ImportFileError(path, n, "accepted",
                                  "needs exactly one of accepted, edited, rejected (an entry id) or no_match")
        kind = given[0]
        entry_id = None if kind == "no_match" else line[kind]
        if isinstance(entry_id, int) and not isinstance(entry_id, bool):
            entry_id = str(entry_id)  # as an imported file's whole-number id is stored
        if kind != "no_match" and not isinstance(entry_id, str):
            raise ImportFileError(path, n, kind, "must be an entry id (a string or a whole number)")
        for opt in ("agent", "at", "id", "text"):
            if opt in line and not isinstance(line[opt], str):
                raise ImportFileError(path, n, opt, "must be a string")
        for name in ("query", "text"):
            if len(line.get(name) or "") > MAX_MESSAGE:
                raise ImportFileError(path, n, name, f"has {len(line[name])} characters; the limit is {MAX_MESSAGE}")
        at = None
        if line.get("at"):
            try:
                at = as_utc(line["at"])
            except ValueError as exc:
                raise ImportFileError(path, n, "at", str(exc)) from None
            if datetime.fromisoformat(at) > latest:
                raise ImportFileError(path, n, "at", f"{line['at'][:40]!r} is in the future (more than a day"
                                                     " ahead of this machine's clock)")
        action = {"accepted": "accept", "edited": "edit", "rejected": "reject", "no_match": "no_match"}[kind]
        if action == "edit" and not line.get("text"):
            raise ImportFileError(path, n, "text", "an edited line needs the text the agent sent")
        # A line's `id` (a help desk's event id) makes a re-export count once however it is
        # formatted; with what the event says, so that another source's event reusing the
        # id ("1") is not taken for it and dropped.
        what = json.dumps([query, action, entry_id], ensure_ascii=False)
        blob = json.dumps(line, ensure_ascii=False, sort_keys=True)
        key = "replay:" + (f"{line['id']}:{_digest(what)[:12]}" if "id" in line else _digest(blob)[:24])
        # A blank "agent" names nobody: the line is credited as one without it (--agent).
        named = line.get("agent")
        events.append(Event(query, action, entry_id, named if named and named.strip() else agent, key, "replay",
                            line.get("text"), None, at, n))
    if not events:
        raise ImportFileError(path, None, None, "no feedback lines")
    return events


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["Event", "LearnError", "Learner", "Learning", "PriorRule", "TrustRule", "find_gaps", "read_feedback"]

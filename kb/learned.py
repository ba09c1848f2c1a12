"""What agents taught the knowledge base: feedback events and learned phrasings.

Every accept, edit, reject and no-match becomes one row of `learn_events`, once (its
`key` makes a replayed file or a retried request count once). A customer message that
an agent accepted (or edited and sent) for an entry becomes a *learned phrasing* of that
entry in `learned`: normalised, deduplicated, merged with a near-duplicate. The trust
rule decides when a learned phrasing is used for retrieval without an editor; editors
approve (it becomes a real similar question, with history), reject, move or reset it,
and lift a demotion agents' rejects caused. `reset` undoes any of these: a move and a
lift record what they changed, so it can be given back.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

from .entry import Entry
from .errors import DuplicateSimilar, EntryNotFound, KefuError, LearnedNotFound
from .feedback import half_width, mask
from .store import SQLITE_MAX_INTEGER, writing
from .text import normalize, own_words, scrub, to_simplified

ACTIONS = ("accept", "edit", "reject", "no_match")
STATUSES = ("candidate", "approved", "rejected", "known")
MAX_CHARS = 200  # longer messages are stories, not phrasings: counted, never learned
NEAR_DUPLICATE = 0.85  # difflib ratio of two keys, one adding words to the other, above which they are one phrasing
_NOT_KEY = re.compile(r"[^\w]|_", re.UNICODE)
_PARTICLES = re.compile(r"[啊呀吗嘛呢吧哦噢喔啦哈呐]+$")  # sentence-final particles change no meaning
_LONG_NUMBER = re.compile(r"\d{6,}")
_MASKED = re.compile(r"【(?:手机号|电话|邮箱|微信号|QQ号|姓名|地址|卡号|证件号)】")  # what mask() writes
_SPACES = re.compile(r"[ \u3000]{2,}")
# A greeting before the question ("亲 衣服洗了缩水还能退吗"): no part of a phrasing an
# editor would approve as a similar question (亲 only with a mark after it: 亲子装).
_OPENING = re.compile(r"^(?:(?:亲亲?|親親?)[\s，,。.！!～~？?]+|(?:您好|你好|哈喽|哈囉|在吗|在嗎|在不在|请问|請問)[\s，,。.！!～~？?]*)+")


class LearnError(KefuError):
    """Feedback that cannot be learned from (unknown or archived entry, bad action);
    `field` names the input that pointed at the entry, when that was the problem, and
    `path` and `line` the feedback file's line it came from, as ImportFileError does."""

    def __init__(self, message: str, field: str | None = None, path: str | None = None,
                 line: int | None = None):
        super().__init__(message)
        self.field, self.path, self.line = field, path, line


# Where an event's entry came from: a feedback file's key, or the draft a panel click chose.
_ENTRY_FIELD = {"accept": "accepted", "edit": "edited", "reject": "rejected"}


# The min_agents that people may set: the console's settings page, its learning page and
# `kefu learn config` all take these, so what one sets the others can save. (TrustRule
# itself takes more: the evaluator measures the prior alone with a rule nothing meets.)
MIN_AGENTS = (1, 100)


@dataclass
class TrustRule:
    """A learned phrasing is used for retrieval once `min_agents` different agents accepted
    it and more agents accepted than rejected it, or once an editor approved it. A pairing
    is demoted once `min_agents` different agents rejected it and they outnumber the agents
    who accepted it. Agents are counted, not clicks: one agent clicking three times is one
    agent, on either side."""
    min_agents: int = 2

    def __post_init__(self):
        if self.min_agents < 1:
            raise KefuError(f"min_agents must be at least 1, got {self.min_agents}")

    def trusts(self, row: "Learned") -> bool:
        agents, rejecters = count_agents(row.agents), count_agents(row.rejecters)
        return row.status == "candidate" and agents >= self.min_agents and agents > rejecters

    def demotes(self, row: "Learned") -> bool:
        agents, rejecters = count_agents(row.agents), count_agents(row.rejecters)
        return row.status in ("candidate", "rejected") and rejecters >= self.min_agents and rejecters > agents


PER_AGENT = 2  # times one named agent counts on one side of an entry's use statistics
UNNAMED = "?"  # the agent of an event that names none (a replayed line without "agent")


def agent_name(agent: str | None) -> str | None:
    """One person, one name: "Alice", "alice " and "ａｌｉｃｅ" are the same agent."""
    name = unicodedata.normalize("NFKC", agent or "").strip().casefold()
    return name or None


def count_agents(agents) -> int:
    """Different agents: an unnamed one is somebody, but may be any of the named ones, so
    it counts only when nobody is named (one agent's own accept and an anonymous replayed
    line of the same message must not make two)."""
    named = {agent_name(a) for a in agents if a != UNNAMED} - {None}
    return len(named) or int(UNNAMED in agents)


@dataclass
class Event:
    message: str
    action: str
    entry_id: str | None = None
    agent: str | None = None
    key: str | None = None  # same key = same event (default: a fresh one)
    source: str = "panel"
    edited: str | None = None
    suggestion_id: str | None = None
    at: str | None = None
    line: int | None = None  # of the feedback file it was read from (blank lines count)


@dataclass
class Learned:
    id: int
    entry_id: str
    key: str
    text: str
    status: str
    accepts: int
    rejects: int
    agents: list[str]
    rejecters: list[str]
    first_at: str
    last_at: str
    decided_by: str | None = None
    decided_at: str | None = None
    trusted: bool = False
    demoted: bool = False
    lifted: dict | None = None  # the agents' rejects a lift cleared: {"rejects", "rejecters"}
    moved_to: int | None = None  # the row a move gave this phrasing to (this one is then rejected)
    # Approved, but no longer among the entry's phrasings: a revert or an edit took it out
    # since, so it is not used for retrieval (derived when read, never stored).
    removed: bool = False

    @property
    def phrasing_key(self) -> str:
        """The key of the phrasing as stored (`text`, without the greeting or the details of
        the message): what an approve adds to the entry and what the entry is compared
        with. `key` is the message's, by which later events find the row."""
        return phrase_key(self.text)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Recorded:
    new: int = 0
    duplicate: int = 0
    learned: list[int] = field(default_factory=list)  # learned rows created or changed
    expired: int = 0  # events older than the retention period: not stored
    entries: list[str] = field(default_factory=list)  # entries whose trusted phrasings changed


def _masked_form_of(stored: str, message: str) -> bool:
    """Whether `stored` is `message` with some parts masked (each mask label one part of a
    character or more), with at least 4 characters left unmasked to tell it from others.
    The pieces are found in order (the leftmost place of each leaves the most room for the
    rest): a regex of lazy gaps takes time exponential in the number of masks."""
    pieces = _MASKED.split(stored)
    if len(pieces) == 1 or sum(map(len, pieces)) < 4:
        return False
    first, *middle, last = pieces
    end = len(message) - len(last)
    if not message.startswith(first) or not message.endswith(last) or end < len(first):
        return False
    pos = len(first)
    for piece in middle:
        found = message.find(piece, pos + 1)  # a masked part before it: one character at least
        if found < 0:
            return False
        pos = found + len(piece)
    return end - pos >= 1


def _likeness(a: str, b: str) -> float:
    """difflib's ratio of two keys when one only adds words to the other ("退货运费谁来出" /
    "退货的运费谁来出"), else 0: a changed character may change the question ("退货的运费谁
    来出" / "换货的运费谁来出"), and merging them would count one's agents for the other."""
    m = difflib.SequenceMatcher(None, a, b)
    return 0.0 if any(op == "replace" for op, *_ in m.get_opcodes()) else m.ratio()


def has_details(text: str) -> bool:
    """Whether `text` carries something phrase_key and the stored text leave out: a phone
    or card number, an address, an e-mail, a long (order) number."""
    text = half_width(text)  # mask() makes them half-width: no detail in itself
    return mask(text) != text or bool(_LONG_NUMBER.search(text))


def phrase_key(text: str) -> str:
    """The form two messages are compared in: simplified, half-width, lower case, no
    punctuation, spaces, emoji, final particles (啊/吗/呢…), order or phone numbers."""
    return _PARTICLES.sub("", _NOT_KEY.sub("", _LONG_NUMBER.sub("", normalize(mask(text)).text)).lower())


def without_details(message: str) -> str:
    """A customer message's own words (`own_words`: no sticker, link or pasted order card)
    masked, then without long numbers or the details masked (【手机号】 would become part
    of a similar question once saved); '' when only details are left."""
    return _SPACES.sub(" ", _MASKED.sub("", _LONG_NUMBER.sub("", mask(own_words(message))))).strip()


def phrasing(message: str) -> str:
    """The phrasing a customer message offers its entry: `without_details`, and without a
    greeting before the question; '' when only details are left."""
    text = without_details(message)
    return _OPENING.sub("", text) or text


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LearnStore:
    """Learning tables of one store; `rule` decides trust (default: the stored setting)."""

    def __init__(self, store, rule: TrustRule | None = None):
        self.store = store
        self.db = store.db
        self.rule = rule or TrustRule(int(self.setting("learn.min_agents", "2")))

    # -- settings --------------------------------------------------------------
    def setting(self, key: str, default: str) -> str:
        row = self.db.execute("select value from settings where key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with writing(self.db):
            self.db.execute("insert or replace into settings (key, value) values (?, ?)", [key, value])
            self._bump()

    # -- recording ---------------------------------------------------------------
    def record(self, events: list[Event], path: str | None = None, cutoff: str | None = None) -> Recorded:
        """Store `events` in one transaction; any bad one fails them all and nothing is
        stored: LearnError naming the event (its position, or the line of the feedback
        file `path` it was read from). An event from before `cutoff` (a UTC timestamp:
        the retention period's start) is past retention: counted, never stored, as the
        purge would delete it (see `expire`)."""
        out = Recorded()
        # Only the events' entries can gain or lose trusted phrasings: compare just those
        # (the panel records one event per click, the learned table can be long).
        touched = sorted({self._stored_id(e.entry_id) for e in events if e.entry_id})
        before = self._trusted_keys(touched)
        with writing(self.db):
            for n, event in enumerate(events, 1):
                if cutoff and event.at and event.at < cutoff:
                    out.expired += 1
                    continue
                try:
                    self._record(event, out)
                except KefuError as exc:
                    field = getattr(exc, "field", None)
                    line = (event.line or n) if path else None
                    place = f"{path}, line {line}" if path else (f"event {n}" if len(events) > 1 else "")
                    if place and field:
                        place += f", field {field!r}"
                    raise LearnError(f"{place}: {exc}" if place else str(exc), field, path, line) from exc
            if out.new:
                _bump(self.db)
        after = self._trusted_keys(touched)
        out.entries = sorted({e for e, _ in before ^ after})
        return out

    def _record(self, e: Event, out: Recorded) -> None:
        # As every input is taken in (a replayed file's line too): no escape sequence is
        # kept to reach an editor's terminal through `kefu learn queue`.
        e = replace(e, agent=agent_name(e.agent), message=scrub(e.message or ""),
                    edited=scrub(e.edited) if e.edited else e.edited)
        if e.action not in ACTIONS:
            raise KefuError(f"action must be one of {', '.join(ACTIONS)}, got {e.action!r}")
        if not e.message or not e.message.strip():
            raise KefuError("the customer message is empty")
        if e.source == "replay" and e.key and self.db.execute(
                "select 1 from learn_events where key = ?", [e.key]).fetchone():
            # A line recorded before, when its entry was published: a re-exported file (a
            # help desk's exports are cumulative) still replays once that entry is archived.
            # (A panel click's key is the suggestion's say, shared by other agents' clicks:
            # theirs on an archived entry must still fail, so it is checked below.)
            out.duplicate += 1
            return
        if e.action != "no_match":
            if not e.entry_id:
                raise KefuError(f"a {e.action} needs the entry it was for")
            try:
                entry = self._published(e.entry_id)
            except KefuError as exc:
                field = _ENTRY_FIELD[e.action] if e.source == "replay" else "draft"
                raise LearnError(str(exc), field) from None
            e = replace(e, entry_id=entry.id)  # as stored (ｋ001 is k001)
        if e.key and self._seen(e):
            out.duplicate += 1
            return
        at = e.at or _now()
        self.db.execute(
            "insert into learn_events (key, at, source, message, entry_id, action, agent, edited, suggestion_id)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [e.key, at, e.source, mask(e.message), e.entry_id, e.action, e.agent,
             mask(e.edited) if e.edited else None, e.suggestion_id])
        out.new += 1
        if e.action != "no_match" and len(e.message) <= MAX_CHARS:
            row_id = self._learn(entry, e, at)
            if row_id is not None and row_id not in out.learned:
                out.learned.append(row_id)

    def _seen(self, e: Event) -> bool:
        if self.db.execute("select 1 from learn_events where key = ?", [e.key]).fetchone():
            return True
        if not e.key.startswith("replay:") or e.key.count(":") < 2:
            return False
        # Replayed before 2026-11-29, a line with an "id" was keyed by the id alone; its
        # stored message was masked by the mask of then: each 【…】 in it may stand for
        # anything in the message as written.
        rows = self.db.execute("select message from learn_events where key = ? and action = ? and entry_id is ?",
                               [e.key.rsplit(":", 1)[0], e.action, e.entry_id]).fetchall()
        return any(phrase_key(m) == phrase_key(e.message) or _masked_form_of(m, e.message) for (m,) in rows)

    def _stored_id(self, entry_id: str) -> str:
        """`entry_id` as stored (ｋ001 is k001); as given when there is no such entry."""
        try:
            return self.store.get(entry_id).id
        except EntryNotFound:
            return entry_id

    def _published(self, entry_id: str) -> Entry:
        try:
            entry = self.store.get(entry_id)
        except EntryNotFound:
            raise KefuError(f"no entry with id {entry_id!r}") from None
        if entry.status != "published":
            raise KefuError(f"entry {entry_id!r} is {entry.status}, not published")
        return entry

    def _learn(self, entry: Entry, e: Event, at: str) -> int | None:
        key = phrase_key(e.message)
        if not key:
            return None  # only punctuation, emoji or numbers
        accept = e.action in ("accept", "edit")
        text = phrasing(e.message)
        row = self._find(entry.id, key, accept, phrase_key(text) if text else None)
        agent = e.agent or UNNAMED
        if row is None:
            # Details alone are no question to offer; a reject of them keeps its row (as
            # masked), so the pairing can be demoted.
            if not text and accept:
                return None
            masked = _LONG_NUMBER.sub("", mask(e.message)).strip()
            text = text or _OPENING.sub("", masked) or masked
            known = phrase_key(text) in {phrase_key(p) for p in entry.phrasings}
            cur = self.db.execute(
                "insert into learned (entry_id, key, text, status, accepts, rejects, agents, rejecters,"
                " first_at, last_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [entry.id, key, text, "known" if known else "candidate", int(accept), int(not accept),
                 json.dumps([agent] if accept else [], ensure_ascii=False),
                 json.dumps([] if accept else [agent], ensure_ascii=False), at, at])
            return cur.lastrowid
        agents, rejecters = set(row.agents), set(row.rejecters)
        (agents if accept else rejecters).add(agent)
        status = row.status
        if status == "known" and row.phrasing_key not in {phrase_key(p) for p in entry.phrasings}:
            status = "candidate"  # an editor took that question out since: it is news again
        self.db.execute(
            "update learned set accepts = ?, rejects = ?, agents = ?, rejecters = ?, last_at = max(last_at, ?),"
            " status = ? where id = ?",
            [row.accepts + accept, row.rejects + (not accept), json.dumps(sorted(agents), ensure_ascii=False),
             json.dumps(sorted(rejecters), ensure_ascii=False), at, status, row.id])
        return row.id

    def row_of(self, entry_id: str, message: str, rows: list[Learned] | None = None) -> Learned | None:
        """The row an accept of `message` for `entry_id` counts in, as recording it finds
        one (its own, its phrasing's, or a near-duplicate's); from `rows` when given."""
        return self._find(entry_id, phrase_key(message), True, phrase_key(phrasing(message)) or None, rows)

    def _find(self, entry_id: str, key: str, accept: bool, text_key: str | None = None,
              rows: list[Learned] | None = None) -> Learned | None:
        """The entry's learned row for `key`, or for the phrasing `text_key` (the key of the
        message as stored: "请问 能开发票吗" offers the phrasing 能开发票吗, which a row may
        hold already), else that of a near-duplicate on the same side: an accept merges
        into a row agents accepted, a reject into one they only rejected (a reject merged
        into an accepted row would untrust a good phrasing and leave the rejected pairing
        undemoted)."""
        rows = self.rows(entry_id=entry_id) if rows is None else [r for r in rows if r.entry_id == entry_id]
        exact = [r for r in rows if r.key == key] or [r for r in rows if text_key and r.phrasing_key == text_key]
        if exact:
            return exact[0]
        close = [(_likeness(r.key, key), r) for r in rows
                 if (bool(r.agents) if accept else bool(r.rejecters) and not r.agents)]
        close = [(s, r) for s, r in close if s >= NEAR_DUPLICATE]
        return max(close, key=lambda t: t[0])[1] if close else None

    # -- reading -------------------------------------------------------------------
    def rows(self, entry_id: str | None = None, status: str | None = None,
             ids: list[int] | None = None) -> list[Learned]:
        where, args = [], []
        if entry_id is not None:
            where.append("entry_id = ?")
            args.append(entry_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if ids is not None:
            ids = [i for i in ids if abs(i) <= SQLITE_MAX_INTEGER]  # no row has another; SQLite cannot take it
            where.append(f"id in ({','.join('?' * len(ids))})")
            args += ids
        sql = "select * from learned" + (" where " + " and ".join(where) if where else "") + " order by id"
        rows = [self._row(r) for r in self.db.execute(sql, args).fetchall()]
        self._mark_removed(rows)
        return rows

    def _mark_removed(self, rows: list[Learned]) -> None:
        """Compare approved rows with their entries now rather than keeping the two in step
        on every entry write: a revert, an edit or an import can take a similar question out,
        and none of them knows about learned phrasings."""
        approved = [r for r in rows if r.status == "approved"]
        if not approved:
            return
        keys = {e.id: {phrase_key(p) for p in e.phrasings}
                for e in self.store.get_many({r.entry_id for r in approved}).values()}
        for r in approved:
            r.removed = r.phrasing_key not in keys.get(r.entry_id, set())

    def get(self, row_id: int) -> Learned:
        rows = self.rows(ids=[row_id])
        if not rows:
            raise LearnedNotFound([row_id], f"no learned phrasing with id {row_id}")
        return rows[0]

    def _row(self, r) -> Learned:
        return _learned_row(r, self.rule)

    def queue(self, rows: list[Learned] | None = None, entry_id: str | None = None) -> list[Learned]:
        """Candidates agents accepted, or an editor moved here, that an editor has not
        decided on, most accepted first (trusted ones too: they are in use, and an editor
        may still reject them). A message moved from a pairing agents only rejected
        brings no accepts, but an editor chose its entry: it waits here for approval.
        Of `rows` when given (rows already read), else read from the table (`entry_id`'s
        only when given): the rows `listing` names, and no others."""
        return self._listed("candidate", rows, entry_id)

    def rejected_pairings(self, rows: list[Learned] | None = None, entry_id: str | None = None) -> list[Learned]:
        """Undecided pairings agents rejected rather than accepted (demoted or on their way
        to it), most rejected first: an editor lifts a wrong demotion or moves the message.
        A lifted one stays listed (where its lift is undone) unless its accepts, or a move
        into it, put it in the queue. Of `rows` when given, else read as `queue` reads."""
        return self._listed("agent-rejected", rows, entry_id)

    def _listed(self, tab: str, rows: list[Learned] | None, entry_id: str | None) -> list[Learned]:
        """The rows of one of `listing`'s undecided tabs, in its order."""
        if rows is None:
            ids = self.listing(entry_id)[tab]
            rows = self.rows(ids=ids) if ids else []
        else:
            ids = self._undecided_tabs(((r.id, r.accepts, r.rejects, r.lifted is not None, r.demoted)
                                        for r in rows if r.status == "candidate"))[tab]
        by_id = {r.id: r for r in rows}
        return [by_id[i] for i in ids]

    def listing(self, entry_id: str | None = None) -> dict[str, list[int]]:
        """The ids of the console's review tabs, in their order: "candidate" (`queue`),
        "agent-rejected" (`rejected_pairings`), "approved" and "rejected" (the latest decision
        first); `entry_id`'s rows only when given. Read from a few columns, not as rows: after
        a year a store holds tens of thousands of learned phrasings, and building every one
        to show a page of fifty took seconds a click. Only a candidate that enough agents
        rejected to be demoted (its rejecters, as listed, are at least `min_agents`; counting
        them only merges names) is read whole, to decide that as `TrustRule.demotes` does."""
        demoted = {r.id for r in self._may_be("rejecters", ("candidate",)) if r.demoted}
        candidate, decided = [], {"approved": [], "rejected": []}
        for row_id, status, accepts, rejects, lifted, decided_at in self.db.execute(
                "select id, status, accepts, rejects, lifted is not null, decided_at from learned"
                + (" where entry_id = ?" if entry_id is not None else "") + " order by id",
                [] if entry_id is None else [entry_id]):
            if status == "candidate":
                candidate.append((row_id, accepts, rejects, lifted, row_id in demoted))
            elif status in decided:
                decided[status].append((decided_at or "", row_id))
        out = self._undecided_tabs(candidate)
        for status, rows in decided.items():  # stable: among equal times, the order of ids
            out[status] = [i for _, i in sorted(rows, key=lambda t: t[0], reverse=True)]
        return out

    def _undecided_tabs(self, candidates) -> dict[str, list[int]]:
        """The one statement of the two undecided tabs' filters and orders, over candidates
        as (id, accepts, rejects, lifted, demoted): "candidate", what the queue offers for
        approval, and "agent-rejected", what agents rejected and the queue does not hold."""
        moved_in = self._moved_in()
        candidates = list(candidates)
        queued = sorted((-a, r, i) for i, a, r, _, demoted in candidates if (a or i in moved_in) and not demoted)
        in_queue = {i for _, _, i in queued}
        rejected = sorted((-r, i) for i, a, r, lifted, demoted in candidates
                          if (r or lifted) and (not a or demoted) and i not in in_queue)
        return {"candidate": [i for _, _, i in queued], "agent-rejected": [i for _, i in rejected]}

    def _moved_in(self) -> set[int]:
        """Rows an editor's move gave a message to (and has not been reset)."""
        return {to for (to,) in self.db.execute(
            "select json_extract(moved, '$.to') from learned where moved is not null")}

    def trusted(self, entry_ids: list[str] | None = None) -> dict[str, list[str]]:
        """Entry id -> learned phrasings used for retrieval, oldest first."""
        out: dict[str, list[str]] = {}
        wanted = set(entry_ids) if entry_ids is not None else None
        for row in self._may_be("agents", ("candidate",)):
            if row.trusted and (wanted is None or row.entry_id in wanted):
                out.setdefault(row.entry_id, []).append(row.text)
        return out

    def _trusted_keys(self, entry_ids: list[str] | None = None) -> set[tuple[str, str]]:
        rows = self._may_be("agents", ("candidate",)) if entry_ids is None else \
            [r for e in entry_ids for r in self.rows(entry_id=e, status="candidate")]
        return {(r.entry_id, r.key) for r in rows if r.trusted}

    def demoted(self) -> list[Learned]:
        """The pairings of an entry and a message that agents rejected: that entry is ranked
        down for that message."""
        return [r for r in self._may_be("rejecters", ("candidate", "rejected")) if r.demoted]

    def _may_be(self, side: str, statuses: tuple[str, ...]) -> list[Learned]:
        """The rows of `statuses` that list at least `min_agents` on `side` ("agents" or
        "rejecters"), by id: the only ones the trust rule can trust (agents) or demote
        (rejecters), since counting the names listed only merges them. Searching retrieval
        reads the trusted and demoted rows again after every click (the learning version
        moves), and a year's learned table holds tens of thousands of rows that one agent
        accepted once: building each of them took seconds a suggestion."""
        rows = [self._row(r) for r in self.db.execute(
            f"select * from learned where status in ({', '.join('?' * len(statuses))})"
            f" and json_array_length({side}) >= ? order by id", [*statuses, self.rule.min_agents]).fetchall()]
        self._mark_removed(rows)
        return rows

    def entry_counts(self) -> dict[str, tuple[int, int, int]]:
        """Entry id -> (accepts incl. edits, rejects, different agents) over every event.
        A named agent counts at most PER_AGENT times on each side of an entry, however
        often he clicked: heavy use still shows, and one agent's thirty rejects do not
        outweigh two colleagues' accepts (unnamed events come from replayed files and
        count each). Agents are counted as `count_agents` does. Rejects an editor's lift
        cleared count no more (see `_lifted_rejects`)."""
        per: dict[tuple[str, bool, str], int] = {}
        for entry_id, action, agent, n in self.db.execute(
                "select entry_id, action, agent, count(*) from learn_events"
                " where entry_id is not null group by entry_id, action, agent"):
            k = (entry_id, action == "reject", agent_name(agent) or UNNAMED)
            per[k] = per.get(k, 0) + n
        for entry_id, agent in self._lifted_rejects():
            k = (entry_id, True, agent_name(agent) or UNNAMED)
            per[k] = per.get(k, 0) - 1
        out: dict[str, list] = {}
        for (entry_id, rejected, agent), n in per.items():
            if n <= 0:
                continue  # an agent whose only say here was lifted
            counts = out.setdefault(entry_id, [0, 0, set()])
            counts[rejected] += n if agent == UNNAMED else min(n, PER_AGENT)
            counts[2].add(agent)
        return {k: (a, r, count_agents(agents)) for k, (a, r, agents) in out.items()}

    def _lifted_rejects(self) -> list[tuple[str, str | None]]:
        """(entry id, agent) of every reject event a lift cleared: a lifted pairing's
        rejects of its message (or a near-duplicate, as `_find` merges them) made up to its
        latest lift. Rejects made since count afresh, as they do in the row."""
        out = []
        for row_id, entry_id, key, lifted in self.db.execute(
                "select id, entry_id, key, lifted from learned where lifted is not null"):
            rejecters = set(json.loads(lifted)["rejecters"])
            (until,) = self.db.execute("select max(at) from learn_decisions where row_id = ? and action = 'lift'",
                                       [row_id]).fetchone()
            for message, agent in self.db.execute(
                    "select message, agent from learn_events where entry_id = ? and action = 'reject'"
                    " and (? is null or at <= ?)", [entry_id, until, until]):
                k = phrase_key(message)
                if (agent or UNNAMED) in rejecters and (k == key or _likeness(k, key) >= NEAR_DUPLICATE):
                    out.append((entry_id, agent))
        return out

    def state_hash(self) -> str:
        """Changes whenever the set of trusted phrasings changes (part of the index's hash)."""
        return "|".join(f"{e}\0{k}" for e, k in sorted(self._trusted_keys()))

    # -- editor decisions ------------------------------------------------------------
    def approve(self, row_id: int, editor: str) -> list[str]:
        """Make the phrasing a real similar question of its entry (recorded in its history).
        Only one waiting in the queue: a pairing agents rejected (demoted, or lifted with
        no accepts) is listed apart, to be moved or rejected, never approved."""
        # Every decision reads its row inside the write transaction: read before it, two
        # editors (two workers, or the console and the CLI) both found it undecided, and an
        # approve and a reject both went through.
        with writing(self.db):
            row = self._undecided(row_id, "approve")
            if not self.queue([row]):
                raise KefuError(f"cannot approve learned phrasing {row_id}: it is a pairing agents rejected,"
                                " not one they accepted: move it to the entry that answers it, or reject it")
            entry = self._published(row.entry_id)
            if row.phrasing_key not in {phrase_key(p) for p in entry.phrasings}:
                try:
                    self.store.update(entry.id, {"similar": entry.similar + [row.text]}, editor, action="learn")
                except DuplicateSimilar as exc:  # another entry has the phrasing: which one answers it?
                    raise _not_approved(row_id, exc) from None
            self._decide(row_id, "approved", editor)
            self._log(row_id, "approve", editor)
        return [row.entry_id]

    def reject(self, row_id: int, editor: str) -> list[str]:
        with writing(self.db):
            row = self._undecided(row_id, "reject")
            self._decide(row_id, "rejected", editor)
            self._log(row_id, "reject", editor)
        return [row.entry_id]

    def move(self, row_id: int, to_entry: str, editor: str) -> list[str]:
        """The message belongs to `to_entry`: its pairing with the old entry is rejected by
        the editor (agents' rejects of that pairing stay, and so does its demotion), and
        `to_entry` gets it as a candidate with the agents' accepts (they found the message
        worth answering; the editor said which entry answers it), merged with the same
        phrasing there. Rejects never travel: they judged the old entry. The old row keeps
        what the move gave where (`moved_to`), so `reset` takes exactly that back."""
        with writing(self.db):
            row = self._undecided(row_id, "move")
            to_entry = self._stored_id(to_entry)
            if to_entry == row.entry_id:
                raise KefuError(f"learned phrasing {row_id} already belongs to {to_entry}")
            target = self._published(to_entry)
            there = self._find(to_entry, row.key, True, row.phrasing_key)  # a move gives the accepts
            if there is not None and there.moved_to is not None:
                # Its accepts live on in the row it was moved to: reviving it would count them twice.
                raise KefuError(f"learned phrasing {there.id} ({to_entry}) was moved to #{there.moved_to}:"
                                f" reset #{there.id} first")
            if there is None:
                known = row.phrasing_key in {phrase_key(p) for p in target.phrasings}
                cur = self.db.execute(
                    "insert into learned (entry_id, key, text, status, accepts, rejects, agents, rejecters,"
                    " first_at, last_at) values (?, ?, ?, ?, ?, 0, ?, '[]', ?, ?)",
                    [to_entry, row.key, row.text, "known" if known else "candidate", row.accepts,
                     json.dumps(row.agents, ensure_ascii=False), row.first_at, row.last_at])
                self._decide(cur.lastrowid, "known" if known else "candidate", editor)
                moved = {"to": cur.lastrowid, "accepts": row.accepts, "agents": row.agents}
            else:
                self.db.execute(
                    "update learned set accepts = ?, agents = ?, first_at = min(first_at, ?),"
                    " last_at = max(last_at, ?) where id = ?",
                    [there.accepts + row.accepts,
                     json.dumps(sorted(set(there.agents) | set(row.agents)), ensure_ascii=False),
                     row.first_at, row.last_at, there.id])
                moved = {"to": there.id, "accepts": row.accepts,
                         "agents": sorted(set(row.agents) - set(there.agents))}
                if there.status == "rejected":
                    moved["was"] = [there.status, there.decided_by, there.decided_at]
                    self._decide(there.id, "candidate", editor)
            self.db.execute("update learned set moved = ? where id = ?",
                            [json.dumps(moved, ensure_ascii=False), row_id])
            self._decide(row_id, "rejected", editor)
            self._log(row_id, f"move to {to_entry} (#{moved['to']})", editor)
            self._log(moved["to"], f"moved in from {row.entry_id} (#{row_id})", editor)
        return [row.entry_id, to_entry]

    def lift(self, row_id: int, editor: str) -> list[str]:
        """Clear the agents' rejects of a pairing, lifting its demotion. They are kept aside
        (`lifted`) for `reset` to give back; the reject events stay in the log and in
        `kefu stats`, but no longer count against the entry in the use prior
        (`entry_counts`): the entry gets its old place back. Rejects after the lift count
        afresh."""
        with writing(self.db):
            row = self.get(row_id)
            if not row.rejects:
                raise KefuError(f"learned phrasing {row_id} has no rejects: nothing to lift")
            before = row.lifted or {"rejects": 0, "rejecters": []}
            lifted = {"rejects": before["rejects"] + row.rejects,
                      "rejecters": sorted(set(before["rejecters"]) | set(row.rejecters))}
            self.db.execute("update learned set rejects = 0, rejecters = '[]', lifted = ?, decided_by = ?,"
                            " decided_at = ? where id = ?",
                            [json.dumps(lifted, ensure_ascii=False), editor, _now(), row_id])
            self._bump()
            self._log(row_id, "lift", editor)
        return [row.entry_id]

    def reset(self, row_id: int, editor: str) -> list[str]:
        """Undo an editor's move (its accepts leave the row they were given to, which goes
        away if the move created it and nothing else came since), approve (the phrasing
        leaves the entry's similar questions) or reject; on an undecided row, undo a lift
        (the agents' rejects count again, and so does their demotion)."""
        with writing(self.db):
            row = self.get(row_id)
            changed = [row.entry_id]
            if row.moved_to is not None:
                if (target := self._unmove(row, editor)) is not None:
                    changed.append(target)
            elif row.status in ("approved", "rejected"):
                if row.status == "approved" and self._approve_added(row):
                    entry = self.store.get(row.entry_id)
                    keep = [s for s in entry.similar if phrase_key(s) != row.phrasing_key]
                    if keep != entry.similar:
                        self.store.update(entry.id, {"similar": keep}, editor, action="unlearn")
                self._decide(row_id, "candidate", editor)
            elif row.lifted:
                self.db.execute(
                    "update learned set rejects = ?, rejecters = ?, lifted = null, decided_by = ?, decided_at = ?"
                    " where id = ?",
                    [row.rejects + row.lifted["rejects"],
                     json.dumps(sorted(set(row.rejecters) | set(row.lifted["rejecters"])), ensure_ascii=False),
                     editor, _now(), row_id])
                self._bump()
            else:
                # The row a move made (or merged into) shows as trusted with the accepts it was
                # given, yet holds no decision of its own: the undo is the move's, on its old row.
                came = [i for (i,) in self.db.execute(
                    "select id from learned where json_extract(moved, '$.to') = ? order by id", [row_id])]
                hint = (f" (moved here from {', '.join(f'#{i}' for i in came)}: reset"
                        f" {' '.join(str(i) for i in came)} to undo the move)") if came else ""
                raise KefuError(f"learned phrasing {row_id} is {row.status}: nothing to reset{hint}")
            self._log(row_id, "reset", editor)
        return changed

    def _approve_added(self, row: Learned) -> bool:
        """Whether approving `row` added its phrasing to the entry (history action "learn"):
        one an editor had written in by hand already is theirs, and a reset leaves it."""
        for before, after in self.db.execute(
                "select before, after from history where entry_id = ? and action = 'learn'", [row.entry_id]):
            had = {phrase_key(p) for p in json.loads(before or "{}").get("similar") or []}
            has = {phrase_key(p) for p in json.loads(after or "{}").get("similar") or []}
            if row.phrasing_key in has - had:
                return True
        return False

    def _unmove(self, row: Learned, editor: str) -> str | None:
        """Take back what moving `row` gave its target row; the target's entry id (None
        when the target row is gone)."""
        moved = json.loads(self.db.execute("select moved from learned where id = ?", [row.id]).fetchone()[0])
        found = self.rows(ids=[moved["to"]])
        if not found:
            # Retention deleted it (a row a move made carries the old row's dates, and this
            # one had newer events): nothing is left to take back, only the mark to clear.
            self.db.execute("update learned set moved = null where id = ?", [row.id])
            self._decide(row.id, "candidate", editor)
            return None
        there = found[0]
        if there.moved_to is not None:
            raise KefuError(f"learned phrasing {there.id}, where #{row.id} was moved, was moved on to"
                            f" #{there.moved_to}: reset #{there.id} first")
        accepts = max(there.accepts - moved["accepts"], 0)
        # An agent the move added stays if they have since accepted the target themselves.
        gone = set(moved["agents"]) - self._accepters(there, moved["agents"])
        agents = sorted(set(there.agents) - gone)
        # Nothing of its own left and no other move into it: the row only held what moves
        # brought (rows that agents' events created always have an accept or a reject).
        others = self.db.execute("select count(*) from learned where id not in (?, ?)"
                                 " and json_extract(moved, '$.to') = ?", [row.id, there.id, there.id]).fetchone()[0]
        if (not accepts and not there.rejects and not there.lifted and not others
                and there.status in ("candidate", "known")):
            self.db.execute("delete from learned where id = ?", [there.id])
        else:
            self.db.execute("update learned set accepts = ?, agents = ? where id = ?",
                            [accepts, json.dumps(agents, ensure_ascii=False), there.id])
            if moved.get("was") and there.status == "candidate":  # the move had revived it
                self.db.execute("update learned set status = ?, decided_by = ?, decided_at = ? where id = ?",
                                [*moved["was"], there.id])
        self.db.execute("update learned set moved = null where id = ?", [row.id])
        self._decide(row.id, "candidate", editor)
        return there.entry_id

    def _accepters(self, row: Learned, agents: list[str]) -> set[str]:
        """Those of `agents` whose own accept (or edit) of `row`'s phrasing is in the event log."""
        if not agents:
            return set()
        found = set()
        for message, agent in self.db.execute(
                "select message, coalesce(agent, '?') from learn_events where entry_id = ?"
                f" and action in ('accept', 'edit') and coalesce(agent, '?') in ({','.join('?' * len(agents))})",
                [row.entry_id, *agents]):
            key = phrase_key(message)
            if key == row.key or difflib.SequenceMatcher(None, key, row.key).ratio() >= NEAR_DUPLICATE:
                found.add(agent)
        return found

    def decide(self, verb: str, ids: list[int], editor: str) -> list[str]:
        """`verb` (approve, reject, reset or lift) on every row of `ids`, in one transaction:
        unknown ids are refused before anything is done, and any refusal on the way (a row
        already decided) applies none. The entries whose phrasings changed."""
        if verb not in ("approve", "reject", "reset", "lift"):
            raise KefuError(f"unknown decision {verb!r}")
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        missing = sorted(set(ids) - {r.id for r in self.rows(ids=ids)})
        if missing:
            raise LearnedNotFound(missing, f"no learned phrasing with id {', '.join(map(str, missing))}: nothing done")
        with writing(self.db):
            return sorted({e for i in ids for e in getattr(self, verb)(i, editor)})

    def _undecided(self, row_id: int, verb: str) -> Learned:
        row = self.get(row_id)
        if row.status != "candidate":
            # An editor's decision stands until undone: say how, not only that it stands.
            hint = f": reset {row_id} first to undo that decision" if row.status in ("approved", "rejected") else ""
            raise KefuError(f"cannot {verb} learned phrasing {row_id}: it is {row.status}{hint}")
        return row

    def _log(self, row_id: int, action: str, editor: str) -> None:
        status = self.db.execute("select status from learned where id = ?", [row_id]).fetchone()
        self.db.execute("insert into learn_decisions (row_id, at, editor, action, status) values (?, ?, ?, ?, ?)",
                        [row_id, _now(), editor, action, status[0] if status else None])

    def decisions(self, row_id: int) -> list[dict]:
        """Every editor decision on learned phrasing `row_id`, oldest first, kept once the
        row is gone (a reset took back the row a move created, or retention expired it):
        LearnedNotFound only for an id that has neither."""
        out = []
        if abs(row_id) <= SQLITE_MAX_INTEGER:  # no row has another id; SQLite cannot take it
            out = [dict(zip(("at", "editor", "action", "status"), r)) for r in self.db.execute(
                "select at, editor, action, status from learn_decisions where row_id = ? order by id", [row_id])]
        if not out:
            self.get(row_id)
        return out

    def _decide(self, row_id: int, status: str, editor: str) -> None:
        self.db.execute("update learned set status = ?, decided_by = ?, decided_at = ? where id = ?",
                        [status, editor, _now(), row_id])
        self._bump()

    def version(self) -> int:
        """Changes with every learning write: readers cache what they derive against it.
        A fresh random value rather than a count, so a restored backup never repeats the
        value a running process has cached."""
        return int(self.setting("learn.version", "0"))

    def _bump(self) -> None:
        _bump(self.db)


def _not_approved(row_id: int, exc: DuplicateSimilar) -> DuplicateSimilar:
    """`exc` as an approve's refusal: the phrasing is another entry's already, so the
    editor decides which of the two answers it rather than removing it from one."""
    refused = DuplicateSimilar(exc.field, exc.text, exc.entry_id, exc.other_question, exc.taken_as,
                               advice=f"move it to entry {exc.entry_id!r} if that entry answers it, or reject it")
    refused.args = (f"cannot approve learned phrasing {row_id}: {refused.reason}",)
    return refused


def _learned_row(r, rule: TrustRule) -> Learned:
    """A `learned` table row (select *) as `Learned`, trusted and demoted as `rule` says."""
    row = Learned(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), json.loads(r[8]),
                  r[9], r[10], r[11], r[12], lifted=json.loads(r[13]) if r[13] else None,
                  moved_to=json.loads(r[14])["to"] if r[14] else None)
    row.trusted = rule.trusts(row)
    row.demoted = rule.demotes(row)
    return row


def stored_rule(db) -> TrustRule:
    """The trust rule the store's settings name (`kefu learn config --min-agents`)."""
    found = db.execute("select value from settings where key = 'learn.min_agents'").fetchone()
    return TrustRule(int(found[0]) if found else 2)


class ConfirmedRejects:
    """Which agents' rejects of an entry for a message are trusted, as learning trusts
    them: the reject counts in a pairing (its learned row) that is demoted (`min_agents`
    different agents rejected it, more than accepted it) or that an editor rejected,
    and an editor's lift has not cleared it. A pairing an editor moved to another entry
    confirms nothing: the message has its entry. One agent's rejects, however many, and
    those of a message never learned (over MAX_CHARS), are not. Built from the `learned`
    table of `db` alone (the gap miner reads the log outside the store's lock); a reject
    is matched to its pairing as `LearnStore._lifted_rejects` matches one (the same
    message, or its phrasing, as `phrase_key` compares them, or a near-duplicate)."""

    def __init__(self, db, rule: TrustRule | None = None):
        rule = rule or stored_rule(db)
        self._pairings: dict[str, list[_Pairing]] = {}
        for r in db.execute(
                "select * from learned where moved is null and (status = 'rejected'"
                " or (status = 'candidate' and json_array_length(rejecters) >= ?))", [rule.min_agents]):
            row = _learned_row(r, rule)
            if not (row.demoted or row.status == "rejected"):
                continue
            until = None
            if row.lifted:
                (until,) = db.execute("select max(at) from learn_decisions where row_id = ? and action = 'lift'",
                                      [row.id]).fetchone()
            self._pairings.setdefault(row.entry_id, []).append(
                _Pairing(row.key, row.text, set((row.lifted or {}).get("rejecters") or []), until))
        self._keys: dict[str, tuple[str, str]] = {}

    def __call__(self, entry_id: str | None, message: str, agent: str | None, at: str) -> bool:
        """Whether the reject of `entry_id` for `message` by `agent` at `at` is trusted."""
        pairings = self._pairings.get(entry_id or "")
        if not pairings:
            return False
        # `phrase_key` (masking, ~0.3 ms) of every reject of an entry with a demoted pairing
        # took seconds on a year's log: only a message that may match one is keyed.
        present = _chars(message) | _MASK_CHARS
        pairings = [p for p in pairings if p.may_match(present)]
        if not pairings:
            return False
        if message not in self._keys:
            self._keys[message] = (phrase_key(message), phrase_key(phrasing(message)))
        key, text_key = self._keys[message]
        for p in pairings:
            if not (key == p.key or (text_key and text_key == p.phrasing_key)
                    or _likeness(key, p.key) >= NEAR_DUPLICATE):
                continue
            if (agent or UNNAMED) in p.lifted and (p.until is None or at <= p.until):
                continue  # an editor cleared it: no say against the entry any more
            return True
        return False


@dataclass
class _Pairing:
    """A confirmed pairing as `ConfirmedRejects` compares rejects with it."""
    key: str
    text: str
    lifted: set[str]  # the rejecters its latest lift cleared
    until: str | None  # when that lift was (None: unknown, every reject of theirs)

    @functools.cached_property
    def phrasing_key(self) -> str:  # only when a message may match: masking is slow
        return phrase_key(self.text)

    @functools.cached_property
    def _text_chars(self) -> list[str]:
        return [ch for ch in _chars(self.text) if ch.isalnum()]

    def may_match(self, present: set[str]) -> bool:
        """Whether a message of the characters `present` can be this pairing's message, its
        phrasing or a near-duplicate: enough of the key's characters (or the phrasing's) are
        in it, as `_likeness` ≥ NEAR_DUPLICATE needs of keys that only add words to one
        another (a necessary test, ~20 µs a message, for the one that masks)."""
        for chars in (self.key, self._text_chars):
            hits = sum(ch in present for ch in chars)
            if chars and 2 * hits >= NEAR_DUPLICATE * (hits + len(chars)):
                return True
        return False


def _chars(text: str) -> set[str]:
    """The characters of `text` as keys hold them: simplified, half-width, lower case."""
    return set(to_simplified(unicodedata.normalize("NFKC", text)).lower())


# What masking and spoken digits put into a key that the message need not hold.
_MASK_CHARS = set("手机号电话邮箱微信号qq姓名地址卡证件0123456789")


def _bump(db) -> None:
    db.execute("insert into settings (key, value) values ('learn.version', random())"
               " on conflict(key) do update set value = random()")


def expire(db, cutoff: str, limit: int = -1) -> tuple[int, int]:
    """Retention for what learning keeps of customer text (the feedback log's period,
    run by its purge): events logged before `cutoff` are deleted (the customer's message,
    the agent's edited reply and the date), and so is every learned phrasing whose events
    all were (its `last_at` before it), unless an editor approved it: an approved phrasing
    is entry content, kept with the entry and its history like any similar question. A
    phrasing with a later event stays as it is, counts included: it sums its events, and
    goes with the last of them. Trusted phrasings and demotions may change: the version
    moves, so the index and the ranking adjustments follow. Returns how many events and
    phrasings were deleted: at most `limit` of each, the oldest (all with -1)."""
    events = db.execute("delete from learn_events where id in"
                        " (select id from learn_events where at < ? order by at, id limit ?)", [cutoff, limit]).rowcount
    rows = db.execute("delete from learned where id in (select id from learned where status != 'approved'"
                      " and last_at < ? order by last_at, id limit ?)", [cutoff, limit]).rowcount
    if events or rows:
        _bump(db)
    return events, rows

"""Numbered schema migrations, applied in order when a store opens."""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from typing import Callable

import sqlite_utils

from .errors import KefuError, StoreTooNew

MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = []


def migration(fn: Callable[[sqlite_utils.Database], None]):
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_create_entries(db: sqlite_utils.Database) -> None:
    db["entries"].create(
        {
            "id": str, "question": str, "similar": str, "answer": str, "category": str,
            "tags": str, "status": str, "valid_from": str, "valid_to": str,
            "created_at": str, "updated_at": str, "author": str, "version": int,
            "content_hash": str,
        },
        pk="id",
    )
    db["entries"].create_index(["status"])
    db["history"].create(
        {"id": int, "entry_id": str, "version": int, "action": str, "author": str,
         "at": str, "before": str, "after": str},
        pk="id",
    )
    db["history"].create_index(["entry_id", "version"], unique=True)


@migration
def m002_create_embeddings(db: sqlite_utils.Database) -> None:
    # Vectors keyed by (model, hash of the normalised text): unchanged text is never
    # embedded twice, whichever entry it belongs to.
    db["embeddings"].create({"model": str, "hash": str, "vector": bytes}, pk=("model", "hash"))


@migration
def m003_create_terms(db: sqlite_utils.Database) -> None:
    db["terms"].create({"word": str, "added_at": str, "author": str}, pk="word")


@migration
def m004_index_questions(db: sqlite_utils.Database) -> None:
    # Imports without ids find existing entries by their standard question.
    db["entries"].create_index(["question"])


@migration
def m005_create_feedback(db: sqlite_utils.Database) -> None:
    # What the assistant showed (suggestions) and what the agent did with it (feedback).
    db["suggestions"].create({"id": str, "at": str, "message": str, "context": str, "script": str,
                              "intent": str, "no_match": int, "hits": str, "drafts": str}, pk="id")
    db["suggestions"].create_index(["at"])
    db["feedback"].create({"id": int, "suggestion_id": str, "at": str, "action": str,
                           "draft": int, "entry_id": str, "text": str, "agent": str}, pk="id",
                          foreign_keys=[("suggestion_id", "suggestions", "id")])
    db["feedback"].create_index(["suggestion_id"])


@migration
def m006_create_sources_and_passages(db: sqlite_utils.Database) -> None:
    # Which import source last wrote each entry, so `import --prune` can archive the
    # entries a source no longer has; and document passages, keyed by source + position.
    db["entry_sources"].create({"entry_id": str, "source": str}, pk="entry_id")
    db["entry_sources"].create_index(["source"])
    db["passages"].create({"id": str, "source": str, "position": int, "section": str, "page": int,
                           "text": str, "content_hash": str, "imported_at": str}, pk="id")
    db["passages"].create_index(["source", "position"], unique=True)


@migration
def m007_create_users_and_tokens(db: sqlite_utils.Database) -> None:
    # Console logins (werkzeug password hashes) and API tokens for integrations (only
    # a hash of each token is stored; the token itself is shown once when created).
    db["users"].create({"name": str, "password_hash": str, "role": str, "created_at": str}, pk="name")
    db["api_tokens"].create({"token_hash": str, "name": str, "role": str, "created_at": str}, pk="token_hash")


@migration
def m008_create_learning(db: sqlite_utils.Database) -> None:
    # learn_events: every accept/edit/reject/no-match once (`key` makes a replay or a
    # retried request count once). learned: one row per (entry, normalised message),
    # the candidate similar questions with their counts and the editor's decision.
    db["learn_events"].create({"id": int, "key": str, "at": str, "source": str, "message": str,
                               "entry_id": str, "action": str, "agent": str, "edited": str,
                               "suggestion_id": str}, pk="id")
    db["learn_events"].create_index(["key"], unique=True)
    db["learn_events"].create_index(["at"])
    db["learned"].create({"id": int, "entry_id": str, "key": str, "text": str, "status": str,
                          "accepts": int, "rejects": int, "agents": str, "rejecters": str,
                          "first_at": str, "last_at": str, "decided_by": str, "decided_at": str},
                         pk="id")
    db["learned"].create_index(["entry_id", "key"], unique=True)
    db["settings"].create({"key": str, "value": str}, pk="key")


@migration
def m009_create_change_markers(db: sqlite_utils.Database) -> None:
    # One row per table the indexes are built from. Triggers set its marker to a fresh
    # random value on every insert, update or delete, from any connection or process,
    # so a reader can tell with one small query whether what it derived (the published
    # hash, the segmenter's terms) is stale. Writes to other tables (the suggestion log
    # on every panel request) leave the markers alone. Random rather than counted up,
    # so a restored backup never repeats a value a running process has cached.
    db["changes"].create({"name": str, "marker": int}, pk="name")
    for table in ("entries", "terms", "passages"):
        db.execute("insert into changes (name, marker) values (?, random())", [table])
        for event in ("insert", "update", "delete"):
            db.execute(f"create trigger {table}_{event}_marks after {event} on {table} begin"
                       f" update changes set marker = random() where name = '{table}'; end")


@migration
def m010_learned_undo(db: sqlite_utils.Database) -> None:
    # What a lift cleared and what a move carried, so that `reset` can give it back:
    # every editor action on a learned phrasing is reversible. JSON, null when none.
    db["learned"].add_column("lifted", str)
    db["learned"].add_column("moved", str)


@migration
def m011_normalise_terms(db: sqlite_utils.Database) -> None:
    # Shop terms were stored as typed, but matched normalised: 運費險 beside 运费险 was
    # one term in two rows, and removing 运费险 left it active. Now they are stored
    # normalised (kb/text.py normalize_term); the earliest row of a spelling is kept.
    rows = db.execute("select word, added_at, author from terms order by added_at, word").fetchall()
    if not rows:
        return
    from .text import normalize

    for word, added_at, author in rows:
        key = normalize(word).text
        if key != word:
            db.execute("delete from terms where word = ?", [word])
            if key and not any(ch.isspace() for ch in key):
                db.execute("insert or ignore into terms (word, added_at, author) values (?, ?, ?)",
                           [key, added_at, author])


@migration
def m012_superseded_suggestions(db: sqlite_utils.Database) -> None:
    # The panel asks again as the agent types: the id of the suggestion that a later one
    # for the same message replaced (statistics and gap mining skip it; feedback that
    # names it brings it back). Null for a suggestion that stands.
    db["suggestions"].add_column("superseded_by", str)


@migration
def m013_shared_logins(db: sqlite_utils.Database) -> None:
    # A login a whole team uses (the panel inside a help desk): only it, and API tokens,
    # may name the help-desk agent who gave feedback; a personal login's feedback is its own.
    db["users"].add_column("shared", int, not_null_default=0)


@migration
def m014_learn_decisions(db: sqlite_utils.Database) -> None:
    # Every editor decision on a learned phrasing (approve, reject, move, lift, reset), in
    # order: the row itself keeps only the latest one (decided_by, decided_at).
    db["learn_decisions"].create({"id": int, "row_id": int, "at": str, "editor": str, "action": str,
                                  "status": str}, pk="id")
    db["learn_decisions"].create_index(["row_id"])


@migration
def m015_web_sessions(db: sqlite_utils.Database) -> None:
    # A web login is a row here (its id's hash): logging out, a new password or removing
    # the user deletes it, so a copied cookie stops working then.
    db["web_sessions"].create({"id_hash": str, "user": str, "created_at": str}, pk="id_hash")
    db["web_sessions"].create_index(["user"])


@migration
def m016_suggestion_replaces(db: sqlite_utils.Database) -> None:
    # The suggestion a panel said this one replaces: a later request naming the same one
    # supersedes this too (a request the panel dropped for a newer key), and nothing else.
    db["suggestions"].add_column("replaces", str)
    db["suggestions"].create_index(["replaces"])


@migration
def m017_learned_ids_never_reused(db: sqlite_utils.Database) -> None:
    # A learned row's id names it in its decisions (learn_decisions.row_id), in a move's
    # record ("move to … (#7)") and in the console's links. Without AUTOINCREMENT SQLite
    # gave the id of a deleted row (the newest: a reset takes back a move that created it)
    # to the next new phrasing, which then showed the old row's decisions. The table is
    # rebuilt with AUTOINCREMENT, its rows kept as they are (same ids, same columns in the
    # same order), and the counter starts past every id a decision or a move names, so no
    # id already used is given again.
    db.execute("create table learned_new (id integer primary key autoincrement, entry_id text, key text,"
               " text text, status text, accepts integer, rejects integer, agents text, rejecters text,"
               " first_at text, last_at text, decided_by text, decided_at text, lifted text, moved text)")
    db.execute("insert into learned_new select id, entry_id, key, text, status, accepts, rejects, agents,"
               " rejecters, first_at, last_at, decided_by, decided_at, lifted, moved from learned")
    used = db.execute("select max(coalesce((select max(id) from learned), 0),"
                      " coalesce((select max(row_id) from learn_decisions), 0),"
                      " coalesce((select max(json_extract(moved, '$.to')) from learned), 0))").fetchone()[0]
    db.execute("drop table learned")
    db.execute("alter table learned_new rename to learned")
    db.execute("create unique index idx_learned_entry_id_key on learned (entry_id, key)")
    db.execute("delete from sqlite_sequence where name in ('learned', 'learned_new')")
    db.execute("insert into sqlite_sequence (name, seq) values ('learned', ?)", [used])


@migration
def m018_login_failures(db: sqlite_utils.Database) -> None:
    # Failed web logins and API tokens of the last minutes (kb/throttle.py): in the store,
    # not in a process, so that every worker of `kefu serve` refuses the same guesser.
    db["login_failures"].create({"scope": str, "name": str, "address": str, "at": float})
    db["login_failures"].create_index(["scope", "name"])
    db["login_failures"].create_index(["scope", "address"])
    db["login_failures"].create_index(["at"])


@migration
def m019_passage_removals(db: sqlite_utils.Database) -> None:
    # Passages have no history of their own: who removed a document's passages, and
    # when, is kept here (`kefu passages remove`), as an entry's history keeps its editor.
    db["passage_removals"].create({"id": int, "source": str, "passages": int, "author": str, "at": str},
                                  pk="id")


@migration
def m020_stored_validity_bounds(db: sqlite_utils.Database) -> None:
    # An older kefu stored any `fromisoformat` bound (20261129, 2026-11-29 18:00, …Z);
    # they are rewritten in the one form kefu stores now (entry.normalize_when), which
    # the API documents and returns: the same day or moment, read the same way. The
    # content hash follows (the published hash, and so the index, then rebuild once).
    # A bound that cannot be read at all is left for an editor to see and fix. History
    # rows' before and after are rewritten the same way: the current version's `after`
    # must hash as the entry does (the console's conflict page compares them), and a
    # revert then gives back the same moments in today's form.
    # The columns are named here, as they were when this migration was written: a
    # column a later migration adds does not exist yet on the stores this one upgrades.
    from .entry import content_hash, legacy_when

    def rewritten(content: dict) -> dict:
        for name in ("valid_from", "valid_to"):
            try:
                if name in content:  # a history row an even older kefu wrote may lack them
                    content[name] = legacy_when(content[name])
            except (ValueError, OverflowError):
                pass
        return content

    editable = ("question", "similar", "answer", "category", "tags", "status", "valid_from", "valid_to")
    rows = db.execute(f"select id, {', '.join(editable)} from entries"
                      " where valid_from is not null or valid_to is not null").fetchall()
    for id_, *values in rows:
        content = dict(zip(editable, values))
        content["similar"], content["tags"] = json.loads(content["similar"] or "[]"), json.loads(content["tags"] or "[]")
        was = (content["valid_from"], content["valid_to"])
        rewritten(content)
        if (content["valid_from"], content["valid_to"]) != was:
            db.execute("update entries set valid_from = ?, valid_to = ?, content_hash = ? where id = ?",
                       [content["valid_from"], content["valid_to"], content_hash(content), id_])
    for rowid, *texts in db.execute("select id, before, after from history").fetchall():
        contents = [json.loads(t) if t else None for t in texts]
        new = [json.dumps(rewritten(c), ensure_ascii=False) if c else t for c, t in zip(contents, texts)]
        if new != texts:
            db.execute("update history set before = ?, after = ? where id = ?", [*new, rowid])


@migration
def m021_decisions_kept_in_the_row(db: sqlite_utils.Database) -> None:
    # A kefu before m014 kept only a phrasing's latest decision, in its row (decided_by,
    # decided_at), and m014 started the log empty: `kefu learn history` then said "no
    # editor decision yet" of a phrasing an editor had approved or rejected. Each row
    # whose decisions were never logged gets that one. A known limit: a row decided before
    # m014 that a later move merged into has that "moved in from" logged, so it is skipped
    # and its older decision stays unlisted (the row no longer holds it anyway). A move
    # (`moved`, set until a reset takes it back) is named as kefu logs one; it left its row
    # rejected, which says nothing of an editor's reject. A lift (`lifted`) stamped the row
    # and kept its status: its row's latest decision is the lift or one after it, so, as a
    # candidate's (a reset, or the row a move made), it is named as unknown. Never 'lift',
    # whose time decides which rejects a lift cleared, nor approve or reject under a
    # lift's editor and time.
    db.execute("insert into learn_decisions (row_id, at, editor, action, status)"
               " select id, decided_at, decided_by, case"
               " when moved is not null and lifted is null then 'move to ' || coalesce((select t.entry_id"
               " from learned t where t.id = json_extract(learned.moved, '$.to')), '?')"
               " || ' (#' || json_extract(moved, '$.to') || ')'"
               " when moved is null and lifted is null and status = 'approved' then 'approve'"
               " when moved is null and lifted is null and status = 'rejected' then 'reject'"
               " else 'decided (an older kefu did not record how)' end, status"
               " from learned where decided_at is not null"
               " and not exists (select 1 from learn_decisions where row_id = learned.id) order by decided_at, id")


@migration
def m022_index_learn_events_by_entry(db: sqlite_utils.Database) -> None:
    # An entry's rejects are read for each lifted pairing every time the use prior is
    # rebuilt (after every click): without an index each read scanned the whole log, a
    # year's hundreds of thousands of events (12 s a rebuild with 40 lifts).
    db["learn_events"].create_index(["entry_id", "action"])


@migration
def m023_message_vectors(db: sqlite_utils.Database) -> None:
    # Which cached vectors are customer messages' (the gaps'), and when the newest message
    # of that text was logged: retention deletes them with the messages, or the cache
    # grew by ~3.5 KB a distinct text and model for good.
    db["message_vectors"].create({"model": str, "hash": str, "last_at": str}, pk=("model", "hash"))
    db["message_vectors"].create_index(["last_at"])


@migration
def m024_index_suggestions_by_no_match(db: sqlite_utils.Database) -> None:
    # Gap mining reads the no-match suggestions on every load of the gaps and statistics
    # pages: without an index each read stepped through every suggestion, a year's over a
    # GB with their hits and drafts, for the sixth of them flagged.
    db["suggestions"].create_index(["no_match", "superseded_by"])


@migration
def m025_suggestion_top_entry(db: sqlite_utils.Database) -> None:
    # Statistics count a shown suggestion in its top entry's category: they read that id out
    # of every suggestion's hits (JSON of ~4 KB, stored after the message and its context),
    # and the row's day, intent and flags, on every load of the statistics page: over ten
    # seconds on a year's log. The id has a column of its own, and an index holds all that
    # statistics read of a suggestion, so they read neither the rows nor their JSON. Hits
    # that are no JSON list with an id first (no kefu wrote them) give none, as statistics
    # took none from them (a malformed list stopped them).
    db["suggestions"].add_column("top_entry", str)
    db.execute("update suggestions set top_entry = json_extract(hits, '$[0].id')"
               " where json_valid(hits) and json_type(hits, '$[0].id') = 'text'")
    db["suggestions"].create_index(["superseded_by", "at", "id", "intent", "no_match", "top_entry"])


@migration
def m026_fill_top_entry_on_insert(db: sqlite_utils.Database) -> None:
    # A kefu process that opened the store before m025 (a `kefu serve` worker still running
    # through an upgrade) logs suggestions with its own column list, leaving top_entry out:
    # statistics would never count them. The store fills it as m025 did; a row that gives
    # it (today's kefu, which gives none only when there is no first hit's id) is left alone.
    db.execute("create trigger suggestions_top_entry after insert on suggestions"
               " when new.top_entry is null and json_valid(new.hits) and json_type(new.hits, '$[0].id') = 'text'"
               " begin update suggestions set top_entry = json_extract(new.hits, '$[0].id')"
               " where id = new.id; end")


@migration
def m027_mined_gaps(db: sqlite_utils.Database) -> None:
    # Gaps and answer drift as last mined, under a key of everything they were computed from
    # (suggest/learn.py): embedding, clustering and re-checking a year's unanswered messages
    # took ~30 s on every load of the console's gaps and statistics pages, for the same result.
    db["mined"].create({"key": str, "value": str, "at": str}, pk="key")
    db["mined"].create_index(["at"])


@migration
def m028_index_feedback_by_action(db: sqlite_utils.Database) -> None:
    # Whether the answer drift kept (m027) still holds is read from the edits' count and
    # newest id, and drift reads the edits: without an index each read scanned a year's
    # feedback, most of it accepts.
    db["feedback"].create_index(["action", "at", "id"])


@migration
def m029_day_counts(db: sqlite_utils.Database) -> None:
    # The statistics' counters of each closed local day (suggest/stats.py), kept apart so
    # that retention's purge, which deletes the oldest day's rows every ten minutes on a
    # shop older than its period, drops only the days it changed: the whole year counted
    # again after each one took 5-8 s. `low`/`high`: the day's range of logged times;
    # `mark_*`: the highest ids of the log when it was counted (rows added since are
    # looked for in its range); `reported_from`: the oldest suggestion its agents' no-match
    # reports were counted under (deleting it changes the day); `shape`: the code and time
    # zone it was counted with.
    db["day_counts"].create({"key": str, "low": str, "high": str, "mark_suggestions": int, "mark_feedback": int,
                             "mark_events": int, "reported_from": str, "shape": str, "value": str, "at": str}, pk="key")
    db["day_counts"].create_index(["low"])
    # Which days a suggestion logged since, or feedback on one, changes: those of the no-match
    # reports on it (their category is the suggestion's top entry's).
    db["learn_events"].create_index(["suggestion_id"])


@migration
def m030_stored_flags_masked(db: sqlite_utils.Database) -> None:
    # The log masked a stored draft's text but kept its flags as drafted: their words and
    # positions in the unmasked text. A flag over a number (加qq12345678) kept the number,
    # and a flag after a masked one marked other characters. Each flag's word is masked as
    # mask() does and found in the stored text (see _flags_on_masked). Rows are picked in
    # SQL (a draft with a flag: about one in fifty of a year's suggestions) and rewritten
    # in batches, each batch read by rowid so a year's log is never all in memory.
    from .feedback import mask

    last = 0
    while True:
        rows = db.execute("select rowid, drafts from suggestions where rowid > ?"
                          " and instr(drafts, '\"flags\": [{') order by rowid limit 500", [last]).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        changed = []
        for rowid, text in rows:
            try:
                drafts = json.loads(text)
            except ValueError:
                continue  # no kefu wrote it: left as it is
            if not isinstance(drafts, list):
                continue
            new = [{**d, "flags": _flags_on_masked(d["text"], d["flags"], mask)}
                   if isinstance(d, dict) and isinstance(d.get("text"), str) and isinstance(d.get("flags"), list)
                   and d["flags"] else d
                   for d in drafts]
            if new != drafts:
                changed.append((json.dumps(new, ensure_ascii=False), rowid))
        db.conn.executemany("update suggestions set drafts = ? where rowid = ?", changed)


def _flags_on_masked(text: str, flags: list, mask: Callable[[str], str]) -> list:
    """`flags` (as drafted: words and positions in the unmasked text) on `text`, the stored
    masked text: each word masked, and its positions those of the masked word in `text`.
    Where it still stands (no mask before it, or a row today's kefu wrote) it stays; else
    the words of one masked form are its places in `text` in order, when there are as many
    (masking keeps the order of what it leaves); else the flag is dropped: a masked word
    not in the text may hold what masking hid only in its context (12345678 flagged out of
    qq12345678), and one in it at more places than flags cannot be told which it marks."""
    keep = [f for f in flags if isinstance(f, dict) and isinstance(f.get("word"), str)]
    words = [mask(f["word"]) for f in keep]
    out: dict[int, dict] = {}
    for word in set(words):
        group = [i for i, w in enumerate(words) if w == word]
        places, at = [], text.find(word) if word else -1
        while at >= 0:
            places.append(at)
            at = text.find(word, at + 1)
        stands = [i for i in group if text[keep[i].get("start", -1):keep[i].get("end", -1)] == word
                  and keep[i].get("start") in places]
        if len(places) == len(group):
            order = sorted(group, key=lambda i: (keep[i].get("start") or 0, i))
            out.update({i: {**keep[i], "word": word, "start": a, "end": a + len(word)} for i, a in zip(order, places)})
        else:
            out.update({i: {**keep[i], "word": word} for i in stands})
    return [out[i] for i in sorted(out)]


@migration
def m031_index_suggestions_by_time_and_id(db: sqlite_utils.Database) -> None:
    # Statistics count each closed day's feedback by the day's suggestions: their ids, in
    # the order of their times. With the time alone indexed, each id was read from its row
    # (~5 KB of hits and drafts a suggestion): the first statistics load on a year's log read
    # ~440 MB of the store, ~130 MB with this index. It holds what the one on the time alone
    # (m005) held, which it replaces.
    db.execute("drop index if exists idx_suggestions_at")
    db["suggestions"].create_index(["at", "id"])


def apply(db: sqlite_utils.Database, read_only: bool = False) -> None:
    """Apply every migration not yet recorded in `_migrations`, each in its own transaction.
    Two processes opening a store that needs migrating (a server and a CLI command
    after an upgrade) take turns on a lock file beside it: the second finds the work done.
    StoreTooNew when a newer kefu migrated it further: its rows have columns this one
    would misread, so nothing is read or written. A store opened `read_only` (this user
    cannot write it) that needs migrating is refused: it would be misread."""
    refuse_newer(db)
    if not _pending(db):
        return
    if read_only:
        raise KefuError(f"{_file_of(db)} was made by an older kefu and must be upgraded, which needs "
                        "writing it: run kefu as a user who can write the store and its folder")
    path = _file_of(db)
    if not path:  # in memory: nobody else can open it
        _apply(db)
        return
    with setting_up(path):
        _apply(db)


def refuse_newer(db: sqlite_utils.Database) -> None:
    """StoreTooNew when a newer kefu migrated the store further. Only read: called before
    anything is set on a store, which is then left as it was."""
    if too_new := unknown(db):
        raise StoreTooNew(_file_of(db) or ":memory:", too_new)


@contextmanager
def setting_up(path: str):
    """The store's set-up lock (a file beside it): processes that set up the same new
    store (its journal mode, its migrations) take turns."""
    with open(f"{path}-migrate.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _file_of(db: sqlite_utils.Database) -> str:
    """The database's file ("" in memory), read as bytes: a folder name in GBK is no UTF-8."""
    before = db.conn.text_factory
    db.conn.text_factory = bytes
    try:
        rows = db.conn.execute("pragma database_list").fetchall()
    finally:
        db.conn.text_factory = before
    return next((os.fsdecode(row[2]) for row in rows if row[1] == b"main" and row[2]), "")


def unknown(db: sqlite_utils.Database) -> list[str]:
    """Migrations recorded in the store that this kefu does not have (a newer one's)."""
    if "_migrations" not in db.table_names():
        return []
    known = {fn.__name__ for fn in MIGRATIONS}
    return sorted({row["name"] for row in db["_migrations"].rows} - known)


def _pending(db: sqlite_utils.Database) -> bool:
    if "_migrations" not in db.table_names():
        return True
    return bool({fn.__name__ for fn in MIGRATIONS} - {row["name"] for row in db["_migrations"].rows})


def _apply(db: sqlite_utils.Database) -> None:
    if "_migrations" not in db.table_names():
        db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in db["_migrations"].rows}
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        # One explicit transaction per migration, its record included: sqlite-utils
        # commits each statement outside one (`with db.conn` opens none), so a migration
        # that failed half-way (a full disk, a killed process) left its first tables or
        # columns behind unrecorded, and running it again on the next open failed
        # ("table … already exists"): the store could not be opened any more.
        db.conn.execute("begin immediate")
        try:
            fn(db)
            db["_migrations"].insert({"name": fn.__name__, "applied_at": _now()})
        except BaseException:
            if db.conn.in_transaction:
                db.conn.rollback()
            raise
        db.conn.commit()


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")

"""`kefu learn …` and `kefu stats`: the learning commands, registered by cli.py."""

from __future__ import annotations

from pathlib import Path

import click

from kefu.cli import (Context, InputPath, author, check_encoding, counted, emit, handle_errors, json_option, long_work,
                      needs_store, to_stderr)
from kefu.kb.learned import MIN_AGENTS, TrustRule, count_agents


@click.group()
def learn() -> None:
    """Learn from agents' feedback: replay, review queue, gaps, fine-tuning."""


def _recorded_text(d: dict) -> str:
    return (f"{counted(d['new'], 'new event')}, {d['duplicate']} seen before"
            + (f", {d['expired']} past the retention period (not stored)" if d.get("expired") else "") + "; "
            f"{counted(len(d['learned']), 'learned phrasing')} touched; "
            f"index updated for {counted(len(d['entries']), 'entry', 'entries')}")


@learn.command(name="replay")
@click.argument("file", type=InputPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--agent", help="Agent to credit lines that name none (default: none, counted as one agent).")
@click.option("--encoding", callback=lambda _ctx, _param, value: check_encoding(value),
              help="Text encoding of the file (default: detected; UTF-8, GB18030/GBK or Big5).")
@json_option
@click.pass_obj
@handle_errors
@needs_store
@long_work
def learn_replay(c: Context, file, agent, encoding, as_json) -> None:
    """Record a feedback FILE (learn.jsonl: {"query", "accepted": id} per line); a line seen before counts once."""
    from kefu.suggest.learn import read_feedback

    # Read before the models load (seconds): a bad line is told at once, and the first thing said.
    events = read_feedback(file, agent, encoding)
    to_stderr(f"read {counted(len(events), 'line')} of feedback from {file}")
    emit(c.learner().record(events, path=str(file)), as_json, _recorded_text)


def _row_text(r: dict) -> str:
    # What the row does now: in use, ranked down, handed on, out of its entry, or its status.
    # A moved row may still be demoted (its rejects stay with the old pairing): where it went matters more.
    # An editor's approve or reject outranks a lift: a rejected row lifted is still rejected.
    state = ("trusted" if r["trusted"] else f"moved>#{r['moved_to']}" if r["moved_to"] is not None else
             "demoted" if r["demoted"] else "removed" if r["removed"] else
             "lifted" if r["lifted"] and r["status"] == "candidate" else r["status"])
    return (f"#{r['id']:<5d} {r['entry_id']:10s} {state:9s} +{r['accepts']}/-{r['rejects']} "
            # agents as the trust rule counts them: an unnamed "?" only when no one is named
            f"agents +{count_agents(r['agents'])}/-{count_agents(r['rejecters'])}  {r['text']}"
            # approve needs a published entry; reject and move still apply
            + _NOT_APPROVABLE.get(r.get("entry_status"), "")
            + (_lifted(r.get("lifted")) if r["status"] == "candidate" else ""))  # an editor's decision outranks it


def _lifted(lifted: dict | None) -> str:
    """Whose rejects a lift cleared: the row then reads +N/-0 and names no rejecter, though
    the lift keeps them (reset gives them back), so an editor's decision left no trace."""
    if not lifted:
        return ""
    who = ", ".join(lifted["rejecters"]) or "?"
    return f"  (lifted 已解除: {counted(lifted['rejects'], 'reject')} by {who})"


def _rows_text(rows: list[dict]) -> list[str]:
    return [QUEUE_HEADER, *map(_row_text, rows)] if rows else []


# The columns of `_row_text`, printed above the rows: "+2/-0 agents +2/-0" explained nothing.
QUEUE_HEADER = (f"{'#id':6s} {'entry':10s} {'state':9s} +accepts/-rejects  "
                "agents +who accepted/-who rejected (as the trust rule counts them)  phrasing")


# What keeps a row from being approved, by its entry's status (None: the entry is gone).
_NOT_APPROVABLE = {"archived": "  (entry archived 已归档: reject or move)",
                   "draft": "  (entry draft 草稿: publish it to approve, or reject or move)",
                   None: "  (entry gone 已不存在: reject or move)"}


@learn.command(name="queue")
@click.option("--status", type=click.Choice(["candidate", "agent-rejected", "approved", "rejected", "known", "all"]),
              default="candidate", show_default=True,
              help="candidate: accepted by agents, undecided; agent-rejected: undecided pairings agents "
                   "rejected (demoted or on the way).")
@click.option("--entry", "entry_id", help="Only this entry's learned phrasings.")
@click.option("--limit", type=click.IntRange(min=1), help="List only the first N rows, and say how many more wait.")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def learn_queue(c: Context, status, entry_id, limit, as_json) -> None:
    """Learned phrasings waiting for an editor (trusted ones are already used for retrieval)."""
    store = c.learner().store
    if entry_id is not None:  # as stored (ｋ010 is k010); an entry kefu does not have is an error
        entry_id = c.kb().store.get(entry_id).id
    if status == "candidate":
        rows = store.queue(entry_id=entry_id)
    elif status == "agent-rejected":
        rows = store.rejected_pairings(entry_id=entry_id)
    else:
        rows = store.rows(entry_id=entry_id, status=None if status == "all" else status)
    more = max(len(rows) - limit, 0) if limit else 0
    data = {"rule": {"min_agents": store.rule.min_agents}, "rows": _rows(c, rows[:limit]), "more": more}
    emit(data, as_json, lambda d: "\n".join([*_rows_text(d["rows"]),
                                             *([f"… {more} more waiting (--limit {limit})"] if more else [])])
         or "nothing to review")


def _rows(c: Context, rows) -> list[dict]:
    """Learned rows as listed, each with its entry's status (what `_row_text` reads)."""
    entries = c.kb().store.get_many({r.entry_id for r in rows})
    return [{**r.to_dict(), "entry_status": _status(entries.get(r.entry_id)),
             "entry_archived": _status(entries.get(r.entry_id)) == "archived"}  # kept for scripts
            for r in rows]


def _status(entry) -> str | None:
    return entry.status if entry is not None else None


def _decision(verb: str, doc: str):
    @click.argument("ids", nargs=-1, type=int, required=True)
    @json_option
    @click.pass_obj
    @handle_errors
    @needs_store
    def command(c: Context, ids, as_json) -> None:
        learner = c.learner()
        changed = learner.decide(verb, list(ids), author())  # all of IDS or, on any refusal, none
        rows = _rows(c, learner.store.rows(ids=list(ids)))
        emit({"rows": rows, "entries": changed}, as_json, lambda d: "\n".join(_rows_text(d["rows"])))
    command.__doc__ = doc
    return learn.command(name=verb)(command)


_decision("approve", "Make learned phrasings IDS real similar questions of their entries (with history).")
_decision("reject", "Never use learned phrasings IDS for retrieval (reset undoes it).")
_decision("reset", "Undo an editor's approve, reject or move of IDS, else a lift (the rejects count again).")
_decision("lift", "Clear the agents' rejects of IDS, lifting the demotion of their pairings (reset undoes it).")


@learn.command(name="history")
@click.argument("row_id", type=int)
@json_option
@click.pass_obj
@handle_errors
@needs_store
def learn_history(c: Context, row_id, as_json) -> None:
    """Every editor decision on learned phrasing ROW_ID, oldest first (its row may be gone: row is then null)."""
    store = c.learner().store
    decisions = store.decisions(row_id)  # LearnedNotFound for an id with neither a row nor a decision
    row = next(iter(store.rows(ids=[row_id])), None)
    data = {"row": _rows(c, [row])[0] if row else None, "decisions": decisions}  # as the queue lists it
    emit(data, as_json, lambda d: "\n".join([f"{x['at']}  {x['editor']}  {x['action']} → {x['status']}"
                                             for x in d["decisions"]]
                                            + ([] if d["row"] else [f"(learned phrasing #{row_id} is gone)"]))
         or "no editor decision yet")


@learn.command(name="move")
@click.argument("row_id", type=int)
@click.option("--to", "to_entry", required=True, help="The entry the phrasing belongs to.")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def learn_move(c: Context, row_id, to_entry, as_json) -> None:
    """Give learned phrasing ROW_ID to another entry (its old pairing counts as rejected; reset undoes it)."""
    learner = c.learner()
    changed = learner.move(row_id, to_entry, author())
    to_id = learner.store.get(row_id).moved_to
    emit({"id": row_id, "to": to_entry, "to_id": to_id, "entries": changed}, as_json,
         lambda d: f"moved #{row_id} to {to_entry}: it is now learned phrasing #{to_id}")


@learn.command(name="config")
@click.option("--min-agents", type=click.IntRange(*MIN_AGENTS),
              help="Different agents whose accepts make a phrasing trusted (1-100).")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def learn_config(c: Context, min_agents, as_json) -> None:
    """Show or set the trust rule."""
    if min_agents is not None:
        c.set_trust(TrustRule(min_agents))
    emit({"min_agents": c.learner().store.rule.min_agents}, as_json,
         lambda d: f"a learned phrasing is trusted once {counted(d['min_agents'], 'different agent')} accepted it"
                   " (and more agents accepted it than rejected it), or an editor approved it")


def _since(ctx, param, value):
    from kefu.kb.errors import KefuError
    from kefu.suggest.stats import since_utc

    try:
        return since_utc(value) if value else None
    except KefuError as exc:
        raise click.BadParameter(str(exc)) from None


def _since_option(fn):
    return click.option("--since", callback=_since,
                        help="Only events from this date on: YYYY-MM-DD (local midnight) or an ISO "
                             "date-time (local time unless it has an offset).")(fn)


# A gap's kinds of message as the text names them (the console: 无匹配, 被拒).
_GAP_KINDS = {"no_match": "no match", "reject": "rejected"}


def _gaps_text(d: dict) -> str:
    from kefu.suggest.stats import local_day, local_moment  # local, as `kefu stats` and the console give them

    # "20 suggested new entries" read as all there were when --limit cut the list.
    lines = [("top " if d.get("more") else "") + counted(len(d["gaps"]), "suggested new entry", "suggested new entries")
             + (f" since {local_moment(d['since'])}" if d["since"] else "")
             + (f" (more were found: --limit {2 * len(d['gaps'])} lists more)" if d.get("more") else "")]
    for i, g in enumerate(d["gaps"], 1):
        kinds = ", ".join(f"{_GAP_KINDS.get(k, k)} {v}{_rejected(g.get('rejected_entries')) if k == 'reject' else ''}"
                          for k, v in g["kinds"].items() if v)
        lines.append(f"{i:2d}. {g['question']}  ({counted(g['count'], 'message')}: {kinds}; last {local_day(g['last_at'])})")
        lines += [f"      · {x}" for x in g["examples"]]
    if d["drift"]:
        lines.append("answers that may need updating:")
        lines += [f"  {x['entry_id']}: {counted(x['count'], 'edit')} {_change(x['removed'], x['added'])}"
                  for x in d["drift"]]
    return "\n".join(lines)


def _rejected(entries: dict | None) -> str:
    """Which entries a gap's messages rejected, as the console's 被拒的条目 (k075 ×3): "rejected
    3" alone left an editor to guess the entry the new one might duplicate."""
    return f" ({', '.join(f'{e} ×{n}' for e, n in entries.items())})" if entries else ""


def _change(removed: str, added: str) -> str:
    """What repeated edits did to an answer: "changed '' to '云闪付'" read as a riddle."""
    if not removed:
        return f"added '{added}'"
    return f"took out '{removed}'" if not added else f"changed '{removed}' to '{added}'"


@learn.command(name="gaps")
@_since_option
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@json_option
@click.pass_obj
@handle_errors
@needs_store
@long_work
def learn_gaps(c: Context, since, limit, as_json) -> None:
    """Clusters of unanswered and rejected messages, as suggested new entries; repeated answer edits."""
    from kefu.suggest.learn import find_gaps

    emit(find_gaps(c.kb(), since, limit), as_json, _gaps_text)


def _finetune_text(d: dict) -> str:
    head = (f"fine-tuned {d['base']} on {counted(d['train_pairs'], 'pair')} (+ the entries' own phrasings),"
            f" {d['held_out_pairs']} held out; {d['seconds']} s, peak memory {d['peak_rss_mb']:.0f} MB")
    verdict = f"switched to {d['model_dir']} (index rebuilt)" if d["model_dir"] else "kept the current model"
    return f"{head}\n{d['reason']}\n{verdict}"


@learn.command(name="finetune")
@click.option("--epochs", type=click.IntRange(1), default=4, show_default=True)
@click.option("--batch-size", type=click.IntRange(2), default=32, show_default=True)
@click.option("--held-out", type=click.FloatRange(0.05, 0.5), default=0.2, show_default=True,
              help="Share of the accepted messages kept out of training to decide.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--undo", is_flag=True, help="Train nothing: go back to the models used before fine-tuning (reindexes).")
@json_option
@click.pass_obj
@handle_errors
@needs_store
@long_work
def learn_finetune(c: Context, epochs, batch_size, held_out, seed, undo, as_json) -> None:
    """Fine-tune the e5 (or configured sentence-transformers) model on accepted messages; switch only if better."""
    from kefu.suggest.finetune import Settings

    if undo:
        models = c.undo_finetune()
        emit({"models": models}, as_json, lambda d: f"back to models {d['models']} (index rebuilt)")
        return

    outcome = c.finetune(Settings(epochs=epochs, batch_size=batch_size, held_out=held_out, seed=seed,
                                  threads=c.threads or 1))
    emit(outcome.to_dict(), as_json, _finetune_text)


@click.command()
@_since_option
@click.option("--gaps", "n_gaps", type=click.IntRange(0), default=5, show_default=True,
              help="Top gaps to include (0: skip, no model is loaded).")
@json_option
@click.pass_obj
@handle_errors
@needs_store
@long_work
def stats(c: Context, since, n_gaps, as_json) -> None:
    """Suggestions shown, acceptance, no-match rate, top and unused entries, gaps, by category, stage and day."""
    from kefu.suggest import stats as usage

    report = usage.kept_usage(c.kb().store, since, kept_days=c.retention_days())
    if n_gaps:
        from kefu.suggest.learn import find_gaps

        # The objects `kefu learn gaps --json` gives, examples and kinds too: the same list.
        report.gaps = find_gaps(c.kb(), since, n_gaps)["gaps"]
    emit(report.to_dict(), as_json, usage.text)


__all__ = ["learn", "stats"]

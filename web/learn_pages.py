"""The console's learning pages: review queue of learned phrasings, gaps, statistics.

A blueprint of its own under /console, with the console's rules: editor role, CSRF
token in every form, knowledge-base use inside `locked()`. The views only translate:
the decisions are `kefu.suggest.learn.Learner`'s, the figures `find_gaps`' and
`kefu.suggest.stats.usage`'s.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from kefu.kb.errors import KefuError
from kefu.kb.learned import MIN_AGENTS, UNNAMED, count_agents
from kefu.kb.text import typed_number

from .auth import requires
from .console import STATUS_LABELS
from .messages import error_zh
from .state import current_user, locked

bp = Blueprint("learn", __name__, url_prefix="/console")

PAGE_SIZE = 50
GAP_LIMIT = 20
# The queue's tabs: learned-phrasing status (or "agent-rejected": undecided pairings
# that agents rejected, see LearnStore.rejected_pairings) -> label.
TABS = {"candidate": "待审核", "agent-rejected": "客服拒绝", "approved": "已批准", "rejected": "已拒绝"}
DECISIONS = {"approve": "已批准「{text}」：已加入条目 {entry} 的相似问法",
             "reject": "已拒绝「{text}」：不再用于条目 {entry}",
             "reset": "已撤销对「{text}」的决定，它回到了待审核",
             "unmove": "已撤销移动：「{text}」回到条目 {entry} 的待审核，移过去的采纳已从 #{to} 收回",
             "unlift": "已恢复「{text}」对条目 {entry} 的降权：客服的拒绝重新计入",
             "lift": "已取消「{text}」对条目 {entry} 的降权"}
# A "新建条目" link carries the gap in its query string, and servers refuse long
# request lines (gunicorn: 4094 bytes; each Chinese character is 9 once encoded).
PREFILL_MAX_URL = 2500
PREFILL_MAX_TEXT = 100  # characters of a message worth offering as a similar question
MAX_TYPED_ID = 64  # characters of an entry id (kb.entry), kept of a move's target after a refusal


@bp.context_processor
def _labels() -> dict:
    return {"STATUS_LABELS": STATUS_LABELS, "MIN_AGENTS": MIN_AGENTS}


def _agent_names(agents: list[str]) -> str:
    """The agents of a learned phrasing, as the queue lists them: the one a replayed line
    without "agent" stands for (`UNNAMED`, "?") named as such, after those named."""
    return "、".join([a for a in agents if a != UNNAMED] + ["未署名"] * (UNNAMED in agents))


def _editor() -> str:
    return current_user().name  # @requires ran first: there is a user


def _number(value: str | None) -> int | None:
    """A small non-negative whole number typed into a form or URL (full-width digits as
    the settings page takes them), else None."""
    return typed_number(value, max_digits=6)


def _since() -> tuple[str | None, str | None, str | None]:
    """The `since` filter: the date typed (YYYY-MM-DD, local midnight), the same moment
    as the logs' UTC timestamps, and an error message when it is not a date (the filter
    is then ignored rather than mis-compared)."""
    from kefu.suggest.stats import since_utc

    since = request.args.get("since", "").strip()
    if not since:
        return None, None, None
    try:  # YYYY-MM-DD only: fromisoformat alone also takes 20261130 and 2026-W48
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
            raise ValueError(since)
        day = date.fromisoformat(since).isoformat()
        return day, since_utc(day), None
    except ValueError:
        return None, None, f"日期格式不对（应为 YYYY-MM-DD）：{since[:40]}"
    except KefuError:  # a day too early or late to convert to UTC (0001-01-01)
        return None, None, f"日期超出范围：{since[:40]}"


# -- review queue ----------------------------------------------------------------------

def _tab() -> str:
    tab = request.values.get("status", "candidate")
    return tab if tab in TABS else "candidate"


@bp.get("/learn")
@requires("editor")
def queue():
    tab = _tab()
    page = max(_number(request.args.get("page")) or 1, 1)
    with locked() as ws:
        store = ws.learner().store
        # The tabs' ids, and only the page shown read as rows (a year's queue is long).
        # The approved and rejected tabs list the latest decision first: the one to undo.
        lists = store.listing()
        found = lists[tab]
        # A page past the end (an old link, the last rows of the last page just decided)
        # is the last: an empty page said 没有待审核的问法 beside a tab counting them.
        page = min(page, max(1, -(-len(found) // PAGE_SIZE)))
        shown = found[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
        by_id = {r.id: r for r in store.rows(ids=shown)}
        rows = [by_id[i] for i in shown]
        entries = ws.kb().store.get_many({r.entry_id for r in rows})
        counts = {t: len(lists[t]) for t in TABS}
        rule = store.rule
    moving = session.pop("move_typed", None)  # a refused move's (`_move_refused`), shown once
    return render_template("console/learn.html", rows=rows, entries=entries, tab=tab, tabs=TABS, counts=counts,
                           rule=rule, page=page, more=len(found) > page * PAGE_SIZE, count_agents=count_agents,
                           agent_names=_agent_names, moving=moving if isinstance(moving, dict) else None,
                           max_id=MAX_TYPED_ID)


def _back():
    """To the page the decision was made on: sent to the first after each row, an editor
    working through a long queue had to page forward again for the next one."""
    page = _number(request.form.get("page"))
    return redirect(url_for(".queue", status=_tab(), page=page if page and page > 1 else None))


def _decide(row_id: int, verb: str):
    """Approve, reject, reset or lift one learned phrasing; a refusal is a flash, not an error page."""
    try:
        with locked() as ws:
            learner = ws.learner()
            row = learner.store.get(row_id)
            getattr(learner, verb)(row_id, _editor())
    except KefuError as exc:
        flash(f"没有完成：{error_zh(str(exc))}", "error")
        return _back()
    if verb == "reset":  # say what was undone: the same order LearnStore.reset tries
        verb = ("unmove" if row.moved_to is not None else "reset" if row.status in ("approved", "rejected")
                else "unlift")
    flash(DECISIONS[verb].format(text=row.text, entry=row.entry_id, to=row.moved_to))
    return _back()


@bp.post("/learn/<int:row_id>/approve")
@requires("editor")
def approve(row_id: int):
    return _decide(row_id, "approve")


@bp.post("/learn/<int:row_id>/reject")
@requires("editor")
def reject(row_id: int):
    return _decide(row_id, "reject")


@bp.post("/learn/<int:row_id>/reset")
@requires("editor")
def reset(row_id: int):
    return _decide(row_id, "reset")


@bp.post("/learn/<int:row_id>/lift")
@requires("editor")
def lift(row_id: int):
    return _decide(row_id, "lift")


@bp.post("/learn/<int:row_id>/move")
@requires("editor")
def move(row_id: int):
    to_entry = request.form.get("to", "").strip()
    if not to_entry:
        return _move_refused(row_id, to_entry, "请填写要移到的条目编号")
    if len(to_entry) > MAX_TYPED_ID:  # no id; quoted whole, the refusal overflowed the session cookie
        return _move_refused(row_id, to_entry, f"没有移动：条目编号最长 {MAX_TYPED_ID} 个字符，填写的有 {len(to_entry)} 个")
    try:
        with locked() as ws:
            learner = ws.learner()
            row = learner.store.get(row_id)
            learner.move(row_id, to_entry, _editor())
            to_id = learner.store.get(row_id).moved_to
            to_entry = learner.store.get(to_id).entry_id  # as stored: ｄｅｌｉｖｅｒｙ typed is delivery
    except KefuError as exc:
        return _move_refused(row_id, to_entry, f"没有移动：{error_zh(str(exc))}")
    flash(f"已把「{row.text}」从条目 {row.entry_id} 移到 {to_entry}（现为 #{to_id}，撤销可移回）")
    return _back()


def _move_refused(row_id: int, typed: str, message: str):
    """Back to the queue with the refusal, the row's move form open and the id typed in
    it: a mistyped id was cleared, to type again whole. Only that id is kept (in the
    session, cut to a length no id has), none of the form's other fields."""
    flash(message, "error")
    session["move_typed"] = {"row": row_id, "to": typed[:MAX_TYPED_ID]}
    return _back()


@bp.post("/learn/trust")
@requires("editor")
def trust():
    """Editors own the queue, and the rule only decides how much of it is used before
    they look: changing it is editor work, like approving."""
    from kefu.kb.learned import TrustRule

    n = _number(request.form.get("min_agents"))
    low, high = MIN_AGENTS
    if n is None or not low <= n <= high:
        flash(f"没有修改：客服人数应为 {low}–{high} 之间的整数", "error")
        return _back()
    try:
        with locked() as ws:
            ws.set_trust(TrustRule(n))
    except KefuError as exc:
        flash(f"没有修改：{error_zh(str(exc))}", "error")
        return _back()
    flash(f"已修改信任规则：{n} 位不同客服采纳即启用")
    return _back()


# -- gaps --------------------------------------------------------------------------------

def _prefill_url(gap: dict) -> str:
    """The entry-create form with the gap filled in, as a draft to finish: its
    representative question, and the examples as similar questions while the link stays
    short enough for any server. Each without the details kefu masked, whose 【手机号】
    would become part of the entry, as a learned phrasing leaves them out."""
    from kefu.kb.learned import without_details

    base = url_for("console.new_entry")
    # The question is the first message that loses nothing so (the representative, else an
    # example): 我手机【手机号】 你们卖鱼竿吗, left without its number, made 我手机 你们卖鱼竿吗 the
    # entry's standard question beside 请问有卖鱼竿的吗. The others are similar questions.
    texts = [gap["question"], *gap["examples"]]
    whole = next((t for t in texts if without_details(t) == " ".join(t.split())), gap["question"])
    question = without_details(whole) or whole
    args = [("status", "draft"), ("question", question[:200])]
    seen = {question}
    for example in map(without_details, [t for t in texts if t is not whole]):
        if not example or example in seen or len(example) > PREFILL_MAX_TEXT:
            continue
        seen.add(example)
        longer = args + [("similar", example)]
        if len(base) + 1 + len(urlencode(longer)) > PREFILL_MAX_URL:
            break
        args = longer
    return f"{base}?{urlencode(args)}"


# Messages a load of the gaps or statistics page embeds at most (~30 ms each with the two
# default models on two cores: a few seconds, holding the knowledge base's lock that the
# panel's suggestions wait on). A year of messages never embedded before is spread over
# several loads; the page says how far it has come.
GAP_ENCODE = 200


def _outside_lock(read):
    """`read(store)` on a Store opened for it, outside the lock that every request of this
    process takes: the panel's suggestions waited seconds for a 统计 or 缺口 load counting a
    year's log. SQLite (WAL) lets it read beside the writers; what it keeps
    (`Store.keep_mined`) is one short write of its own."""
    from kefu.kb.store import Store

    with locked() as ws:
        path = ws.home / "kefu.db"
    store = Store.open(path)
    try:
        return read(store)
    finally:
        store.close()


def _with_kb(use):
    """`use(kb)` inside the lock: for work that reads the log outside it (`mined_gaps`)."""
    with locked() as ws:
        return use(ws.kb())


@bp.get("/gaps")
@requires("editor")
def gaps():
    from kefu.suggest.learn import kept_drift, mined_gaps

    since, moment, error = _since()
    drift, found = _outside_lock(lambda store: (kept_drift(store, moment),
                                                mined_gaps(store, _with_kb, moment, GAP_LIMIT, GAP_ENCODE)))
    for gap in found["gaps"]:
        gap["new_url"] = _prefill_url(gap)
    return render_template("console/gaps.html", gaps=found["gaps"], drift=drift, since=since,
                           error=error, more=found["more"], pending=found.get("pending"))


# -- statistics ----------------------------------------------------------------------------

DAY_SERIES = ("accept", "edit", "reject", "no_match")
STATS_GAPS = 5  # top gaps on the statistics page
# Entries never accepted that the page lists: in a shop of thousands, most are at first,
# and listing them all made the page hundreds of KB (`kefu stats --json` has them all).
STATS_NEVER_USED_SHOWN = 100


def _bars(by_day: list[dict]) -> list[dict]:
    """Per day: bar widths in percent of the busiest day, for the shown suggestions and
    for the agents' actions stacked."""
    peak = max([max(d.get("shown", 0), sum(d.get(k, 0) for k in DAY_SERIES)) for d in by_day] + [1])
    return [{**d, "shown_pct": round(100 * d.get("shown", 0) / peak, 1),
             "parts": [(k, d.get(k, 0), round(100 * d.get(k, 0) / peak, 1)) for k in DAY_SERIES if d.get(k)]}
            for d in by_day]


@bp.get("/stats")
@requires("editor")
def stats():
    from kefu.suggest.learn import gaps_basis, gaps_mined, kept_gaps, mined_gaps
    from kefu.suggest.stats import kept_usage

    since, moment, error = _since()
    with locked() as ws:
        kept_days, how = ws.retention_days(), gaps_basis(ws.kb(), moment, gaps_mined(STATS_GAPS))
    report = _outside_lock(lambda store: {**kept_usage(store, moment, kept_days=kept_days).to_dict(),
                                          "gaps": kept_gaps(store, moment, how)})
    pending = None
    if report["gaps"] is None:  # to mine: only what needs the knowledge base in the lock
        # the top few, as `kefu stats` prints them (the gaps page has them all, with actions; no drift)
        found = _outside_lock(lambda store: mined_gaps(store, _with_kb, moment, STATS_GAPS, GAP_ENCODE))
        report["gaps"], pending = found["gaps"], found.get("pending")
    report["gaps"] = report["gaps"][:STATS_GAPS]
    return render_template("console/stats.html", s=report, days=_bars(report["by_day"]), since=since,
                           error=error, series=DAY_SERIES,
                           never_shown=STATS_NEVER_USED_SHOWN, pending=pending)

"""The editor console: entries, their history, the hit test.

The other console pages have blueprints of their own under /console: the 话术 library,
word lists and import in `file_pages.py`, the shop terms in `term_pages.py`, users and
tokens in `user_pages.py`, the learning pages (review queue, gaps, statistics) in
`learn_pages.py`.

Every page is server-rendered HTML with plain forms (CSRF token in each), so the
console works without JavaScript; `static/console.js` only adds conveniences. All use
of the knowledge base happens inside `locked()`, like the API's.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from kefu.kb.entry import (CATEGORIES, DEFAULT_CATEGORY, EDITABLE, LONG_QUESTION, STATUSES, TAG_SEPARATORS,
                           category_key, category_names, content_hash, nearest_inside, same_as_question, split_tags,
                           starts_at, whole_day, window_state)
from kefu.kb.errors import (DuplicateEntry, DuplicateQuestion, DuplicateSimilar, EmptyQuery, EntryNotFound,
                            InvalidEntry, KefuError, VersionConflict, VersionNotRestorable)
from kefu.kb.text import whole_number

from .auth import CSRF_RETRY, requires
from .messages import (FIELD_LABELS, KIND_ZH, ROLE_ZH, SCRIPT_ZH, TONE_ZH, UNSUGGESTED_ZH, error_zh, note_zh,
                       reason_zh, similar_taken_zh, unsuggested_zh)
from .state import author, locked

bp = Blueprint("console", __name__, url_prefix="/console")

PAGE_SIZE = 50
TRY_TOP_K = 10

STATUS_LABELS = {"draft": "草稿", "published": "已发布", "archived": "已归档"}
ACTION_LABELS = {"create": "新建", "edit": "编辑", "archive": "归档", "import": "导入", "prune": "导入时归档",
                 "add": "新增", "update": "更新", "learn": "批准学习问法", "unlearn": "撤销学习问法"}
ON_CONFLICT_LABELS = {"update": "更新", "skip": "跳过", "error": "报错"}  # an import's existing entries


@bp.app_context_processor  # the other console blueprints' pages show them too
def _labels() -> dict:
    return {"FIELD_LABELS": FIELD_LABELS, "STATUS_LABELS": STATUS_LABELS, "ACTION_LABELS": ACTION_LABELS,
            "ON_CONFLICT_LABELS": ON_CONFLICT_LABELS, "ROLE_ZH": ROLE_ZH, "note_zh": note_zh,
            # a 话术 line's kind, tone and script: stored as codes, shown in Chinese
            "PHRASE_LABELS": {"kind": KIND_ZH, "tone": TONE_ZH, "script": SCRIPT_ZH}}


@bp.app_template_filter("local_time")
def local_time(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored timestamp (history, updated_at, learning and token times: UTC with its
    offset) in the server's local time, as the validity dates beside them are."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone().strftime(fmt)


# -- entries list ---------------------------------------------------------------------

FILTERS = ("q", "category", "status", "tag", "expired", "sort")  # the entry list's query arguments, besides page
# The list's orders: by id (the default), or the last updated first, where an entry just
# added is (its generated id, k03b2a631, puts it anywhere in the list).
SORTS = {"": "按编号", "updated": "最近更新"}


def _list_filters() -> dict:
    args = request.args
    return {"q": args.get("q", "").strip(), "category": args.get("category", ""),
            "status": args.get("status", ""), "tag": args.get("tag", "").strip(),
            "expired": args.get("expired", "") == "1", "sort": args.get("sort", "")}


def _page_number(found: int) -> int:
    """The page asked for, from 1 to the last page of `found` entries: a page past the
    end (an old link, a number too big for SQLite) is the last."""
    page = whole_number(request.args.get("page", "1")) or 1
    return max(1, min(page, -(-found // PAGE_SIZE)))


def _choices(store) -> tuple[list[str], list[str]]:
    """Categories (the standard ones first) and tags in use, for the filter controls."""
    # One choice per category, as the filter compares them: 過敏 typed once beside 过敏
    # would be two choices that list the same entries.
    names = category_names(dict(store.db.execute("select category, count(*) from entries group by category")))
    standard = list(CATEGORIES) + [DEFAULT_CATEGORY]
    keys = {category_key(c) for c in standard}
    categories = standard + sorted({n for n in names.values() if category_key(n) not in keys})
    tags = [r[0] for r in store.db.execute(
        "select distinct j.value from entries, json_each(entries.tags) j order by j.value")]
    return categories, tags


@bp.get("/")
@requires("editor")
def entries():
    filters = _list_filters()
    if filters["status"] and filters["status"] not in STATUSES:  # a link typed by hand: say so, not "0 entries"
        abort(400, f"未知的状态「{filters['status']}」，可选：{'、'.join(f'{s}（{STATUS_LABELS[s]}）' for s in STATUSES)}")
    if filters["sort"] not in SORTS:
        abort(400, f"未知的排序「{filters['sort']}」，可选：updated（最近更新），或不填（按编号）")
    newest_first = filters["sort"] == "updated"
    query = {"status": filters["status"] or None, "category": filters["category"] or None,
             "tag": filters["tag"] or None, "text": filters["q"] or None}
    now = datetime.now()  # one reading for the filter and the marks
    with locked() as ws:
        store = ws.kb().store
        if filters["expired"]:
            # Expiry is a date comparison the store cannot filter on: filter here, then page.
            matching = [e for e in store.entries(**query, newest_first=newest_first)
                        if window_state(e.valid_from, e.valid_to, now) == "expired"]
            found = len(matching)
            page = _page_number(found)
            offset = (page - 1) * PAGE_SIZE
            rows, more = matching[offset:offset + PAGE_SIZE], found > offset + PAGE_SIZE
        else:
            found = store.count(**query)
            page = _page_number(found)
            rows = store.entries(**query, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, newest_first=newest_first)
            rows, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
        categories, tags = _choices(store)
        total = store.count()
    if filters["category"]:  # 過敏 in a link selects the choice 过敏 stands for
        key = category_key(filters["category"].strip())
        filters["category"] = next((c for c in categories if category_key(c) == key), filters["category"])
    # The pager's links keep the filters, and only them: any other query argument would
    # reach url_for as one of its own (?_method=DELETE or ?endpoint=x failed with a 500).
    args = {k: v for k, v in request.args.items() if k in FILTERS and v}
    filtered = filters["expired"] or any(query.values())
    # One click to the other order, with the filters kept (back to the first page).
    unsorted = {k: v for k, v in args.items() if k != "sort"}
    sort_links = {k: url_for(".entries", **unsorted, **({"sort": k} if k else {})) for k in SORTS}
    # "expired" past its valid_to (it no longer answers anything), "not_yet" before its
    # valid_from, "unreadable" a stored bound no date parser reads (never suggested either),
    # whatever its status.
    windows = {e.id: window_state(e.valid_from, e.valid_to, now) for e in rows}
    return render_template("console/entries.html", rows=rows, filters=filters, page=page, more=more,
                           args=args, categories=categories, tags=tags, statuses=STATUSES, total=total, sorts=SORTS,
                           sort_links=sort_links,
                           found=found if filtered else None,
                           expired={i for i, w in windows.items() if w == "expired"},
                           not_yet={i for i, w in windows.items() if w == "not_yet"},
                           unreadable={i for i, w in windows.items() if w == "unreadable"})


# -- entry form ---------------------------------------------------------------------

def _split_tags(text: str, whole: list[str] = ()) -> list[str]:
    """Tags as typed: parted at a file's tags cell separators (`split_tags`: , ， 、 ; ； |)
    and at spaces alike, as the field's placeholder says (促销活动，赠品 双十二 is three
    tags). A tag of `whole` (the entry's own, from the CLI or a file) that holds a
    separator or a space and stands in `text` as it is, between separators, spaces or the
    ends, stays one tag: adding 新 after "Black Friday，满减" keeps Black Friday."""
    whole = sorted({t for t in whole if split_tags(t) != [t] or t.split() != [t]}, key=len, reverse=True)
    kept: list[str] = []
    if whole:  # each kept tag stands in as one private-use character while the rest is split
        edge = f"\\s{re.escape(TAG_SEPARATORS)}"
        stand_in = re.compile(f"(?<![^{edge}])(?:{'|'.join(map(re.escape, whole))})(?![^{edge}])")
        text = stand_in.sub(lambda m: kept.append(m[0]) or chr(0xE000 + len(kept) - 1), text)
    tags = [t for part in split_tags(text) for t in part.split()]
    return [kept[ord(t) - 0xE000] if len(t) == 1 and 0 <= ord(t) - 0xE000 < len(kept) else t for t in tags]


def _tags_text(tags: list[str]) -> str:
    """The tags field as `_tags_of` reads it back: joined by "，" (a tag of the entry's own
    that holds a space stays one while it stands there as it is)."""
    return "，".join(tags)


def _tags_of(values: dict) -> list[str]:
    """The tags to save: the entry's own (`tags_loaded`, as the form was loaded) while the
    field still shows them, so a tag holding a comma ("a,b") is not split by a save that
    never touched the field; else the field as typed, those of its own tags it still holds
    kept whole."""
    try:
        loaded = json.loads(values.get("tags_loaded") or "null")
    except ValueError:
        loaded = None
    if not (isinstance(loaded, list) and all(isinstance(t, str) for t in loaded)):
        return _split_tags(values["tags"])
    return loaded if values["tags"] == _tags_text(loaded) else _split_tags(values["tags"], loaded)


def _values_from_form(form) -> dict:
    """The form as typed, to save it or to show it again after a validation error."""
    return {
        "id": form.get("id", "").strip(),
        "question": form.get("question", ""),
        "similar": [s for s in form.getlist("similar") if s.strip()],
        "answer": form.get("answer", ""),
        "category": form.get("category_new", "").strip() or form.get("category", "").strip(),
        "tags": form.get("tags", ""),
        "tags_loaded": form.get("tags_loaded", ""),
        "status": form.get("status", "published"),
        "valid_from": _bound(form, "valid_from"),
        "valid_to": _bound(form, "valid_to"),
    }


def _bound(form, name: str) -> str:
    """A validity bound from its date and optional time fields ("2026-11-11" and "20:00":
    2026-11-11 20:00; a date box without a picker may hold 2026/11/11, which takes its time
    after a space); a time without a date ("T20:00") is left for the check to refuse."""
    day, clock = form.get(name, "").strip(), form.get(f"{name}_time", "").strip()
    return f"{day} {clock}" if day and clock else f"T{clock}" if clock else day


def _time_without_date(form) -> dict:
    """{field: message} for a validity time typed without its date: the store would refuse
    "T20:00" as a badly formatted date, though what is missing is the date."""
    return {name: "只填了时间，请同时填写日期（不填时间则表示整天）" for name in ("valid_from", "valid_to")
            if form.get(f"{name}_time", "").strip() and not form.get(name, "").strip()}


def _values_of(entry) -> dict:
    return {"id": entry.id, "question": entry.question, "similar": list(entry.similar),
            "answer": entry.answer, "category": entry.category, "tags": _tags_text(entry.tags),
            "tags_loaded": json.dumps(entry.tags, ensure_ascii=False),
            "status": entry.status, "valid_from": entry.valid_from or "", "valid_to": entry.valid_to or ""}


def _entry_data(values: dict) -> dict:
    data = {k: values[k] for k in EDITABLE if k not in ("tags", "valid_from", "valid_to")}
    data["tags"] = _tags_of(values)
    data["valid_from"] = values["valid_from"] or None
    data["valid_to"] = values["valid_to"] or None
    return data


def _render_form(values: dict, entry=None, errors: dict | None = None, status: int = 200,
                 trial=None, version: str | None = None, changed_since: list[dict] | None = None,
                 unsaved: bool | None = None, stale: bool = False, opened: int | None = None):
    """The entry form; `version`: the version the edit was made on (default: the entry's),
    with its content hash (`base`, kept from the form posted); `changed_since`: what others
    changed after that version (`field_diff` rows). `unsaved`: the form holds what the
    editor typed and was not saved, so leaving the page asks first (default: with errors,
    a refused save; a refused archive shows the entry as stored, nothing typed to lose).
    `stale`: the edit was made on an older version (offer a link to the latest);
    `opened`: the version a link was made on (the page says the entry has changed since)."""
    base = request.form.get("base", "") if version is not None else entry.content_hash() if entry else ""
    with locked() as ws:
        categories, tags = _choices(ws.kb().store)
        # The words drafts will flag to the agent (kefu lint lists them too): a warning, not an error.
        answer = values.get("answer") or ""
        # ...with the line that holds each in an answer of several lines (steps, a list)
        flags = [{"word": f.word, "reason": f.reason,
                  "line": answer.count("\n", 0, f.start) + 1 if "\n" in answer.strip() else None}
                 for f in ws.safety().check(answer)]
    if values["category"] and values["category"] not in categories:
        categories.append(values["category"])
    # The similar question an error is about (it quotes it), else the first, to mark and focus.
    similar_error = next((i for i, s in enumerate(values["similar"]) if f"「{s.strip()}」" in (errors or {}).get(
        "similar", "")), 0)
    return render_template("console/entry_form.html", values=values, entry=entry, errors=errors or {},
                           window=window_state(entry.valid_from, entry.valid_to) if entry else None,
                           categories=categories, known_tags=tags, statuses=STATUSES, zone=_zone(),
                           trial=trial, version=version or (entry.version if entry else None), base=base,
                           flags=flags, changed_since=changed_since,
                           unsaved=bool(errors) if unsaved is None else unsaved, similar_error=similar_error,
                           stale=stale, opened=opened), status


# What a save's message adds for an entry saved outside its validity window: the page
# said 已保存 beside 已发布, though the entry will not be suggested. One not valid yet is
# told when it will be (`_not_yet`).
WINDOW_NOTES = {"expired": "有效期已过，不会被推荐", "unreadable": "有效期的日期无法识别，不会被推荐"}


def _saved(message: str, entry) -> str:
    """`message` (已保存) with why `entry` will not be suggested now, if it will not."""
    state = window_state(entry.valid_from, entry.valid_to)
    note = _not_yet(entry) if state == "not_yet" else WINDOW_NOTES.get(state)
    return f"{message}；{note}" if note and entry.status != "archived" else message


def _not_yet(entry) -> str:
    """When an entry whose window starts later becomes active. A draft does not by itself:
    said as 到时才会被推荐, a draft set up ahead of a campaign read as if it would go live then."""
    start = starts_at(entry.valid_from)
    when = start.strftime("%Y-%m-%d" if whole_day(entry.valid_from) else "%Y-%m-%d %H:%M")
    if entry.status == "draft":
        return f"有效期从 {when} 开始：这是草稿，发布后从 {when} 起才会被推荐"
    return f"有效期还没开始，到时才会被推荐（从 {when} 起生效）"


def _zone() -> str:
    """The server's UTC offset now ("UTC+08:00"): validity dates and times without an
    offset are read in it, which may not be the editor's."""
    offset = datetime.now().astimezone().strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:5]}"


def _error_of(exc: KefuError) -> dict:
    """{field: message} for the form; a message without a known field goes on top ("")."""
    if isinstance(exc, DuplicateQuestion) and exc.state in UNSUGGESTED_ZH:  # taken for gone, it is not
        return {"question": unsuggested_zh(f"「{exc.question}」", exc.entry_id, exc.state, exc.bound)}
    if isinstance(exc, DuplicateQuestion):  # the advice reason_zh gives is an import's
        return {"question": f"「{exc.question}」已是条目 {exc.entry_id} 的标准问题（同一个问题只能有一个未归档的条目）："
                            f"请换一个问题，或到条目 {exc.entry_id} 去改，可把新的问法加为它的相似问法"}
    if isinstance(exc, DuplicateSimilar):
        return {exc.field: similar_taken_zh(exc.field, f"「{exc.text}」", exc.entry_id, f"「{exc.other_question}」",
                                            exc.taken_as, state=exc.state, bound=exc.bound)}
    if isinstance(exc, InvalidEntry):
        return {exc.field if exc.field in FIELD_LABELS else "": reason_zh(exc.reason)}
    if isinstance(exc, DuplicateEntry):
        held = f"条目「{exc.stored_question}」" if exc.stored_question else ""
        return {"id": f"编号 {exc.entry_id} 已被{held}占用"}
    return {"": error_zh(str(exc))}


@bp.route("/entries/new", methods=["GET", "POST"])
@requires("editor")
def new_entry():
    if request.method == "GET":
        # Query args prefill it (the gaps page's 新建条目 link); nothing is saved until POST.
        args = request.args
        status = args.get("status", "published")
        return _render_form({"id": "", "question": args.get("question", ""),
                             "similar": [s for s in args.getlist("similar") if s.strip()], "answer": "",
                             "category": DEFAULT_CATEGORY, "tags": "",
                             "status": status if status in STATUSES else "published",
                             "valid_from": "", "valid_to": ""})
    values = _values_from_form(request.form)
    if errors := _time_without_date(request.form):
        return _render_form(values, errors=errors, status=400)
    data = _entry_data(values)
    if values["id"]:
        data["id"] = values["id"]
    try:
        with locked() as ws:
            entry = ws.kb().add(data, author=author())
    except (InvalidEntry, DuplicateEntry) as exc:
        return _render_form(values, errors=_error_of(exc), status=400)
    flash(_saved(f"已新建条目 {entry.id}", entry))
    _flash_typed(values)
    return redirect(url_for(".edit_entry", entry_id=entry.id))


def _flash_typed(values: dict, before: str | None = None) -> None:
    """After a save: what was typed but not kept as typed (a similar question that is the
    standard question itself), and a standard question long enough to be an answer,
    unless it is the question the entry had (`before`): said once, not at every save."""
    for same in same_as_question(values["question"], values["similar"]):
        flash(f"相似问法「{same.strip()}」与标准问题相同，已略去")
    if len(question := values["question"].strip()) > LONG_QUESTION and question != (before or "").strip():
        flash(f"提醒：标准问题有 {len(question)} 个字（超过 {LONG_QUESTION} 个字），是不是把答案填进了标准问题？"
              "已保存，请检查")


@bp.route("/entries/<path:entry_id>", methods=["GET", "POST"])
@requires("editor")
def edit_entry(entry_id: str):
    if request.method == "POST":
        return _save_entry(entry_id)
    with locked() as ws:
        entry = ws.kb().store.get(entry_id)
    message = request.args.get("q", "")
    trial = _trial_on_entry(entry, message) if message else None
    # `version`: a link from a page of an older version (a refused save's 打开最新版本)
    return _render_form(_values_of(entry), entry=entry, trial=trial,
                        opened=whole_number(request.args.get("version", "")))


def _save_entry(entry_id: str):
    """Save the edit form, unless the entry changed since the form was loaded: saving
    then would silently undo the other editor's change. The store compares the versions
    inside its write transaction; a check here would not see another worker's save."""
    values = _values_from_form(request.form)
    typed = request.form.get("version", "")
    expected = whole_number(typed)
    with locked() as ws:
        kb = ws.kb()
        try:
            entry = kb.store.get(entry_id)
        except EntryNotFound:
            return _gone_form(values, entry_id)
        values["id"] = entry.id
        if errors := _time_without_date(request.form):
            return _render_form(values, entry=entry, errors=errors, status=400, version=typed)
        try:
            # A form without its version was made on no version (0): refused as stale.
            saved = kb.update(entry_id, _entry_data(values), author=author(),
                              expected_version=expected or 0, expected_hash=request.form.get("base") or None)
        except EntryNotFound:
            return _gone_form(values, entry_id)
        except VersionConflict as exc:
            return _conflict_form(values, exc.current, typed)
        except InvalidEntry as exc:
            return _render_form(values, entry=entry, errors=_error_of(exc), status=400, version=typed)
    flash(_saved("已保存" if saved.version != expected else "没有改动", saved))
    _flash_typed(values, entry.question)
    return redirect(url_for(".edit_entry", entry_id=entry_id))


def _gone_form(values: dict, entry_id: str):
    """The form as typed for an entry that is no more (a restore of a backup older than
    it, while the form was open): a bare 404 page lost the editor's text. Shown as the
    new-entry form with its id, so one more click, after reading why, saves it again."""
    values["id"] = entry_id
    return _render_form(values, status=404, errors={
        "": f"没有编号为 {entry_id} 的条目了（可能恢复了较早的备份），你的改动没有保存；"
            "下面是你填写的内容：可以复制，或点「保存」把它另存为新条目。"})


def _conflict_form(values: dict, current, version: str):
    """The form as typed after someone else saved the entry: still on the version it was
    edited from (one more click is refused again, not saved over the other change), with
    what changed meanwhile, for the editor to merge by hand."""
    with locked() as ws:
        changes = ws.kb().store.history(current.id)
    base = next((c.after for c in changes if str(c.version) == version), None)
    if base is not None and request.form.get("base") not in (None, "", content_hash(base)):
        base = None  # that version number now names other content (a restore took the entry back)
    since = field_diff(base, current.content()) if base is not None else None
    errors = {"": f"此条目已被他人修改（现为第 {current.version} 版），你的改动没有保存；"
                  + ("请对照下面的改动，在最新版本上重新修改（先复制你的改动）。" if since is not None
                     else "请先查看历史，在最新版本上重新修改（先复制你的改动）。")}
    # A refresh of this page posts the form again, refused again: a link opens the latest.
    return _render_form(values, entry=current, errors=errors, status=409, version=version, changed_since=since,
                        stale=True)


def _entry_form_again(message: str):
    """After a failed CSRF check (the login ended or changed in another tab): the form as
    typed, with `message` and a token of the current session, so one more click saves it.
    The version the edit was made on is kept: a change by someone else is still refused."""
    values = _values_from_form(request.form)
    if request.endpoint == "console.new_entry":
        return _render_form(values, errors={"": message}, status=400)
    try:
        with locked() as ws:
            entry = ws.kb().store.get(request.view_args["entry_id"])
    except EntryNotFound:  # raised in an error handler, nothing would catch it: a bare 500
        return _gone_form(values, request.view_args["entry_id"])
    values["id"] = entry.id
    return _render_form(values, entry=entry, errors={"": message}, status=400,
                        version=request.form.get("version", ""))


CSRF_RETRY["console.new_entry"] = CSRF_RETRY["console.edit_entry"] = ("editor", _entry_form_again)


@bp.post("/entries/<path:entry_id>/archive")
@requires("editor")
def archive_entry(entry_id: str):
    # The version the page showed: archiving what someone saved since, unseen, is refused.
    # A form without it (an older page) archives whatever is current, as before; one that
    # is no version number (a mangled form) names no version and is refused as stale.
    typed = request.form.get("version", "")
    expected = None if not typed else whole_number(typed.strip()) or 0
    try:
        with locked() as ws:
            ws.kb().archive(entry_id, author=author(), expected_version=expected,
                            expected_hash=request.form.get("base") or None)
    except VersionConflict as exc:
        return _render_form(_values_of(exc.current), entry=exc.current, status=409, unsaved=False, errors={
            "": f"此条目已被他人修改（现为第 {exc.current.version} 版），没有归档；请查看下面的最新内容后再决定。"})
    except InvalidEntry as exc:  # stored content a rule refuses (a window ending before it starts, set by hand)
        with locked() as ws:
            entry = ws.kb().store.get(entry_id)
        return _render_form(_values_of(entry), entry=entry, status=400, unsaved=False, errors={
            **_error_of(exc), "": "没有归档：条目保存的内容不符合规则，请先改正下面标出的字段并保存，再归档。"})
    flash(f"已归档条目 {entry_id}（可在历史中恢复）")
    return redirect(url_for(".edit_entry", entry_id=entry_id))


# -- history ------------------------------------------------------------------------

def field_diff(before: dict | None, after: dict | None) -> list[dict]:
    """Changed fields of one version: lists as added/removed items, other fields before → after."""
    before, after = before or {}, after or {}
    rows = []
    for name in EDITABLE:
        old, new = before.get(name), after.get(name)
        if old == new or (not before and new in (None, "", [])):
            continue
        if isinstance(old, list) or isinstance(new, list):
            old, new = old or [], new or []
            rows.append({"field": name, "list": True, "added": [x for x in new if x not in old],
                         "removed": [x for x in old if x not in new],
                         "reordered": set(old) == set(new)})
        else:
            rows.append({"field": name, "list": False, "before": old, "after": new,
                         "excerpt": _excerpt(old, new)})
    return rows


EXCERPT_CONTEXT = 20  # characters shown either side of a change in a long text


def _excerpt(old, new) -> dict | None:
    """Where two long texts differ, with a little of the text around it: a few characters
    changed in a long answer are hard to find by comparing the two whole texts. None when
    the texts are short, or have nothing in common around the change to leave out."""
    if not (isinstance(old, str) and isinstance(new, str) and old and new):
        return None
    head = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    tail = next((i for i, (a, b) in enumerate(zip(reversed(old[head:]), reversed(new[head:]))) if a != b),
                min(len(old), len(new)) - head)
    if head <= EXCERPT_CONTEXT and tail <= EXCERPT_CONTEXT:
        return None
    return {"cut_before": head > EXCERPT_CONTEXT, "lead": old[max(0, head - EXCERPT_CONTEXT):head],
            "removed": old[head:len(old) - tail], "added": new[head:len(new) - tail],
            "trail": old[len(old) - tail:][:EXCERPT_CONTEXT], "cut_after": tail > EXCERPT_CONTEXT}


@bp.get("/entries/<path:entry_id>/history")
@requires("editor")
def history(entry_id: str):
    return _history_page(entry_id)


def _history_page(entry_id: str, error: str | None = None, status: int = 200):
    with locked() as ws:
        store = ws.kb().store
        entry = store.get(entry_id)
        changes = store.history(entry_id)
    # Newest first, a page at a time: an entry edited daily has hundreds of versions, each
    # with its diff (300 of a long answer were a 400 KB page).
    page = _page_number(len(changes))
    shown = changes[::-1][(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    versions = [{"change": c, "diff": field_diff(c.before, c.after)} for c in shown]
    return render_template("console/history.html", entry=entry, versions=versions, error=error, page=page,
                           total=len(changes), more=len(changes) > page * PAGE_SIZE), status


@bp.post("/entries/<path:entry_id>/revert")
@requires("editor")
def revert(entry_id: str):
    """Revert, unless the entry changed since the history page was loaded (`current`):
    the editor chose that version over what they saw, not over someone else's later edit."""
    version = whole_number(request.form.get("version", ""))
    if version is None:
        abort(400, "缺少要恢复的版本号")
    current = whole_number(request.form.get("current", "")) or 0  # a form without it: stale
    with locked() as ws:
        try:
            entry = ws.kb().revert(entry_id, version, author=author(), expected_version=current,
                                   expected_hash=request.form.get("base") or None)
        except VersionConflict as exc:
            return _history_page(entry_id, f"此条目已被他人修改（现为第 {exc.current.version} 版），没有恢复；"
                                           "请查看最新的历史后再决定。", 409)
        except DuplicateQuestion as exc:  # reason_zh's advice is an import's, not for this page
            return _history_page(entry_id, f"没有恢复：第 {version} 版的标准问题「{exc.question}」现已是条目 "
                                           f"{exc.entry_id} 的标准问题（同一个问题只能有一个未归档的条目）：请先修改或"
                                           f"归档条目 {exc.entry_id}，或在本条目换一个问题", 409)
        except DuplicateSimilar as exc:  # a phrasing of that version another entry has now
            return _history_page(entry_id, f"没有恢复：第 {version} 版的" + similar_taken_zh(
                exc.field, f"「{exc.text}」", exc.entry_id, f"「{exc.other_question}」", exc.taken_as,
                state=exc.state, bound=exc.bound), 409)
        except VersionNotRestorable as exc:  # content an older kefu stored, which kefu no longer accepts
            return _history_page(entry_id, error_zh(str(exc)), 400)
    if entry.version == current:
        flash(f"第 {version} 版的内容与当前相同，没有改动")
    else:
        flash(f"已恢复到第 {version} 版的内容（记为第 {entry.version} 版）")
    return redirect(url_for(".history", entry_id=entry_id))


# -- hit test ---------------------------------------------------------------------------

@contextmanager
def _as_if_published(kb, entry):
    """The live index with `entry` in it for one search, as if it were published.

    An editor tests a draft before publishing it, so the draft must compete with the
    live entries exactly as it would. The change stays in this process's memory (it is
    never saved) and is undone before the lock is released.
    """
    index = kb.index()
    if entry.id in index.by_entry:
        yield  # published: already searchable as saved
        return
    try:
        (doc,) = kb.documents([entry])
        index.add(doc)
        index.refresh_lexical()
        yield
    finally:
        index.remove(entry.id)
        index.refresh_lexical()


def _search(message: str, entry=None, at: datetime | None = None) -> dict:
    """Hits for `message` (with `entry` as if published) at local time `at` (default:
    now), or the reason there are none."""
    from kefu.suggest.retrieve import Retriever

    try:
        with locked() as ws:
            kb = ws.kb()
            if entry is None:
                result = Retriever(kb, top_k=TRY_TOP_K).search(message, now=at)
            else:
                with _as_if_published(kb, entry):
                    result = Retriever(kb, top_k=TRY_TOP_K).search(message, now=at)
    except EmptyQuery:
        return {"message": message, "error": "请输入一条顾客消息", "result": None}
    return {"message": message, "error": None, "result": result}


def _trial_on_entry(entry, message: str) -> dict:
    """The hit test of an entry's page: as if published, and (a campaign set up ahead, or
    one over) at a moment inside its validity window, as the other entries stand then."""
    at = nearest_inside(entry.valid_from, entry.valid_to)
    trial = _search(message, entry, at)
    hits = trial["result"].hits if trial["result"] else []
    trial["rank"] = next((i for i, h in enumerate(hits, 1) if h.entry_id == entry.id), None)
    trial["hypothetical"] = entry.status != "published"
    trial["at"] = at
    return trial


@bp.route("/try", methods=["GET", "POST"])
@requires("editor")
def try_it():
    """The hit test, posted by its forms: a pasted message of a few hundred Chinese
    characters is several KB once in a URL, over what servers take in a request line
    (gunicorn refused it with its English 414). `?q=` links work too. With `entry`, that
    entry's page, testing it as if published."""
    form = request.form if request.method == "POST" else request.args
    message = form.get("q", "")
    if form.get("entry"):
        with locked() as ws:
            entry = ws.kb().store.get(form["entry"])
        trial = _trial_on_entry(entry, message) if message else None
        return _render_form(_values_of(entry), entry=entry, trial=trial)
    trial = _search(message) if message else None
    with locked() as ws:  # a new shop's empty base: say why nothing is found
        published = ws.kb().store.count(status="published")
    return render_template("console/try.html", message=message, trial=trial, published=published)

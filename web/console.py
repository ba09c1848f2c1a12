"""The editor console: entries, history, hit test, 话术 and word lists, import, users.

The learning pages (review queue, gaps, statistics) are in `learn_pages.py`.

Every page is server-rendered HTML with plain forms (CSRF token in each), so the
console works without JavaScript; `static/console.js` only adds conveniences. All use
of the knowledge base happens inside `locked()`, like the API's.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from kefu.kb.entry import CATEGORIES, DEFAULT_CATEGORY, EDITABLE, STATUSES, in_window
from kefu.kb.errors import DuplicateEntry, EmptyQuery, InvalidEntry, KefuError
from kefu.kb.text import whole_number
from kefu.suggest.phrases import SCRIPTS, TONES

from .auth import CSRF_RETRY, requires
from .messages import FIELD_LABELS, error_zh, import_note_zh, note_zh, problem_zh, reason_zh, user_error_zh
from .state import current_user, locked, reset_assistant, workspace

bp = Blueprint("console", __name__, url_prefix="/console")

PAGE_SIZE = 50
TRY_TOP_K = 10
MAX_LIST_TEXT = 1_000_000  # characters of a word-list textarea

STATUS_LABELS = {"draft": "草稿", "published": "已发布", "archived": "已归档"}
ACTION_LABELS = {"create": "新建", "edit": "编辑", "archive": "归档", "import": "导入", "prune": "导入时归档",
                 "add": "新增", "update": "更新", "learn": "批准学习问法", "unlearn": "撤销学习问法"}
ON_CONFLICT_LABELS = {"update": "更新", "skip": "跳过", "error": "报错"}  # an import's existing entries


@bp.context_processor
def _labels() -> dict:
    return {"FIELD_LABELS": FIELD_LABELS, "STATUS_LABELS": STATUS_LABELS, "ACTION_LABELS": ACTION_LABELS,
            "ON_CONFLICT_LABELS": ON_CONFLICT_LABELS, "note_zh": note_zh}


def _author() -> str:
    user = current_user()
    return user.name if user else "console"


# -- entries list ---------------------------------------------------------------------

def _is_expired(entry) -> bool:
    """Past its valid_to: such entries no longer answer anything, whatever their status."""
    return bool(entry.valid_to) and not in_window(None, entry.valid_to)


def _list_filters() -> dict:
    args = request.args
    return {"q": args.get("q", "").strip(), "category": args.get("category", ""),
            "status": args.get("status", ""), "tag": args.get("tag", "").strip(),
            "expired": args.get("expired", "") == "1"}


def _page_number(found: int) -> int:
    """The page asked for, from 1 to the last page of `found` entries: a page past the
    end (an old link, a number too big for SQLite) is the last."""
    page = whole_number(request.args.get("page", "1")) or 1
    return max(1, min(page, -(-found // PAGE_SIZE)))


def _choices(store) -> tuple[list[str], list[str]]:
    """Categories (the standard ones first) and tags in use, for the filter controls."""
    used = [r[0] for r in store.db.execute("select distinct category from entries order by category")]
    standard = list(CATEGORIES) + [DEFAULT_CATEGORY]
    categories = standard + [c for c in used if c and c not in standard]
    tags = [r[0] for r in store.db.execute(
        "select distinct j.value from entries, json_each(entries.tags) j order by j.value")]
    return categories, tags


@bp.get("/")
@requires("editor")
def entries():
    filters = _list_filters()
    query = {"status": filters["status"] or None, "category": filters["category"] or None,
             "tag": filters["tag"] or None, "text": filters["q"] or None}
    with locked() as ws:
        store = ws.kb().store
        if filters["expired"]:
            # Expiry is a date comparison the store cannot filter on: filter here, then page.
            matching = [e for e in store.entries(**query) if _is_expired(e)]
            found = len(matching)
            page = _page_number(found)
            offset = (page - 1) * PAGE_SIZE
            rows, more = matching[offset:offset + PAGE_SIZE], found > offset + PAGE_SIZE
        else:
            found = store.count(**query)
            page = _page_number(found)
            rows = store.entries(**query, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
            rows, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
        categories, tags = _choices(store)
        total = store.count()
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    filtered = filters["expired"] or any(query.values())
    return render_template("console/entries.html", rows=rows, filters=filters, page=page, more=more,
                           args=args, categories=categories, tags=tags, statuses=STATUSES, total=total,
                           found=found if filtered else None,
                           expired={e.id for e in rows if _is_expired(e)})


# -- entry form ---------------------------------------------------------------------

def _split_tags(text: str) -> list[str]:
    """Tags as typed: comma-separated when a comma is used (a tag may hold a space), else by spaces."""
    if re.search(r"[,，、;；]", text):
        parts = re.split(r"[,，、;；]", text)
    else:
        parts = text.split()
    return [p.strip() for p in parts if p.strip()]


def _values_from_form(form) -> dict:
    """The form as typed, to save it or to show it again after a validation error."""
    return {
        "id": form.get("id", "").strip(),
        "question": form.get("question", ""),
        "similar": [s for s in form.getlist("similar") if s.strip()],
        "answer": form.get("answer", ""),
        "category": form.get("category_new", "").strip() or form.get("category", "").strip(),
        "tags": form.get("tags", ""),
        "status": form.get("status", "published"),
        "valid_from": form.get("valid_from", "").strip(),
        "valid_to": form.get("valid_to", "").strip(),
    }


def _values_of(entry) -> dict:
    return {"id": entry.id, "question": entry.question, "similar": list(entry.similar),
            "answer": entry.answer, "category": entry.category, "tags": "，".join(entry.tags),
            "status": entry.status, "valid_from": entry.valid_from or "", "valid_to": entry.valid_to or ""}


def _entry_data(values: dict) -> dict:
    data = {k: values[k] for k in EDITABLE if k not in ("tags", "valid_from", "valid_to")}
    data["tags"] = _split_tags(values["tags"])
    data["valid_from"] = values["valid_from"] or None
    data["valid_to"] = values["valid_to"] or None
    return data


def _render_form(values: dict, entry=None, errors: dict | None = None, status: int = 200,
                 trial=None, version: str | None = None):
    """The entry form; `version`: the version the edit was made on (default: the entry's)."""
    with locked() as ws:
        categories, tags = _choices(ws.kb().store)
        # The words drafts will flag to the agent (kefu lint lists them too): a warning, not an error.
        flags = ws.safety().check(values.get("answer") or "")
    if values["category"] and values["category"] not in categories:
        categories.append(values["category"])
    return render_template("console/entry_form.html", values=values, entry=entry, errors=errors or {},
                           categories=categories, known_tags=tags, statuses=STATUSES,
                           trial=trial, version=version or (entry.version if entry else None),
                           flags=flags), status


def _error_of(exc: KefuError) -> dict:
    """{field: message} for the form; a message without a known field goes on top ("")."""
    if isinstance(exc, InvalidEntry):
        return {exc.field if exc.field in FIELD_LABELS else "": reason_zh(exc.reason)}
    if isinstance(exc, DuplicateEntry):
        return {"id": f"编号 {exc.entry_id} 已被占用"}
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
    data = _entry_data(values)
    if values["id"]:
        data["id"] = values["id"]
    try:
        with locked() as ws:
            entry = ws.kb().add(data, author=_author())
    except (InvalidEntry, DuplicateEntry) as exc:
        return _render_form(values, errors=_error_of(exc), status=400)
    flash(f"已新建条目 {entry.id}")
    return redirect(url_for(".edit_entry", entry_id=entry.id))


@bp.route("/entries/<path:entry_id>", methods=["GET", "POST"])
@requires("editor")
def edit_entry(entry_id: str):
    if request.method == "POST":
        return _save_entry(entry_id)
    with locked() as ws:
        entry = ws.kb().store.get(entry_id)
    message = request.args.get("q", "")
    trial = _trial_on_entry(entry, message) if message else None
    return _render_form(_values_of(entry), entry=entry, trial=trial)


def _save_entry(entry_id: str):
    """Save the edit form, unless the entry changed since the form was loaded: saving
    then would silently undo the other editor's change."""
    values = _values_from_form(request.form)
    with locked() as ws:
        kb = ws.kb()
        entry = kb.store.get(entry_id)
        values["id"] = entry.id
        if request.form.get("version", "") != str(entry.version):
            errors = {"": f"此条目已被他人修改（现为第 {entry.version} 版），请先查看历史或刷新后再改。"}
            return _render_form(values, entry=entry, errors=errors, status=409)
        try:
            saved = kb.update(entry_id, _entry_data(values), author=_author())
        except InvalidEntry as exc:
            return _render_form(values, entry=entry, errors=_error_of(exc), status=400)
    flash("已保存" if saved.version != entry.version else "没有改动")
    return redirect(url_for(".edit_entry", entry_id=entry_id))


def _entry_form_again(message: str):
    """After a failed CSRF check (the login ended or changed in another tab): the form as
    typed, with `message` and a token of the current session, so one more click saves it.
    The version the edit was made on is kept: a change by someone else is still refused."""
    from kefu.kb.errors import EntryNotFound

    values = _values_from_form(request.form)
    if request.endpoint == "console.new_entry":
        return _render_form(values, errors={"": message}, status=400)
    try:
        with locked() as ws:
            entry = ws.kb().store.get(request.view_args["entry_id"])
    except EntryNotFound as exc:  # raised in an error handler, nothing would catch it: a bare 500
        return render_template("error.html", status=404, message=error_zh(str(exc))), 404
    values["id"] = entry.id
    return _render_form(values, entry=entry, errors={"": message}, status=400,
                        version=request.form.get("version", ""))


CSRF_RETRY["console.new_entry"] = CSRF_RETRY["console.edit_entry"] = ("editor", _entry_form_again)


@bp.post("/entries/<path:entry_id>/archive")
@requires("editor")
def archive_entry(entry_id: str):
    with locked() as ws:
        ws.kb().archive(entry_id, author=_author())
    flash(f"已归档条目 {entry_id}（可在历史中恢复）")
    return redirect(url_for(".edit_entry", entry_id=entry_id))


# -- history ------------------------------------------------------------------------

def _field_diff(before: dict | None, after: dict | None) -> list[dict]:
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
            rows.append({"field": name, "list": False, "before": old, "after": new})
    return rows


@bp.get("/entries/<path:entry_id>/history")
@requires("editor")
def history(entry_id: str):
    return _history_page(entry_id)


def _history_page(entry_id: str, error: str | None = None, status: int = 200):
    with locked() as ws:
        store = ws.kb().store
        entry = store.get(entry_id)
        changes = store.history(entry_id)
    versions = [{"change": c, "diff": _field_diff(c.before, c.after)} for c in reversed(changes)]
    return render_template("console/history.html", entry=entry, versions=versions, error=error), status


@bp.post("/entries/<path:entry_id>/revert")
@requires("editor")
def revert(entry_id: str):
    """Revert, unless the entry changed since the history page was loaded (`current`):
    the editor chose that version over what they saw, not over someone else's later edit."""
    version = whole_number(request.form.get("version", ""))
    if version is None:
        abort(400, "缺少要恢复的版本号")
    with locked() as ws:
        kb = ws.kb()
        before = kb.store.get(entry_id)
        if request.form.get("current", "") != str(before.version):
            return _history_page(entry_id, f"此条目已被他人修改（现为第 {before.version} 版），没有恢复；"
                                           "请查看最新的历史后再决定。", 409)
        entry = kb.revert(entry_id, version, author=_author())
    if entry.version == before.version:
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


def _search(message: str, entry=None) -> dict:
    """Hits for `message` (with `entry` as if published), or the reason there are none."""
    from kefu.suggest.retrieve import Retriever

    try:
        with locked() as ws:
            kb = ws.kb()
            if entry is None:
                result = Retriever(kb, top_k=TRY_TOP_K).search(message)
            else:
                with _as_if_published(kb, entry):
                    result = Retriever(kb, top_k=TRY_TOP_K).search(message)
    except EmptyQuery:
        return {"message": message, "error": "请输入一条顾客消息", "result": None}
    return {"message": message, "error": None, "result": result}


def _trial_on_entry(entry, message: str) -> dict:
    trial = _search(message, entry)
    hits = trial["result"].hits if trial["result"] else []
    trial["rank"] = next((i for i, h in enumerate(hits, 1) if h.entry_id == entry.id), None)
    trial["hypothetical"] = entry.status != "published"
    trial["out_of_window"] = not in_window(entry.valid_from, entry.valid_to)
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
    return render_template("console/try.html", message=message, trial=trial)


# -- data-folder files (话术, word lists) -------------------------------------------------

def _write_checked(target: Path, text: str, check) -> None:
    """Replace `target` with `text` only if `check(temp_path)` accepts it.

    The new content is written to a temp file beside the target, checked there, and
    moved over the target with os.replace, so a reader (another worker) sees the old
    file or the new one, never a half-written or invalid one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        check(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _file_rev(*paths: Path) -> str:
    """A short fingerprint of the files' content: forms carry it, to refuse saving over a
    version the editor never saw."""
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


# -- 话术 ----------------------------------------------------------------------------------

PHRASE_FIELDS = ("id", "kind", "stage", "tone", "script", "text")
STAGES = ("接待", "了解需求", "提供解决方案", "后续跟踪", "告别")  # suggestions; free text allowed


def _huashu_path(ws) -> Path:
    from kefu import corpus

    return ws.data_file("huashu.jsonl", corpus.HUASHU)


def _read_phrases(path: Path) -> list[dict]:
    """The library's lines as dicts (every field kept, so saving loses nothing)."""
    from kefu.kb.io import iter_jsonl, read_text

    return [d for _, d in iter_jsonl(path, read_text(path))]


def _phrase_from_form(form) -> dict:
    return {name: form.get(name, "").strip() for name in PHRASE_FIELDS}


def _next_phrase_id(lines: list[dict]) -> str:
    numbers = [int(m.group(1)) for d in lines if (m := re.fullmatch(r"h(\d+)", str(d.get("id", ""))))]
    return f"h{max(numbers, default=0) + 1:03d}"


def _save_phrases(ws, lines: list[dict]) -> None:
    """Write the data folder's own 话术 file, after PhraseLibrary accepts all of it."""
    from kefu.suggest.phrases import PhraseLibrary

    ids = [str(d.get("id", "")) for d in lines if d.get("id")]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidEntry("id", f"编号重复：{', '.join(dupes)}")
    text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in lines)
    _write_checked(ws.home / "huashu.jsonl", text, PhraseLibrary.load)
    reset_assistant()


def _phrase_error(exc: KefuError, lines: list[dict]) -> str:
    """A checker's message in the editor's terms: the temp file's line is the phrase's number."""
    line, field = getattr(exc, "line", None), getattr(exc, "field", None)
    where = []
    if line:
        phrase_id = lines[line - 1].get("id", "") if 0 < line <= len(lines) else ""
        where.append(f"第 {line} 行" + (f"（{phrase_id}）" if phrase_id else ""))
    if field:
        where.append(f"字段 {field}")
    reason = reason_zh(getattr(exc, "reason", None) or str(exc))
    return f"{' '.join(where)}：{reason}" if where else reason


@bp.get("/huashu")
@requires("editor")
def huashu():
    from kefu.suggest.phrases import KINDS

    with locked() as ws:
        path = _huashu_path(ws)
        lines, rev = _read_phrases(path), _file_rev(path)
        own = path == ws.home / "huashu.jsonl"
    kind = request.args.get("kind", "")
    shown = [(i, d) for i, d in enumerate(lines) if not kind or d.get("kind") == kind]
    return render_template("console/huashu.html", shown=shown, count=len(lines), kinds=KINDS, kind=kind,
                           rev=rev, own=own)


def _phrase_form(phrase: dict, index: int | None, rev: str, error: str | None = None, status: int = 200):
    from kefu.suggest.phrases import KINDS

    return render_template("console/huashu_form.html", phrase=phrase, index=index, rev=rev, error=error,
                           kinds=KINDS, tones=TONES, scripts=SCRIPTS, stages=STAGES), status


@bp.get("/huashu/new")
@requires("editor")
def new_phrase():
    with locked() as ws:
        path = _huashu_path(ws)
        lines, rev = _read_phrases(path), _file_rev(path)
    phrase = {"id": _next_phrase_id(lines), "kind": request.args.get("kind", ""), "stage": "",
              "tone": "any", "script": "simplified", "text": ""}
    return _phrase_form(phrase, None, rev)


@bp.get("/huashu/<int:index>")
@requires("editor")
def edit_phrase(index: int):
    with locked() as ws:
        path = _huashu_path(ws)
        lines, rev = _read_phrases(path), _file_rev(path)
    if index >= len(lines):
        abort(404, "没有这条话术")
    phrase = {name: str(lines[index].get(name, "")) for name in PHRASE_FIELDS}
    return _phrase_form(phrase, index, rev)


@bp.post("/huashu/save")
@requires("editor")
def save_phrase():
    """Add a line (no index) or replace the line at `index`, then save the whole file."""
    form = request.form
    phrase = _phrase_from_form(form)
    index = whole_number(form.get("index", ""))
    with locked() as ws:
        path = _huashu_path(ws)
        if form.get("rev") != _file_rev(path):
            return _phrase_form(phrase, index, form.get("rev", ""),
                                "话术文件已被他人修改，请回到列表刷新后再改。", 409)
        lines = _read_phrases(path)
        if index is not None and index >= len(lines):
            abort(404, "没有这条话术")
        # pick() only ever chooses these: a line saved with another could never be offered.
        for name, label, allowed in (("tone", "语气", TONES), ("script", "字形", SCRIPTS)):
            if phrase[name] and phrase[name] not in allowed:
                return _phrase_form(phrase, index, form.get("rev", ""),
                                    f"字段 {name}（{label}）只能是 {'、'.join(allowed)} 之一，不能是 {phrase[name]}", 400)
        new = {k: v for k, v in phrase.items() if v or k == "text"}
        if index is None:
            lines.append(new)
        else:
            lines[index] = {**{k: v for k, v in lines[index].items() if k not in PHRASE_FIELDS}, **new}
        try:
            _save_phrases(ws, lines)
        except KefuError as exc:
            return _phrase_form(phrase, index, form.get("rev", ""), _phrase_error(exc, lines), 400)
    flash(f"已保存话术 {phrase['id'] or ''}")
    return redirect(url_for(".huashu"))


@bp.post("/huashu/<int:index>/delete")
@requires("editor")
def delete_phrase(index: int):
    with locked() as ws:
        path = _huashu_path(ws)
        if request.form.get("rev") != _file_rev(path):
            flash("话术文件已被他人修改，没有删除；请查看后再试。")
            return redirect(url_for(".huashu"))
        lines = _read_phrases(path)
        if index >= len(lines):
            abort(404, "没有这条话术")
        removed = lines.pop(index)
        try:
            _save_phrases(ws, lines)
        except KefuError as exc:
            flash(f"没有删除：{_phrase_error(exc, lines)}")
            return redirect(url_for(".huashu"))
    flash(f"已删除话术 {removed.get('id', '')}")
    return redirect(url_for(".huashu"))


# -- word lists ------------------------------------------------------------------------------

REASONS = ("极限词", "承诺", "敏感")


def _word_lines(text: str) -> str:
    """The sensitive-word textarea as the file wants it: `词<TAB>原因` per line.

    A browser textarea cannot easily type a tab, so `词 原因` with one of the known
    reasons last is accepted too; comments and blank lines are kept as typed.
    """
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.rstrip().lstrip(" ")  # a leading tab stays: "\t原因" names no word
        if line and not line.startswith("#") and "\t" not in line:
            head, _, last = line.rpartition(" ")
            if head.strip() and last in REASONS:
                line = f"{head.strip()}\t{last}"
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def _plain_lines(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n") + "\n"


def _check_words(path: Path) -> None:
    """A word list line must name a word: an empty one would flag every position of a draft."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#") and not line.partition("\t")[0].strip():
            raise InvalidEntry("words", f"第 {n} 行没有词（只有原因）")


def _save_words(ws, typed: dict) -> str | None:
    """Write both lists if each passes its check; else the reason, nothing written."""
    try:
        if any(len(v) > MAX_LIST_TEXT for v in typed.values()):
            raise InvalidEntry("words", "内容太长")
        _write_checked(ws.home / "sensitive_words.txt", _word_lines(typed["words"]), _check_words)
        _write_checked(ws.home / "safe_phrases.txt", _plain_lines(typed["safe"]), lambda p: None)
        ws.safety()  # the assistant loads them this way: prove it can
    except KefuError as exc:
        return reason_zh(getattr(exc, "reason", str(exc)))
    return None


@bp.route("/words", methods=["GET", "POST"])
@requires("editor")
def words():
    from kefu import corpus

    with locked() as ws:
        words_path = ws.data_file("sensitive_words.txt", corpus.SENSITIVE_WORDS)
        safe_path = ws.data_file("safe_phrases.txt", corpus.SAFE_PHRASES)
        texts = {"words": words_path.read_text(encoding="utf-8"), "safe": safe_path.read_text(encoding="utf-8")}
        rev = _file_rev(words_path, safe_path)
        error, status = None, 200
        if request.method == "POST":
            if any(k not in request.form for k in texts):
                abort(400, "表单缺少敏感词或安全短语的内容，没有保存")  # not two emptied lists
            texts = {k: request.form[k] for k in texts}
            if request.form.get("rev") != rev:
                # Both lists are saved at once: saving over another editor's change to
                # either would silently undo it. The typed text stays, to copy.
                error, status, rev = "词表已被他人修改；请复制你的改动，刷新页面后再改。", 409, request.form.get("rev", "")
            elif error := _save_words(ws, texts):
                status = 400
            else:
                reset_assistant()
                flash("已保存词表，新的草稿立即按新词表检查")
                return redirect(url_for(".words"))
    counts = {k: sum(1 for line in v.splitlines() if line.strip() and not line.lstrip().startswith("#"))
              for k, v in texts.items()}
    return render_template("console/words.html", texts=texts, counts=counts, error=error, rev=rev,
                           reasons=REASONS), status


# -- import --------------------------------------------------------------------------------

UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
UPLOAD_MAX_AGE = 24 * 3600  # seconds an unconfirmed upload is kept


def _uploads(ws) -> Path:
    return ws.home / "uploads"


def _upload_dir(ws, upload_id: str) -> Path:
    """The folder of one upload; 404 for anything that is not an id we could have made."""
    if not UPLOAD_ID.fullmatch(upload_id or ""):
        abort(404, "没有这个上传文件")
    folder = _uploads(ws) / upload_id
    if not (folder / "meta.json").is_file():
        abort(404, "没有这个上传文件（可能已导入或已过期）")
    return folder


def _clean_uploads(ws) -> None:
    """Forget previews nobody confirmed, so uploads do not pile up in the data folder."""
    root = _uploads(ws)
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if UPLOAD_ID.fullmatch(folder.name) and time.time() - folder.stat().st_mtime > UPLOAD_MAX_AGE:
            shutil.rmtree(folder, ignore_errors=True)


def _options_from_form(form) -> dict:
    on_conflict = form.get("on_conflict", "update")
    if on_conflict not in ("update", "skip", "error"):
        abort(400, "on_conflict 只能是 update、skip 或 error")
    return {"on_conflict": on_conflict, "prune": form.get("prune") == "1",
            "skip_bad_rows": form.get("skip_bad_rows") == "1"}


def _run_import(ws, folder: Path, meta: dict, dry_run: bool):
    """Import the uploaded bytes with the options chosen at upload; the dry run writes nothing."""
    from kefu.kb.bulk import BulkImporter, ImportOptions

    kb = ws.kb()
    options = ImportOptions(dry_run=dry_run, author=_author(), **meta["options"])
    data = (folder / "upload").read_bytes()
    changed: list[str] = []
    result = BulkImporter(kb, options).import_file(folder / "upload", data=data, name=meta["name"],
                                                   changed=changed)
    if not dry_run:
        kb.refresh(changed)  # what BulkImporter.run does after its files
    return result


def _diff_rows(diff: list[dict]) -> list[dict]:
    """The importer's {field: [before, after]} per entry, shown like the history's diffs."""
    return [{"id": d.get("id"), "action": d.get("action"),
             "fields": _field_diff({k: v[0] for k, v in d["changes"].items()},
                                   {k: v[1] for k, v in d["changes"].items()})}
            for d in diff]


def _problems(result) -> dict:
    """The import's error and rejected rows in Chinese, for the page."""
    return {"failure": problem_zh(result.error) if result.error else None,
            "rejected": [problem_zh(r) for r in result.rejected],
            "notes": [import_note_zh(n) for n in result.notes]}


@bp.route("/import", methods=["GET", "POST"])
@requires("editor")
def import_page():
    from kefu.kb.importers import SUFFIXES

    if request.method == "GET":
        return render_template("console/import.html", suffixes=SUFFIXES, result=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render_template("console/import.html", suffixes=SUFFIXES, result=None,
                               error="请选择要导入的文件"), 400
    # Only the last part of the name: it is shown, and its suffix picks the reader.
    name = Path(upload.filename.replace("\\", "/")).name[:200] or "upload"
    meta = {"name": name, "options": _options_from_form(request.form), "user": _author(),
            "uploaded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    upload_id = secrets.token_hex(16)
    folder = _uploads(workspace()) / upload_id
    _clean_uploads(workspace())
    folder.mkdir(parents=True)
    upload.save(folder / "upload")
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    with locked() as ws:
        result = _run_import(ws, folder, meta, dry_run=True)
    if result.status == "failed":
        shutil.rmtree(folder, ignore_errors=True)  # nothing to confirm
        upload_id = None
    return render_template("console/import.html", suffixes=SUFFIXES, result=result, meta=meta,
                           upload_id=upload_id, diff=_diff_rows(result.diff), dry_run=True, **_problems(result))


@bp.post("/import/confirm")
@requires("editor")
def import_confirm():
    from kefu.kb.importers import SUFFIXES

    with locked() as ws:
        folder = _upload_dir(ws, request.form.get("upload_id", ""))
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if request.form.get("cancel"):
            shutil.rmtree(folder, ignore_errors=True)
            flash(f"已取消导入 {meta['name']}")
            return redirect(url_for(".import_page"))
        result = _run_import(ws, folder, meta, dry_run=False)
        shutil.rmtree(folder, ignore_errors=True)
    return render_template("console/import.html", suffixes=SUFFIXES, result=result, meta=meta,
                           upload_id=None, diff=[], dry_run=False, **_problems(result))


# -- users (admin) --------------------------------------------------------------------------

def _users_page(token: dict | None = None, error: str | None = None, status: int = 200):
    from kefu.kb.users import ROLES

    from .messages import ROLE_ZH

    with locked() as ws:
        users = ws.users()
        rows, tokens = users.all(), users.tokens()
    return render_template("console/users.html", users=rows, tokens=tokens, roles=ROLES, role_zh=ROLE_ZH,
                           new_token=token, error=error), status


@bp.get("/users")
@requires("admin")
def users():
    return _users_page()


@bp.post("/users/add")
@requires("admin")
def add_user():
    from kefu.kb.users import UserError

    form = request.form
    try:
        with locked() as ws:
            user = ws.users().add(form.get("name", ""), form.get("password", ""), form.get("role", "agent"),
                                  shared=form.get("shared") == "1")
    except UserError as exc:
        return _users_page(error=user_error_zh(str(exc)), status=400)
    flash(f"已添加用户 {user.name}（{user.role}{'，团队共用' if user.shared else ''}）")
    return redirect(url_for(".users"))


@bp.post("/users/remove")
@requires("admin")
def remove_user():
    from kefu.kb.users import UserError

    name = request.form.get("name", "")
    if name == _author():
        return _users_page(error="不能删除自己（请让另一位管理员操作）", status=400)
    try:
        with locked() as ws:
            ws.users().remove(name)
    except UserError as exc:
        return _users_page(error=user_error_zh(str(exc)), status=400)
    flash(f"已删除用户 {name}")
    return redirect(url_for(".users"))


@bp.post("/tokens/add")
@requires("admin")
def add_token():
    from kefu.kb.users import UserError

    name = request.form.get("name", "").strip()
    if not name:
        return _users_page(error="请填写令牌名称（例如接入的系统名）", status=400)
    try:
        with locked() as ws:
            token = ws.users().add_token(name, request.form.get("role", "agent"))
    except UserError as exc:
        return _users_page(error=user_error_zh(str(exc)), status=400)
    # Shown in this response only: the store keeps just its hash.
    return _users_page(token={"name": name, "token": token})


@bp.post("/tokens/revoke")
@requires("admin")
def revoke_tokens():
    name = request.form.get("name", "")
    with locked() as ws:
        n = ws.users().revoke_tokens(name)
    flash(f"已吊销 {name} 的 {n} 个令牌")
    return redirect(url_for(".users"))

"""Console pages for the data folder's files: the 话术 library, the word lists the safety
check reads, and importing FAQ files and documents (upload, preview, confirm).

Same rules as the rest of the console (editor role, CSRF token in every form); the
entries pages are in `console.py`.
"""

from __future__ import annotations

import copy
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from kefu.kb.errors import InvalidEntry, KefuError
from kefu.kb.files import temp_beside
from kefu.kb.text import strip_controls, whole_number
from kefu.suggest.phrases import GIVEN_ID, SCRIPTS, TONES, phrase_id, repeated_ids
from kefu.suggest.safety import REASONS, read_list, word_line, word_list_problems
from kefu.suggest.workspace import data_file_errors

from .auth import requires
from .console import field_diff
from .messages import KIND_ZH, TONE_ZH, import_note_zh, problem_zh, reason_zh
from .state import author, locked, reset_assistant, workspace

bp = Blueprint("files", __name__, url_prefix="/console")

MAX_LIST_TEXT = 1_000_000  # characters of a word-list textarea


# -- data-folder files -------------------------------------------------------------------

def _write_checked(target: Path, text: str, check) -> None:
    """Replace `target` with `text` only if `check(temp_path)` accepts it.

    The new content is written to a temp file beside the target, checked there, and
    moved over the target with os.replace, so a reader (another worker) sees the old
    file or the new one, never a half-written or invalid one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = temp_beside(target)
    try:
        with open(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        check(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _files_locked(ws) -> Iterator[None]:
    """Hold the data folder's file lock (an flock, which every worker process takes) for
    one check of a form's rev and the write after it: `locked()` only orders this
    process's threads, so two workers saving from one rev both passed the check, and the
    later write silently dropped the earlier one."""
    with open(ws.home / ".files.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _file_rev(*paths: Path) -> str:
    """A short fingerprint of the files' content: forms carry it, to refuse saving over a
    version the editor never saw."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


# -- 话术 ----------------------------------------------------------------------------------

PHRASE_FIELDS = ("id", "kind", "stage", "tone", "script", "text")
PHRASE_LABELS = {"id": "编号", "kind": "类型", "stage": "阶段", "tone": "语气", "script": "字形", "text": "话术"}  # as the form
# A field as an error names it in plain words: 话术内容不能为空, not 字段 text（话术）：不能为空.
PHRASE_NAMES = {**PHRASE_LABELS, "text": "话术内容"}
STAGES = ("接待", "了解需求", "提供解决方案", "后续跟踪", "告别")  # suggestions; free text allowed


def _huashu_path(ws) -> Path:
    from kefu import corpus

    return ws.data_file("huashu.jsonl", corpus.HUASHU)


def _read_phrases(path: Path) -> list[dict]:
    """The library's lines as dicts (every field kept, so saving loses nothing)."""
    from kefu.kb.io import iter_jsonl, read_text

    with data_file_errors():  # edited by hand into a file that cannot be read: fixed there
        return [d for _, d in iter_jsonl(path, read_text(path, option=None))]  # no --encoding to name


def _phrase_from_form(form) -> dict:
    # A textarea's line breaks come as \r\n: saved as the loader reads them (strip_controls).
    phrase = {name: strip_controls(form.get(name, "")).strip() for name in PHRASE_FIELDS}
    return {**phrase, "id": phrase_id(phrase["id"])}


def _next_phrase_id(lines: list[dict]) -> str:
    numbers = [int(m.group(1)) for d in lines if (m := re.fullmatch(r"h(\d+)", str(d.get("id", ""))))]
    return f"h{max(numbers, default=0) + 1:03d}"


def _save_phrases(ws, lines: list[dict], saving: str | None = None) -> None:
    """Write the data folder's own 话术 file, after `_check_phrases` accepts all of it.
    The id of the line `saving` may be no other's; ids a file edited by hand holds twice,
    which the assistant reads as they are, do not stop the edit of another line."""
    if saving and (where := repeated_ids([(n, d.get("id")) for n, d in enumerate(lines, 1)]).get(saving)):
        raise InvalidEntry("id", f"编号重复：{saving}（第 {'、'.join(map(str, where))} 条）")  # the list's order
    text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in lines)
    # A kind the file lacks already (deleted by hand) does not stop the edit of another line.
    had = {d.get("kind") for d in _read_phrases(_huashu_path(ws))}
    _write_checked(ws.home / "huashu.jsonl", text, lambda path: _check_phrases(path, had))
    reset_assistant()


def _check_phrases(path: Path, had: set) -> None:
    """Every line valid (PhraseLibrary.load), and a line left of each kind the assistant
    needs that the library `had`: deleting the last no_match line would leave it nothing
    to say when no entry answers."""
    from kefu.suggest.phrases import PhraseLibrary

    if missing := [k for k in PhraseLibrary.load(path).missing_kinds() if k in had]:
        kind = missing[0]
        raise KefuError(f"话术库至少要保留一条「{KIND_ZH.get(kind, kind)}」（{kind}）话术："
                        "助手起草回复要用到这类话术（可以修改，但不能全部删除或改成别的类型）")


def _phrase_error(exc: KefuError, lines: list[dict], own: int | None = None) -> str:
    """A checker's message in the editor's terms. An error in the form's own line (`own`,
    its number in the file, or no line named) says the field as the form does: 话术内容不能为空.
    One in another line (a file edited by hand) names that line as the list numbers it."""
    line, field = getattr(exc, "line", None), getattr(exc, "field", None)
    reason = reason_zh(getattr(exc, "reason", None) or str(exc))
    name = PHRASE_NAMES.get(field, field or "")
    said = reason if not name or reason.startswith(name) else \
        f"{name}{reason}" if reason.startswith(("不能", "只能")) else f"{name}：{reason}"
    if not line or line == own:
        return said
    phrase_id = lines[line - 1].get("id", "") if 0 < line <= len(lines) else ""
    return f"第 {line} 条话术" + (f"（{phrase_id}）" if phrase_id else "") + f"：{said}"


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


def _flagged(text: str) -> str:
    """The words in a 话术 line that drafts will flag to the agent, as the entry form lists
    them: a warning, not an error (a line is in many drafts, and nothing else told)."""
    return "、".join(f"{f.word}（{f.reason}）" for f in workspace().safety().check(text or ""))


def _unpicked(phrase: dict) -> str:
    """Why drafts never pick the line, or pick it only while no other suits (a warning:
    the file loader takes it too); "" for a line they use."""
    from kefu.suggest.phrases import PhraseLibrary

    kind = phrase.get("kind", "")
    unasked = PhraseLibrary.unasked(kind, phrase.get("stage", ""), phrase.get("tone", "") or "any")
    name = KIND_ZH.get(kind, kind)
    says = []
    if "tone" in unasked:
        says.append(f"{name}话术只用于语气{''.join(f'「{TONE_ZH[t]}」' for t in unasked['tone'])}的顾客，"
                    f"语气「{TONE_ZH.get(phrase['tone'], phrase['tone'])}」的这一条不会出现在草稿里")
    if "stage" in unasked:
        says.append(f"{name}按阶段{''.join(f'「{s}」' for s in unasked['stage'])}挑选，"
                    f"阶段「{phrase.get('stage') or '（空）'}」的这一条只在没有这些阶段的话术时才用")
    return "；".join(says)


def _list_kind() -> str | None:
    """The kind the 话术 list was filtered by when a line was opened from it (`list_kind`
    in a form, `kind` in the list's links): saving or deleting a line goes back to that
    list, not to all the library's lines, where the next line of the kind is to be found again."""
    from kefu.suggest.phrases import KINDS

    kind = request.values.get("list_kind" if request.method == "POST" else "kind", "")
    return kind if kind in KINDS else None


def _phrase_form(phrase: dict, index: int | None, rev: str, error: str | None = None, status: int = 200,
                 note: str | None = None, line_id: str | None = None, stale: bool = False):
    """The 话术 form. `line_id`: the id the line had when opened (default: the posted form's),
    which the form carries, as the id field may be changed: a save refused as `stale` links
    to that line as it is now, found by it (`edit_phrase`), or to a new form for a new line."""
    from kefu.suggest.phrases import KINDS

    if line_id is None and index is not None:
        line_id = request.form.get("line_id")
    return render_template("console/huashu_form.html", phrase=phrase, index=index, rev=rev, error=error,
                           kinds=KINDS, tones=TONES, scripts=SCRIPTS, stages=STAGES, list_kind=_list_kind(),
                           flags=_flagged(phrase.get("text", "")), unpicked=_unpicked(phrase), note=note,
                           line_id=line_id, stale=stale), status


# Said on a form opened by a link from a page of the file before it changed (the list's
# 编辑, a refused save's link to the latest).
CHANGED_SINCE = "话术文件在你打开上一页之后被修改过："


@bp.get("/huashu/new")
@requires("editor")
def new_phrase():
    with locked() as ws:
        path = _huashu_path(ws)
        lines, rev = _read_phrases(path), _file_rev(path)
    phrase = {"id": _next_phrase_id(lines), "kind": request.args.get("kind", ""), "stage": "",
              "tone": "any", "script": "simplified", "text": ""}
    # `rev`: a link from a form of the file before it changed (a refused save's)
    seen = request.args.get("rev")
    note = CHANGED_SINCE + "下面的编号按最新的话术库给出。" if seen and seen != rev else None
    return _phrase_form(phrase, None, rev, note=note)


@bp.get("/huashu/<int:index>")
@requires("editor")
def edit_phrase(index: int):
    with locked() as ws:
        path = _huashu_path(ws)
        lines, rev = _read_phrases(path), _file_rev(path)
    # The list's links name the line (`id`) and the file as listed (`rev`): from a list
    # loaded before the file changed, a line's place may hold another line now.
    wanted, seen, note = request.args.get("id"), request.args.get("rev"), None
    if seen and seen != rev:
        note = CHANGED_SINCE + "下面是这条话术的最新内容。"
        # ids as the console tells them apart (ｈ００１ re-saved as h001 is the same line)
        if wanted is not None and (index >= len(lines) or phrase_id(lines[index].get("id", "")) != phrase_id(wanted)):
            places = [i for i, d in enumerate(lines) if phrase_id(d.get("id", "")) == phrase_id(wanted)]
            if len(places) != 1:
                abort(404, f"话术 {wanted} 已不在话术库中（话术文件在你打开上一页之后被修改过）" if not places
                      else f"话术库中有 {len(places)} 条编号为 {wanted} 的话术（第 {'、'.join(str(i + 1) for i in places)} 条），"
                           "请回到列表选择；保存时给其中一条换个编号，链接就不会再分不清")
            index = places[0]
    if index >= len(lines):
        abort(404, "没有这条话术")
    phrase = {name: str(lines[index].get(name, "")) for name in PHRASE_FIELDS}
    return _phrase_form(phrase, index, rev, note=note, line_id=phrase["id"])


@bp.post("/huashu/save")
@requires("editor")
def save_phrase():
    """Add a line (no index) or replace the line at `index`, then save the whole file."""
    form = request.form
    phrase = _phrase_from_form(form)
    index = whole_number(form.get("index", ""))
    with locked() as ws, _files_locked(ws):
        path = _huashu_path(ws)
        if form.get("rev") != _file_rev(path):
            # A refresh would post the form again, refused again: the page links to the latest.
            return _phrase_form(phrase, index, form.get("rev", ""),
                                "话术文件已被他人修改，你的改动没有保存；请复制你的改动，"
                                + ("打开这条话术的最新内容后再改。" if index is not None else "打开新的新增表单后再加。"),
                                409, stale=True)
        lines = _read_phrases(path)
        if index is not None and index >= len(lines):
            abort(404, "没有这条话术")
        if given := GIVEN_ID.fullmatch(phrase["id"]):
            return _phrase_form(phrase, index, form.get("rev", ""),
                                f"编号 {phrase['id']} 是没有编号的话术行自动得到的编号"
                                f"（第 {int(given[1])} 行没写编号时就叫 {phrase['id']}），请换一个，如 {_next_phrase_id(lines)}",
                                400)
        # pick() only ever chooses these: a line saved with another could never be offered.
        for name, allowed in (("tone", TONES), ("script", SCRIPTS)):
            if phrase[name] and phrase[name] not in allowed:
                return _phrase_form(phrase, index, form.get("rev", ""),
                                    f"{PHRASE_NAMES[name]}只能是 {'、'.join(allowed)} 之一，不能是 {phrase[name]}", 400)
        # As an entry's: a line's id names it in the list, the save message and drafts' explanations.
        # The form shown again after a refusal keeps the field as typed (empty), not this id.
        saved_id = phrase["id"] or _next_phrase_id(lines)
        new = {k: v for k, v in {**phrase, "id": saved_id}.items() if v or k == "text"}
        if index is None:
            lines.append(new)
        else:
            lines[index] = {**{k: v for k, v in lines[index].items() if k not in PHRASE_FIELDS}, **new}
        try:
            _save_phrases(ws, lines, saved_id)
        except KefuError as exc:
            own = len(lines) if index is None else index + 1  # the line's number in the file written
            return _phrase_form(phrase, index, form.get("rev", ""), _phrase_error(exc, lines, own), 400)
    flagged, unpicked = _flagged(phrase["text"]), _unpicked(phrase)
    flash(f"已保存话术 {saved_id}" + (f"；用词提醒（草稿中会标给客服）：{flagged}" if flagged else "")
          + (f"；提醒：{unpicked}" if unpicked else ""))
    return redirect(url_for(".huashu", kind=_list_kind()))


@bp.post("/huashu/<int:index>/delete")
@requires("editor")
def delete_phrase(index: int):
    with locked() as ws, _files_locked(ws):
        path = _huashu_path(ws)
        if request.form.get("rev") != _file_rev(path):
            flash("话术文件已被他人修改，没有删除；请查看后再试。", "error")
            return redirect(url_for(".huashu", kind=_list_kind()))
        lines = _read_phrases(path)
        if index >= len(lines):
            abort(404, "没有这条话术")
        removed = lines.pop(index)
        try:
            _save_phrases(ws, lines)
        except KefuError as exc:
            flash(f"没有删除：{_phrase_error(exc, lines)}", "error")
            return redirect(url_for(".huashu", kind=_list_kind()))
    flash(f"已删除话术 {removed.get('id', '')}")
    return redirect(url_for(".huashu", kind=_list_kind()))


# -- word lists ------------------------------------------------------------------------------

def _word_lines(text: str) -> str:
    """The sensitive-word textarea as the file wants it: `词<TAB>原因` per line.

    A browser textarea cannot easily type a tab, so `词 原因` with one of the known
    reasons last is accepted too (`word_line`); comments and blank lines are kept as typed.
    """
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.rstrip().lstrip(" ")  # a leading tab stays: "\t原因" names no word
        if line and not line.startswith("#") and "\t" not in line:
            word, reason, _ = word_line(line)
            if word != line:
                line = f"{word}\t{reason}"
        out.append(line)
    # Blank lines above the first are kept: the check names a line by its number in the
    # file written, which is then the number of the line as typed.
    return "\n".join(out).rstrip("\n") + "\n"


def _plain_lines(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).rstrip("\n") + "\n"


def _check_words(path: Path) -> None:
    """A word list line must name a word: an empty one would flag every position of a draft."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#") and not line.partition("\t")[0].strip():
            raise InvalidEntry("words", f"第 {n} 行没有词（只有原因）")
    for n, line, bad in word_list_problems(path):
        # Kept as part of the word, it would make one no draft ever holds ("九折承诺类").
        raise InvalidEntry("words", f"第 {n} 行「{line}」：「{bad}」不是可用的原因（{' / '.join(REASONS)}）；"
                                    "请改成其中之一，如果它是词的一部分，请去掉它前面的空格")


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

    with locked() as ws, _files_locked(ws):
        words_path = ws.data_file("sensitive_words.txt", corpus.SENSITIVE_WORDS)
        safe_path = ws.data_file("safe_phrases.txt", corpus.SAFE_PHRASES)
        # As the safety check reads them: a file saved with a BOM or in GBK shows as text,
        # and is saved back as UTF-8.
        with data_file_errors():
            texts = {"words": read_list(words_path), "safe": read_list(safe_path)}
        rev = _file_rev(words_path, safe_path)
        error, status = None, 200
        if request.method == "POST":
            if any(k not in request.form for k in texts):
                abort(400, "表单缺少敏感词或安全短语的内容，没有保存")  # not two emptied lists
            texts = {k: request.form[k] for k in texts}
            if request.form.get("rev") != rev:
                # Both lists are saved at once: saving over another editor's change to
                # either would silently undo it. The typed text stays, to copy; a refresh
                # would post it again, refused again: the page links to the latest.
                error, status, rev = "词表已被他人修改，你的改动没有保存；请复制你的改动，打开最新词表后再改。", 409, \
                    request.form.get("rev", "")
            elif error := _save_words(ws, texts):
                status = 400
            else:
                reset_assistant()
                flash("已保存词表，新的草稿立即按新词表检查")
                return redirect(url_for(".words"))
    counts = {k: sum(1 for line in v.splitlines() if line.strip() and not line.lstrip().startswith("#"))
              for k, v in texts.items()}
    # A link from a page of the lists before they changed (the refusal's 打开最新词表)
    stale = request.method == "GET" and request.args.get("rev") not in (None, rev)
    return render_template("console/words.html", texts=texts, counts=counts, error=error, rev=rev,
                           reasons=REASONS, conflict=status == 409, stale=stale), status


# -- import --------------------------------------------------------------------------------

UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
UPLOAD_MAX_AGE = 24 * 3600  # seconds an unconfirmed upload is kept
CLAIMED = ".importing"  # an upload's folder while one confirm imports it


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
        if UPLOAD_ID.fullmatch(folder.name.removesuffix(CLAIMED)) and \
                time.time() - folder.stat().st_mtime > UPLOAD_MAX_AGE:
            shutil.rmtree(folder, ignore_errors=True)


MAX_NAME = 200  # characters of an upload's name kept
# Entries whose changes an import's preview shows: a shop's first import of thousands of
# rows previewed each (8,000 made a 7.5 MB page, 确认导入 below them all); the counts are whole.
IMPORT_DIFF_SHOWN = 200


def _upload_name(filename: str) -> str:
    """Only the last part of the name: it is shown, and its suffix picks the reader, so a
    long name is cut in its stem (cut at the end, 问…问.csv was refused as a file of no type)."""
    path = Path(filename.replace("\\", "/"))
    name = path.name or "upload"
    if len(name) > MAX_NAME:
        suffix = path.suffix[:20]
        name = name[:MAX_NAME - len(suffix)] + suffix
    return name


def _options_from_form(form) -> dict:
    on_conflict = form.get("on_conflict", "update")
    if on_conflict not in ("update", "skip", "error"):
        abort(400, "on_conflict 只能是 update、skip 或 error")
    return {"on_conflict": on_conflict, "prune": form.get("prune") == "1",
            "skip_bad_rows": form.get("skip_bad_rows") == "1"}


def _read_upload(folder: Path, meta: dict, dry_run: bool):
    """The uploaded file parsed and checked with the options chosen at upload, outside
    `locked()`: a large file takes many seconds to read, and every search and suggestion
    of this process waits for that lock. The store's part is `_run_import`'s, under it."""
    from kefu.kb.bulk import ImportOptions, read_file

    options = ImportOptions(dry_run=dry_run, author=author(), **meta["options"])
    try:
        data = (folder / "upload").read_bytes()
    except FileNotFoundError:  # confirmed (or cancelled) meanwhile by another request
        abort(404, "没有这个上传文件（可能已导入或已过期）")
    return options, read_file(folder / "upload", options, data, meta["name"])


def _run_import(ws, meta: dict, options, read):
    """Import what `_read_upload` read; the dry run writes nothing. Use inside `locked()`."""
    from kefu.kb.bulk import BulkImporter

    result, loaded = read
    if result.status == "failed":
        return result
    kb = ws.kb()
    changed: list[str] = []
    BulkImporter(kb, options).write(result, loaded, meta["name"], changed)
    if not options.dry_run:
        kb.refresh(changed)  # what BulkImporter.run does after its files
    return result


def _markers(ws) -> dict:
    """The store's change markers of what an import reads (entries, passages): learning's
    marker is left out, as agents' clicks move it all day."""
    return {k: v for k, v in ws.kb().store.changes().items() if k != "learn.version"}


def _preview_key(result) -> str:
    """A fingerprint of what a preview showed: its counts and its diff."""
    shown = {"counts": [result.added, result.updated, result.unchanged, result.skipped, result.pruned],
             "passages": result.passages, "diff": result.diff, "error": result.error}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def _preview_now(ws, meta: dict, read):
    """The preview as it would be now, when it is not the one the editor confirmed (else
    None): an entry of the file edited since by someone else would be updated over that
    edit, which the confirmed preview never showed. `meta` then records the new one, which
    a confirm imports. The dry run is done again only when the store changed since."""
    from kefu.kb.bulk import ImportOptions

    shown = meta.get("preview")  # none: an upload of an older kefu, imported as before
    if shown is None or shown["markers"] == _markers(ws):
        return None
    markers = _markers(ws)
    now = _run_import(ws, meta, ImportOptions(dry_run=True, author=author(), **meta["options"]), copy.deepcopy(read))
    same = _preview_key(now) == shown["key"]
    meta["preview"] = {"key": _preview_key(now), "markers": markers}
    return None if same else now


def _diff_rows(diff: list[dict]) -> list[dict]:
    """The importer's {field: [before, after]} per entry, shown like the history's diffs."""
    return [{"id": d.get("id"), "action": d.get("action"),
             "fields": field_diff({k: v[0] for k, v in d["changes"].items()},
                                   {k: v[1] for k, v in d["changes"].items()})}
            for d in diff]


def _problems(result) -> dict:
    """The import's error, rejected rows and notes in Chinese, for the page; each note naming
    the file as the rejected rows do (a note of the whole file, not pruned, as it is)."""
    from kefu.kb.bulk import note_of_file

    return {"failure": problem_zh(result.error) if result.error else None,
            "rejected": [problem_zh(r) for r in result.rejected],
            "notes": [import_note_zh(note_of_file(n, result.file, places_only=True)) for n in result.notes]}


def _import_page(result, meta: dict, *, upload_id: str | None, dry_run: bool, error: str | None = None):
    """The page of an import's preview (`dry_run`) or result: the counts, its problems and,
    in a preview, the first IMPORT_DIFF_SHOWN changes with how many there are in all."""
    from kefu.kb.importers import SUFFIXES

    diff = result.diff if dry_run else []
    return render_template("console/import.html", suffixes=SUFFIXES, result=result, meta=meta,
                           upload_id=upload_id, diff=_diff_rows(diff[:IMPORT_DIFF_SHOWN]), diff_total=len(diff),
                           dry_run=dry_run, error=error, **_problems(result))


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
    name = _upload_name(upload.filename)
    meta = {"name": name, "options": _options_from_form(request.form), "user": author(),
            "uploaded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    upload_id = secrets.token_hex(16)
    folder = _uploads(workspace()) / upload_id
    _clean_uploads(workspace())
    folder.mkdir(parents=True)
    upload.save(folder / "upload")
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    options, read = _read_upload(folder, meta, dry_run=True)
    with locked() as ws:
        markers = _markers(ws)  # before the dry run: a change made during it is seen at confirm
        result = _run_import(ws, meta, options, read)
    if result.status == "failed":
        shutil.rmtree(folder, ignore_errors=True)  # nothing to confirm
        upload_id = None
    else:  # what the editor is shown, for the confirm to compare
        meta["preview"] = {"key": _preview_key(result), "markers": markers}
        (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return _import_page(result, meta, upload_id=upload_id, dry_run=True)


@bp.post("/import/confirm")
@requires("editor")
def import_confirm():
    upload_id = request.form.get("upload_id", "")
    with locked() as ws:
        folder = _upload_dir(ws, upload_id)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if request.form.get("cancel"):
            shutil.rmtree(folder, ignore_errors=True)
            flash(f"已取消导入 {meta['name']}")
            return redirect(url_for(".import_page"))
    options, read = _read_upload(folder, meta, dry_run=False)
    with locked() as ws:
        # A second confirm of the same upload (a double click, another editor) may have
        # imported it while this one was reading, in this worker process or another, which
        # `locked()` does not order: the upload is claimed by renaming its folder, which
        # only one request can do; the other finds it gone, as after an import.
        claimed = folder.with_name(f"{upload_id}{CLAIMED}")
        try:
            folder.rename(claimed)
        except FileNotFoundError:
            abort(404, "没有这个上传文件（可能已导入或已过期）")
        try:
            now = _preview_now(ws, meta, read)
            if now is None:
                result = _run_import(ws, meta, options, read)
            else:  # rendered before the new preview is kept: a confirm imports only one shown
                page = _import_page(now, meta, upload_id=None if now.status == "failed" else upload_id, dry_run=True,
                                    error="预览之后，知识库里相关的条目已被他人修改，没有导入；"
                                          "下面是按现在的内容重新生成的预览，请核对后再确认。")
        except BaseException:
            claimed.rename(folder)  # not imported: it can be confirmed again
            raise
        if now is not None:
            if now.status == "failed":  # a conflict come since: nothing to confirm
                shutil.rmtree(claimed, ignore_errors=True)
            else:  # the new preview is what a confirm imports now
                (claimed / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
                claimed.rename(folder)
            return page, 409
        shutil.rmtree(claimed, ignore_errors=True)
    return _import_page(result, meta, upload_id=None, dry_run=False)

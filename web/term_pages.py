"""Console page of the shop terms (jieba's user dictionary): list, add, remove.

What `kefu terms add/list/remove` do, for an editor without a shell: the same
`KnowledgeBase.add_terms`/`remove_terms`, so the same checks and the same rebuild of the
index (every row segmented anew, no re-embedding), done by the request that made the
change. Other worker processes load the rebuilt index and the new terms at their next
search (`KnowledgeBase.index`, `segmenter`).
"""

from __future__ import annotations

import re
import time

from flask import Blueprint, flash, redirect, render_template, request, url_for

from kefu.kb.errors import InvalidTerm
from kefu.kb.text import MAX_TERM, normalize

from .auth import CSRF_RETRY, requires
from .messages import reason_zh
from .state import author, locked

bp = Blueprint("terms", __name__, url_prefix="/console")

FILTER_FROM = 30  # terms from which the list has a filter box
# Between terms typed in the box: what separates arguments in a shell, and commas (a term
# cannot hold one: jieba splits text there).
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def split_terms(text: str) -> list[str]:
    """The terms typed in the box, each once, in the order typed."""
    return list(dict.fromkeys(w for w in _SEPARATORS.split(text) if w))


def _page(typed: str = "", error: str | None = None, status: int = 200):
    query = request.args.get("q", "").strip()
    with locked() as ws:
        rows = ws.kb().store.term_rows()
    total = len(rows)
    if query:  # as terms are stored: 運費 finds 运费险, ＡＢＣ finds abc牌
        key = normalize(query).text
        rows = [r for r in rows if key in r["word"]]
    return render_template("console/terms.html", rows=rows, total=total, query=query, typed=typed, error=error,
                           max_term=MAX_TERM, show_filter=bool(query) or total >= FILTER_FROM), status


@bp.get("/terms")
@requires("editor")
def terms():
    return _page()


def _term_error(exc: InvalidTerm, typed: int) -> str:
    """The CLI's refusal (kb/text.py normalize_term) in the page's words; `typed`: how many
    terms were typed (one refused, none is added)."""
    if not exc.term.strip():
        return "请输入要添加的词"
    return (f"没有添加：「{exc.term.strip()}」{reason_zh(exc.reason)}"
            + ("；其他词也都没有添加，改好后请再提交一次" if typed > 1 else ""))


def _index_news(kb, had_index: bool, seconds: float) -> str:
    """What the change did to the index, and what it cost: rebuilt now by this request
    (`KnowledgeBase._after_terms`), or built at the first search when there was none."""
    if not had_index:
        return "还没有建立索引：第一次搜索时会按新的词汇建立"
    if kb.index_error is not None:
        return (f"词汇已保存，但索引没能更新（{kb.index_error.reason}）："
                "下一次搜索时会先按新的词汇重建索引，那次搜索会慢一些")
    news = (f"已按新的词汇重新分词并重建索引（用时 {seconds:.1f} 秒，不需要重新计算向量），"
            "接下来的搜索和推荐都按新的分词")
    if kb.store.passage_count():
        news += "；文档段落的索引在下一次搜索时重新分词"
    return news


@bp.post("/terms/add")
@requires("editor")
def add():
    typed = request.form.get("terms", "")
    words = split_terms(typed) or [""]  # nothing typed: an empty term, refused as the CLI refuses it
    try:
        with locked() as ws:
            kb = ws.kb()
            had_index, start = kb.index_dir.pointer.exists(), time.monotonic()
            result = kb.add_terms(words, author=author())
            news = _index_news(kb, had_index, time.monotonic() - start) if result.added else "索引没有变化"
    except InvalidTerm as exc:
        return _page(typed, _term_error(exc, len(words)), 400)
    known = "，".join(f"「{t}」已在词汇中" + (f"（即「{w}」）" if w != t else "") for t, w in result.existing.items())
    if result.added:
        said = f"已添加 {len(result.added)} 个词：{'、'.join(result.added)}" + (f"；{known}" if known else "")
    else:
        said = f"没有添加新词：{known}"
    flash(f"{said}。{news}。")
    return redirect(url_for(".terms"))


@bp.post("/terms/remove")
@requires("editor")
def remove():
    word = request.form.get("term", "")
    try:
        with locked() as ws:
            kb = ws.kb()
            had_index, start = kb.index_dir.pointer.exists(), time.monotonic()
            removed = kb.remove_terms([word])
            news = _index_news(kb, had_index, time.monotonic() - start) if removed else ""
    except InvalidTerm:  # only an empty one: the list's buttons post stored terms
        return _page(error="没有删除：没有指明要删除的词", status=400)
    if removed:
        flash(f"已删除词「{word.strip()}」。{news}。")
    else:
        flash(f"「{word.strip()}」不在词汇中（可能刚被他人删除），没有改动。")
    return redirect(url_for(".terms", q=request.form.get("q") or None))


def _add_form_again(message: str):
    """After a failed CSRF check (the login ended or changed in another tab): the page with
    the terms as typed, nothing added, and a token of the current session."""
    return _page(request.form.get("terms", ""), message, 400)


CSRF_RETRY["terms.add"] = ("editor", _add_form_again)

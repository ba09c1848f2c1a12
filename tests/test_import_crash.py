"""A bulk import killed with SIGKILL at any point leaves every file imported whole or not at all.

A knowledge base holds version 1 of four files (two XLSX and one JSONL of FAQ rows, one
DOCX manual) with both indexes built. A child process (import_crash_child.py) imports
version 2 of the same folder with on_conflict="update" -- rows changed, rows added,
passages changed/added -- and is killed at the N-th call of a chosen point: while
embedding, inside a file's write transaction (between rows, between passages), while
committing vectors, and while the indexes are refreshed at the end.

After each kill, in this process:
  * each file's entries (content, version, source) and the document's passages are
    exactly version 1's or exactly version 2's;
  * the live entry and passage indexes load from disk and answer a search;
  * running the same import again finishes it, and the store then equals that of an
    uninterrupted run (entries by id/question with content and version, passages);
  * a third run reports every row and passage unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from kefu.kb.base import KnowledgeBase
from kefu.kb.bulk import BulkImporter, ImportOptions, source_key, walk
from kefu.kb.index import Index
from kefu.suggest.retrieve import Retriever

CHILD = Path(__file__).parent / "import_crash_child.py"
ROWS = 50  # per FAQ file in version 2; version 1 has the first 40

PRODUCTS = ["纯棉四件套", "羽绒被", "乳胶枕", "蚕丝被", "记忆棉床垫", "毛巾浴巾套装", "夏凉席", "儿童睡袋",
            "法兰绒毯子", "羊毛被"]
ASPECTS = ["怎么清洗", "多久发货", "有几种颜色", "能不能退换", "保修多久", "适合什么季节", "尺寸是多少",
           "有没有赠品", "是什么材质", "怎么开发票"]
FILES = {  # name -> (id prefix or None for question-keyed rows, question prefix)
    "a.xlsx": ("a", "【店铺】"),
    "b.jsonl": ("b", "【旗舰店】"),
    "c.xlsx": (None, "【直播间】"),
}
DOCX = "d.docx"


def faq_rows(name: str, version: int) -> list[dict]:
    """Version 2: rows 20-29 change their answer, 30-39 a similar question, 40-49 are new."""
    prefix, qprefix = FILES[name]
    rows = []
    for i in range(ROWS if version == 2 else 40):
        product, aspect = PRODUCTS[i % 10], ASPECTS[i // 10 % 10]
        similar = [f"请问{product}{aspect}", f"{product}{aspect}呀"]
        if version == 2 and 30 <= i < 40:
            similar[1] = f"想了解一下{product}{aspect}"
        answer = f"关于{product}{aspect}：请参考详情页说明（第{i}条）。"
        if version == 2 and 20 <= i < 30:
            answer = f"关于{product}{aspect}：规则已更新，以客服答复为准（第{i}条）。"
        row = {"question": f"{qprefix}{product}{aspect}？", "similar": similar, "answer": answer,
               "category": ["售前", "售中", "售后"][i % 3]}
        if prefix:
            row["id"] = f"{prefix}-{i:03d}"
        rows.append(row)
    return rows


def write_xlsx(path: Path, rows: list[dict], with_ids: bool) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "知识库"
    if with_ids:
        sheet.append(["编号", "标准问题", "相似问法", "答案", "分类"])
        for r in rows:
            sheet.append([r["id"], r["question"], "\n".join(r["similar"]), r["answer"], r["category"]])
    else:
        sheet.append(["问题", "扩展问法", "回复", "类目"])
        for r in rows:
            sheet.append([r["question"], "\n".join(r["similar"]), r["answer"], r["category"]])
    book.save(path)


def manual(version: int) -> list[tuple[str, list[str]]]:
    """Sections of the DOCX manual; version 2 rewrites one section and adds two."""
    sections = [(f"第{n}章 {PRODUCTS[n]}使用说明",
                 [f"{PRODUCTS[n]}首次使用前请阅读本章。本产品出厂前经过严格检验，请放心使用。",
                  f"{PRODUCTS[n]}如有质量问题，签收后30天内可联系客服免费更换。"]) for n in range(6)]
    if version == 2:
        sections[2] = (sections[2][0], [f"{PRODUCTS[2]}的保养方法已更新：请每季度晾晒一次，避免阳光直射。"])
        sections += [(f"第{n}章 {PRODUCTS[n]}使用说明", [f"{PRODUCTS[n]}为新品，详细说明见吊牌。"])
                     for n in (6, 7)]
    return sections


def write_docx(path: Path, version: int) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading("床品使用手册", level=1)
    for title, paragraphs in manual(version):
        doc.add_heading(title, level=2)
        for text in paragraphs:
            doc.add_paragraph(text)
    doc.save(path)


def write_version(folder: Path, version: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (prefix, _) in FILES.items():
        rows = faq_rows(name, version)
        if name.endswith(".xlsx"):
            write_xlsx(folder / name, rows, with_ids=prefix is not None)
        else:
            (folder / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")
    write_docx(folder / DOCX, version)


# ---------------------------------------------------------------------------------------------
# What the store holds, per input file

def file_state(kb: KnowledgeBase, folder: Path) -> dict[str, object]:
    """Per file: its entries (key -> content, version, history versions, source) or its passages."""
    db = kb.store.db
    sources = dict(db.execute("select entry_id, source from entry_sources").fetchall())
    state: dict[str, object] = {}
    entries = kb.store.entries()
    for name, (prefix, qprefix) in FILES.items():
        mine = [e for e in entries if (e.id.startswith(f"{prefix}-") if prefix else e.question.startswith(qprefix))]
        rows = {}
        for e in mine:
            versions = [v for (v,) in db.execute("select version from history where entry_id = ? order by version",
                                                 [e.id])]
            rows[e.id if prefix else e.question] = (json.dumps(e.content(), ensure_ascii=False, sort_keys=True),
                                                   e.version, tuple(versions), sources.get(e.id))
        state[name] = rows
    key = source_key(folder / DOCX)
    state[DOCX] = [(p["position"], p["section"], p["page"], p["text"]) for p in kb.store.passages()
                   if p["source"] == key]
    state["*entries"] = len(entries)
    state["*passages"] = len(kb.store.passages())
    return state


def open_kb(home: Path) -> KnowledgeBase:
    return KnowledgeBase(home, [FakeEmbedder()])


def run_child(home: Path, folder: Path, point: str, nth: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHILD), str(home), str(folder), point, str(nth)],
                          capture_output=True, text=True, timeout=120)


def scratch_root(tmp_path_factory) -> Path:
    """A folder in memory where there is one: the runs sync SQLite and index files, which
    on a busy disk takes longer than the work (a SIGKILL, unlike a power cut, loses
    nothing the OS already holds, so this changes nothing the test checks)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="kefu-import-crash-", dir=shm))
    return tmp_path_factory.mktemp("import-crash")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Version 1 imported (indexes built) as a template home; version 2 in the input folder;
    the store of an uninterrupted version-2 import, and the call counts of that run."""
    root = scratch_root(tmp_path_factory)
    folder = root / "in"
    write_version(folder, 1)
    template = root / "template"
    kb = open_kb(template)  # real jieba here: it leaves its dictionary cache for the children
    try:
        results = BulkImporter(kb, ImportOptions(on_conflict="update")).run(list(walk([folder])))
        assert [r.status for r in results] == ["imported"] * 4, [r.error for r in results]
        kb.index()
        kb.passage_index()
        before = file_state(kb, folder)
    finally:
        kb.close()
    write_version(folder, 2)
    reference = root / "reference"
    shutil.copytree(template, reference)
    proc = run_child(reference, folder, "none", 0)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failed"] == [], report
    kb = open_kb(reference)
    try:
        after = file_state(kb, folder)
    finally:
        kb.close()
    for name in FILES:  # version 2 really differs from version 1 in every file
        assert before[name] != after[name] and len(after[name]) == ROWS and len(before[name]) == 40
    assert before[DOCX] != after[DOCX] and len(after[DOCX]) > len(before[DOCX])
    yield {"root": root, "folder": folder, "template": template, "before": before, "after": after,
           "calls": report["calls"]}
    if root.parent == Path("/dev/shm"):
        shutil.rmtree(root, ignore_errors=True)


# (point, nth): where the child dies. Counts come from the uninterrupted run (see the
# test below); "@write" counts only calls inside a real (not dry-run) store transaction.
KILLS = [  # (point, nth, how many of the four files are imported when it dies)
    ("encode", 1, 0),                  # embedding the first file's new text: nothing written yet
    ("encode", 3, 2),                  # embedding the third file's text: two files committed
    ("save_vectors", 2, 1),            # committing the second file's vectors to the cache
    ("add", 3, 0),                     # inside the first file's dry run
    ("add@write", 5, 0),               # the first file's write transaction, after 20 updates and 4 adds
    ("update@write", 30, 1),           # the second file's write transaction, halfway through its updates
    ("add@write", 25, 2),              # the third file's write transaction (question-keyed rows)
    ("replace_passages@write", 1, 3),  # the document's write transaction, before its passages
    ("passage_write@write", 2, 3),     # the document's write transaction, between passage rows
    ("embed_documents", 5, 4),         # the final refresh, embedding for the entry index
    ("index_save", 1, 4),              # refreshing the entry index in place
    ("write_json", 2, 4),              # ... just before its new meta.json is written
    ("publish", 1, 4),                 # switching to the rebuilt passage index
]


def test_uninterrupted_run_reaches_every_kill_point(scenario):
    calls = scenario["calls"]
    for point, nth, _ in KILLS:
        assert calls.get(point, 0) >= nth, (point, nth, calls)
    # the planned N land where the comments say
    assert calls["encode"] == 4 and calls["add@write"] == 30 and calls["update@write"] == 60
    assert calls["passage_write@write"] == 3  # one section rewritten, two added
    assert calls["embed_documents"] == 6  # one per file, then the two indexes' refresh
    assert calls["index_save"] == 2 and calls["publish"] == 1


def _check_indexes_serve(kb: KnowledgeBase) -> None:
    """The live index folders on disk load as they are and answer a search."""
    query = FakeEmbedder().encode_queries(["羽绒被怎么清洗"])[0]
    for index_dir in (kb.index_dir, kb.passage_dir):
        folder = index_dir.current()
        assert folder is not None, index_dir.root
        index = Index.load(folder, kb.models)
        scores, ids = index.dense_search("fake", query, 5)
        assert len(ids) > 0 and np.all(np.isfinite(scores))
        assert len(index.lexical_search(["羽绒被"])[1]) > 0
    hit = Retriever(kb).search("【店铺】羽绒被怎么清洗？").hits[0]
    assert hit.entry_id == "a-001", hit


@pytest.mark.parametrize("point,nth,imported", KILLS, ids=[f"{p}-{n}" for p, n, _ in KILLS])
def test_killed_import_is_all_or_nothing_per_file(scenario, fast_jieba, point, nth, imported):
    home = scenario["root"] / f"home-{point}-{nth}"
    shutil.copytree(scenario["template"], home)
    folder, before, after = scenario["folder"], scenario["before"], scenario["after"]
    proc = run_child(home, folder, point, nth)
    assert proc.returncode == -9, f"not killed at {point} #{nth}: rc={proc.returncode}\n{proc.stderr[-2000:]}"

    kb = open_kb(home)
    try:
        state = file_state(kb, folder)
        done = []
        for name in [*FILES, DOCX]:
            assert state[name] in (before[name], after[name]), f"{name} is half imported after a kill at {point} #{nth}"
            done.append(state[name] == after[name])
        assert state["*entries"] == sum(len(state[n]) for n in FILES)  # nothing outside the files
        assert state["*passages"] == len(state[DOCX])
        # files go in order, and the kill landed where planned
        assert done == [True] * imported + [False] * (4 - imported), done
        _check_indexes_serve(kb)

        results = BulkImporter(kb, ImportOptions(on_conflict="update")).run(list(walk([folder])))
        assert [r.status for r in results] == ["imported"] * 4, [r.error for r in results]
        state = file_state(kb, folder)
        for name in [*FILES, DOCX]:
            assert state[name] == after[name], f"{name} differs from an uninterrupted import"
        assert state["*entries"] == after["*entries"] and state["*passages"] == after["*passages"]
        assert kb.index().content_hash == kb.store.published_hash()
        assert kb.passage_index().content_hash == kb.store.passages_hash()
        _check_indexes_serve(kb)

        again = BulkImporter(kb, ImportOptions(on_conflict="update")).run(list(walk([folder])))
        for r in again:
            assert r.status == "imported" and r.added == r.updated == r.pruned == 0, r
            assert r.unchanged == r.rows, r
            assert not any(r.passages.get(k) for k in ("added", "updated", "removed")), r
        assert file_state(kb, folder) == state
    finally:
        kb.close()

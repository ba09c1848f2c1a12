"""Reading and writing entry files: JSONL and CSV, errors that name file, line and field."""

from __future__ import annotations

import csv
import io
import json

import pytest

from kefu.kb.entry import Entry
from kefu.kb.errors import ImportFileError
from kefu.kb.importers import load
from kefu.kb.io import read_entries, write_entries


def _jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


# -- JSONL ------------------------------------------------------------------------------------

def test_read_jsonl(tmp_path):
    p = tmp_path / "faq.jsonl"
    _jsonl(p, [
        {"id": "e1", "question": " 运费怎么算 ", "answer": "满99包邮", "similar": ["邮费多少", "包邮吗"],
         "tags": ["物流"], "status": "draft", "valid_to": "2030-01-01"},
        {"question": "怎么退货", "answer": "七天无理由", "comment": "ignored extra key"},
    ])
    rows = read_entries(p)
    assert len(rows) == 2
    assert rows[0]["id"] == "e1"
    assert rows[0]["question"] == "运费怎么算"
    assert rows[0]["similar"] == ["邮费多少", "包邮吗"]
    assert rows[0]["tags"] == ["物流"]
    assert rows[0]["status"] == "draft"
    assert rows[0]["valid_to"] == "2030-01-01"
    assert "id" not in rows[1]
    assert rows[1]["question"] == "怎么退货"
    assert "comment" not in rows[1]


def test_read_jsonl_skips_blank_lines_and_reads_bom_and_crlf(tmp_path):
    p = tmp_path / "faq.jsonl"
    body = '{"id": "e1", "question": "q1", "answer": "a1"}\r\n\r\n{"id": "e2", "question": "q2", "answer": "a2"}\r\n'
    p.write_bytes("\ufeff".encode() + body.encode())
    assert [r["id"] for r in read_entries(p)] == ["e1", "e2"]


def test_malformed_json_line_names_file_and_line(tmp_path):
    p = tmp_path / "faq.jsonl"
    p.write_text('{"id": "e1", "question": "q1", "answer": "a1"}\n'
                 '\n'
                 '{"id": "e2", "question": "q2", "answer": "a2"\n', encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    err = info.value
    assert err.line == 3
    assert err.path == str(p)
    assert str(p) in str(err)
    assert "line 3" in str(err)


def test_json_line_that_is_not_an_object(tmp_path):
    p = tmp_path / "faq.jsonl"
    p.write_text('{"id": "e1", "question": "q1", "answer": "a1"}\n["q2", "a2"]\n', encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    assert info.value.line == 2


def test_jsonl_missing_answer_names_field_and_line(tmp_path):
    p = tmp_path / "faq.jsonl"
    _jsonl(p, [{"id": "e1", "question": "q1", "answer": "a1"}, {"id": "e2", "question": "q2"}])
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    err = info.value
    assert err.field == "answer"
    assert err.line == 2
    assert "'answer'" in str(err) and "line 2" in str(err) and str(p) in str(err)


def test_jsonl_bad_status_names_field_and_line(tmp_path):
    p = tmp_path / "faq.jsonl"
    _jsonl(p, [{"id": "e1", "question": "q1", "answer": "a1", "status": "live"}])
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    assert (info.value.field, info.value.line) == ("status", 1)


def test_jsonl_duplicate_id_names_the_second_line(tmp_path):
    p = tmp_path / "faq.jsonl"
    _jsonl(p, [{"id": "e1", "question": "q1", "answer": "a1"},
               {"id": "e2", "question": "q2", "answer": "a2"},
               {"id": "e1", "question": "q3", "answer": "a3"}])
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    err = info.value
    assert err.line == 3
    assert err.field == "id"
    assert "line 1" in err.reason  # points back at the first occurrence


def test_jsonl_duplicate_question_without_id(tmp_path):
    p = tmp_path / "faq.jsonl"
    _jsonl(p, [{"question": "q1", "answer": "a1"}, {"question": "q1", "answer": "a2"}])
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    assert (info.value.line, info.value.field) == (2, "question")


def test_unsupported_suffix(tmp_path):
    p = tmp_path / "faq.xlsx"
    p.write_bytes(b"x")
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    assert info.value.path == str(p)


# -- CSV ----------------------------------------------------------------------------------------

def test_read_csv_with_quoted_commas(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_text('id,question,answer,category\n'
                 'e1,运费怎么算,"满99元包邮, 不满收10元, 偏远地区除外",售前\n'
                 'e2,"退货, 换货怎么弄","订单页, 申请售后",\n', encoding="utf-8")
    rows = read_entries(p)
    assert rows[0] == {"id": "e1", "question": "运费怎么算", "answer": "满99元包邮, 不满收10元, 偏远地区除外",
                       "category": "售前"}
    assert rows[1]["question"] == "退货, 换货怎么弄"
    assert rows[1]["answer"] == "订单页, 申请售后"
    assert "category" not in rows[1]  # empty cell = not given


def test_read_csv_splits_similar_by_newline_pipe_and_fullwidth_semicolon(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_text('id,question,similar,answer,tags\n'
                 'e1,运费怎么算,"邮费多少\n包邮吗\n要运费吗",满99包邮,物流|运费\n'
                 'e2,怎么退货,退货流程|咋退；能退吗,订单页申请,退货；售后\n', encoding="utf-8")
    rows = read_entries(p)
    assert rows[0]["similar"] == ["邮费多少", "包邮吗", "要运费吗"]
    assert rows[0]["tags"] == ["物流", "运费"]
    assert rows[1]["similar"] == ["退货流程", "咋退", "能退吗"]
    assert rows[1]["tags"] == ["退货", "售后"]


def test_read_csv_multiline_cell_splits_on_lines_only(tmp_path):
    # One item per line, so an item may itself contain | or ；.
    p = tmp_path / "faq.csv"
    p.write_text('id,question,similar,answer\n'
                 'e1,运费怎么算,"要开发票；纸质的可以吗\n包邮吗|运费谁出",满99包邮\n', encoding="utf-8")
    [row] = read_entries(p)
    assert row["similar"] == ["要开发票；纸质的可以吗", "包邮吗|运费谁出"]


def test_csv_line_numbers_count_multiline_cells(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_text('id,question,similar,answer\n'
                 'e1,q1,"s1\ns2\ns3",a1\n'   # lines 2-4
                 'e2,q2,,\n', encoding="utf-8")  # line 5: no answer
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    assert info.value.line == 5
    assert info.value.field == "answer"


def test_csv_missing_answer_names_field_and_line(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_text("id,question,answer\ne1,q1,a1\ne2,q2,\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    err = info.value
    assert (err.field, err.line, err.path) == ("answer", 3, str(p))
    assert "'answer'" in str(err) and "line 3" in str(err)


def test_csv_without_answer_column(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_text("id,question\ne1,q1\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    assert (info.value.field, info.value.line) == ("answer", 2)


def test_csv_duplicate_id_names_the_second_line(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_text("id,question,answer\ne1,q1,a1\ne2,q2,a2\n\ne1,q3,a3\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    assert info.value.line == 5
    assert info.value.field == "id"
    assert "line 2" in info.value.reason


def test_csv_unknown_column_is_reported_and_the_rest_imported(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_text("id,question,answer,remark\ne1,q1,a1,x\n", encoding="utf-8")
    assert read_entries(p) == [{"id": "e1", "question": "q1", "answer": "a1"}]
    loaded = load(p)
    assert len(loaded.notes) == 1
    assert "line 1" in loaded.notes[0] and "'remark'" in loaded.notes[0] and "not imported" in loaded.notes[0]


def test_csv_wrong_number_of_cells(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_text("id,question,answer\ne1,q1,a1\ne2,q2,a2,extra\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        read_entries(p)
    assert info.value.line == 3


def test_tsv(tmp_path):
    p = tmp_path / "faq.tsv"
    p.write_text("id\tquestion\tanswer\ne1\t运费, 怎么算\t满99包邮\n", encoding="utf-8")
    assert read_entries(p) == [{"id": "e1", "question": "运费, 怎么算", "answer": "满99包邮"}]


# -- encodings ------------------------------------------------------------------------------------

def test_gbk_file_is_detected_without_encoding(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_bytes("id,question,answer\ne1,运费怎么算,满99包邮\n".encode("gbk"))
    assert read_entries(p) == [{"id": "e1", "question": "运费怎么算", "answer": "满99包邮"}]


def test_wrong_encoding_given_is_an_error_naming_line_and_encodings(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_bytes("id,question,answer\ne1,运费怎么算,满99包邮\n".encode("gbk"))
    with pytest.raises(ImportFileError) as info:
        read_entries(p, encoding="utf-8")
    err = info.value
    assert err.path == str(p)
    assert err.line == 2  # the first non-UTF-8 byte is on line 2
    msg = str(err).lower()
    assert "utf-8" in msg
    assert "gb18030" in msg


def test_gbk_file_with_gb18030_encoding_reads(tmp_path):
    p = tmp_path / "faq.csv"
    p.write_bytes("id,question,similar,answer\ne1,运费怎么算,邮费多少；包邮吗,满99包邮\n".encode("gbk"))
    assert read_entries(p, encoding="gb18030") == [
        {"id": "e1", "question": "运费怎么算", "similar": ["邮费多少", "包邮吗"], "answer": "满99包邮"}]


def test_unknown_encoding_name(tmp_path):
    p = tmp_path / "faq.jsonl"
    p.write_text('{"question": "q", "answer": "a"}\n', encoding="utf-8")
    with pytest.raises(ImportFileError) as info:
        read_entries(p, encoding="no-such-codec")
    assert "no-such-codec" in str(info.value)


# -- write then read back ---------------------------------------------------------------------------

ENTRIES = [
    Entry(id="e1", question="运费怎么算", answer='满99元包邮, 不满收"10元"运费。\n偏远地区除外。',
          similar=["邮费多少", "包邮吗"], category="售前", tags=["物流", "运费"],
          valid_from="2024-01-01", valid_to="2030-12-31T18:00:00"),
    Entry(id="e2", question="怎么申请退货", answer="订单页点申请售后。", status="draft"),
    Entry(id="e3", question="能开发票吗", answer="可以，下单时填写抬头", similar=["发票, 怎么开"],
          status="archived", tags=["发票"]),
]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_write_then_read_gives_back_the_same_content(tmp_path, fmt):
    p = tmp_path / f"out.{fmt}"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        assert write_entries(ENTRIES, fmt, fh) == len(ENTRIES)
    rows = read_entries(p)
    assert [r["id"] for r in rows] == [e.id for e in ENTRIES]
    for row, original in zip(rows, ENTRIES):
        back = Entry(**row)
        assert back.content() == original.content()


def test_csv_export_writes_formula_like_cells_as_text_and_reads_them_back(tmp_path):
    """Cells such as =HYPERLINK(...) or +cmd were written as they are: Excel opening the
    export ran them as formulas (CSV injection)."""
    entries = [Entry(id="-1", question="@客服在吗", answer="=HYPERLINK(\"http://x\",\"点我\")\n第二行",
                     similar=["+86的手机号能用吗", "-号是什么意思"], category="=分类", tags=["+cmd", "@x"]),
               Entry(id="e2", question="普通问题", answer="a=b, -1 不在开头")]
    p = tmp_path / "out.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        write_entries(entries, "csv", fh)
    cells = [c for row in csv.reader(p.open(encoding="utf-8")) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'=HYPERLINK(\"http://x\",\"点我\")\n第二行" in cells and "a=b, -1 不在开头" in cells
    assert [Entry(**row).content() for row in read_entries(p)] == [e.content() for e in entries]


def test_csv_round_trip_keeps_an_apostrophe_before_a_formula_character(tmp_path):
    """Reading takes the apostrophe off '=SUM(A1), so a text that itself begins with one
    ('-_-' 好的, a kaomoji) lost it on export and import back; it is written doubled."""
    e = Entry(id="e1", question="'@客服在吗", answer="'-_-' 好的亲", similar=["'+1能用吗"], tags=["'=x"])
    p = tmp_path / "out.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        write_entries([e], "csv", fh)
    assert "''-_-' 好的亲" in [c for row in csv.reader(p.open(encoding="utf-8")) for c in row]
    assert [Entry(**row).content() for row in read_entries(p)] == [e.content()]


def test_csv_round_trip_keeps_similar_question_with_fullwidth_semicolon(tmp_path):
    """A '；' inside one similar question is ordinary Chinese punctuation, not a separator."""
    e = Entry(id="e1", question="能开发票吗", answer="可以", similar=["要开发票；纸质的可以吗", "发票|收据"])
    p = tmp_path / "out.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        write_entries([e], "csv", fh)
    [row] = read_entries(p)
    assert row["similar"] == e.similar


def test_write_unknown_format():
    with pytest.raises(ValueError):
        write_entries(ENTRIES, "xml", io.StringIO())


@pytest.mark.parametrize("name,value,reason", [
    ("question", ["问题"], "expected a string, got a list"),
    ("answer", 5, "expected a string, got the number 5"),
    ("category", {"a": 1}, "expected a string, got an object"),
    ("status", True, "expected a string, got true/false"),
    ("tags", 5, "expected a string or a list of strings, got the number 5"),
    ("similar", ["x", 3], "expected a string or a list of strings, got a list holding the number 3"),
    ("id", 1.5, "expected a string, got the number 1.5"),
])
def test_json_values_of_the_wrong_type_are_named(name, value, reason):
    from kefu.kb.entry import json_type_problem

    assert json_type_problem(name, value) == reason


@pytest.mark.parametrize("name,value", [("question", "问题"), ("similar", ["a", "b"]), ("tags", "a|b"),
                                        ("id", 1001), ("valid_to", None), ("category", "")])
def test_json_values_of_the_right_type_pass(name, value):
    from kefu.kb.entry import json_type_problem

    assert json_type_problem(name, value) is None


@pytest.fixture
def default_csv_limit():
    """The csv module's default field limit, whatever an earlier test raised it to."""
    import csv

    before = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(before)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_an_answer_longer_than_the_csv_modules_default_limit_reads_back(tmp_path, default_csv_limit, fmt):
    from kefu.kb.errors import ImportFileError

    # The cell is read whole, past the csv module's limit: then refused as over the
    # 100,000 characters an entry field may hold, not failed as a CSV error.
    long, at_limit = (Entry(id="long", question="产品说明书全文", answer="说明" * 100_000 + "完"),
                      Entry(id="long", question="产品说明书全文", answer="说明" * 50_000))
    for e in (long, at_limit):
        p = tmp_path / f"out.{fmt}"
        with open(p, "w", encoding="utf-8", newline="") as fh:
            write_entries([e], "csv", fh)
        if fmt == "tsv":
            p.write_text(p.read_text(encoding="utf-8").replace(",", "\t"), encoding="utf-8")
        if e is long:
            with pytest.raises(ImportFileError, match="field 'answer': has 200001 characters; the limit is 100000"):
                read_entries(p)
        else:
            [row] = read_entries(p)
            assert row["answer"] == e.answer


@pytest.mark.parametrize("field", ["answer", "similar", "question"])
def test_xlsx_refuses_a_cell_longer_than_excel_holds_naming_entry_and_field(field):
    from kefu.kb.errors import ExportError

    long = {"answer": {"answer": "长" * 32_768}, "similar": {"similar": ["问" * 20_000, "问" * 20_000]},
            "question": {"question": "问" * 40_000}}[field]
    entries = [ENTRIES[0], Entry(**{"id": "k042", "question": "q", "answer": "a", **long})]
    out = io.BytesIO()
    with pytest.raises(ExportError) as info:
        write_entries(entries, "xlsx", out)
    assert (info.value.entry_id, info.value.field) == ("k042", field)
    assert "'k042'" in str(info.value) and "32,767" in str(info.value) and "csv or jsonl" in str(info.value)
    assert out.getvalue() == b""  # nothing cut, nothing written
    fits = Entry(id="k043", question="q", answer="长" * 32_767)
    write_entries([fits], "xlsx", out)
    from openpyxl import load_workbook

    assert load_workbook(out).active["D2"].value == fits.answer


def test_xlsx_export_reads_the_sheets_size_once_not_once_a_row(monkeypatch):
    """Marking each row's cells as text looked the row up by the sheet's size, which openpyxl
    finds by scanning every cell written so far: an export took time by the square of the
    entries (8,000 took 37 s, the CSV 0.8 s). The cells are still all text cells."""
    from openpyxl import load_workbook
    from openpyxl.worksheet.worksheet import Worksheet

    scans = []
    for name in ("max_row", "max_column"):
        size = getattr(Worksheet, name)
        monkeypatch.setattr(Worksheet, name, property(lambda self, size=size: scans.append(1) or size.fget(self)))
    entries = [Entry(id=f"k{i:03d}", question=f"问题{i}", answer="2030-01-01", valid_to="2030-01-01")
               for i in range(200)]
    out = io.BytesIO()
    assert write_entries(entries, "xlsx", out) == 200
    assert len(scans) < 20  # a few when saving; 400 before, two each row
    sheet = load_workbook(out).active
    assert sheet.max_row == 201
    assert {c.data_type for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None} == {"s"}
    assert sheet["D201"].value == "2030-01-01" and sheet["A201"].value == "k199"


def test_xlsx_export_shows_an_answer_of_several_lines_as_lines(tmp_path):
    """Excel shows a cell's line breaks only when it wraps: an exported answer of steps read
    as one run-on line ("退货流程：1. 打开订单2. 申请售后"), and the editor fixing it in Excel
    could not see where its lines were. Such cells wrap; the text, and its re-import, are
    unchanged."""
    from openpyxl import load_workbook

    answer = "退货流程：\n1. 打开「我的订单」\n\n2. 申请售后"
    entries = [Entry(id="k1", question="怎么退货", answer=answer, similar=["退货流程", "如何退货"]),
               Entry(id="k2", question="运费多少", answer="满59元包邮")]
    path = tmp_path / "kb.xlsx"
    with open(path, "wb") as out:
        write_entries(entries, "xlsx", out)
    sheet = load_workbook(path).active
    assert sheet["D2"].value == answer and sheet["D2"].alignment.wrap_text
    assert sheet["C2"].alignment.wrap_text  # similar questions: one a line
    assert not sheet["D3"].alignment.wrap_text
    assert [r.data["answer"] for r in load(path).rows] == [answer, "满59元包邮"]


def test_an_xlsx_that_cannot_be_written_leaves_the_process_wide_hooks_to_the_caller(monkeypatch):
    """write_entries swapped sys.unraisablehook and ran gc.collect() itself to quiet
    openpyxl's half-written parts: process-wide state, which kb/ leaves to the edge (the
    CLI), as a server's other threads' unraisable errors were silenced meanwhile."""
    import gc
    import sys

    from lxml.etree import SerialisationError
    from openpyxl import Workbook

    collected = []
    monkeypatch.setattr(gc, "collect", lambda *args: collected.append(args) or 0)
    monkeypatch.setattr(Workbook, "save", lambda self, out: (_ for _ in ()).throw(SerialisationError("IO_ENOSPC")))
    hook = sys.unraisablehook
    with pytest.raises(OSError, match="openpyxl could not write its temporary files"):
        write_entries(ENTRIES, "xlsx", io.BytesIO())
    assert collected == [] and sys.unraisablehook is hook

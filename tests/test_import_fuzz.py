"""Seeded corruption of valid import files: every file imports cleanly or fails cleanly.

One valid file is generated per format (Chinese FAQ rows or a Chinese product manual),
then each case corrupts its bytes with `random.Random(seed)`: flipped, inserted and
deleted bytes, truncation, duplicated and swapped spans, NUL/control bytes, unbalanced
quotes, part of the text re-encoded as GBK/Big5, format-aware tokens, and for the zip
formats (XLSX/DOCX) a mangled, truncated or missing member inside the archive.

For every case:
  * `load(path)` returns or raises ImportFileError, nothing else;
  * `BulkImporter(kb).import_file(path)` never raises: either status "imported" and
    the store holds only valid entries/passages (and exactly what `load` read), or
    status "failed" with an error naming the file and the store dump unchanged.

Each format has one KnowledgeBase in which the valid file was imported first (so a
corrupted row can collide with a stored entry); a successful import is undone by
restoring a copy of that baseline database. 60% of the cases use the default options,
the rest vary on_conflict and skip_bad_rows. Reproduce one case with
`case_bytes(fmt, seed)` and `case_options(seed)` (a failure message lists format and seed).

The library bugs these cases found are fixed; each keeps a deterministic regression
test (test_bug_*), and classify_known() still names them in the per-format summary
(pytest -s). Any exception fails the format's test (KEFU_FUZZ_STRICT=0 would only
count the known ones instead). Also here: a Hypothesis property for CSV/TSV written by csv.writer.

KEFU_FUZZ_CASES overrides the number of cases per format (default 300).
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import sqlite3
import time
import traceback
import zipfile
from collections import Counter
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from kefu.kb.base import KnowledgeBase
from kefu.kb.bulk import BulkImporter, ImportOptions, source_key
from kefu.kb.entry import STATUSES, Entry, has_words
from kefu.kb.errors import ImportFileError
from kefu.kb.importers import load
from kefu.kb.store import Store, passage_id, text_hash

CASES = int(os.environ.get("KEFU_FUZZ_CASES", "300"))
FORMATS = ["csv", "tsv", "xlsx", "json", "jsonl", "md", "docx", "pdf", "html", "txt"]
DOCUMENT_FORMATS = {"docx", "pdf", "html", "txt"}
MAX_CHARS = 400  # load()'s default passage size

# ---------------------------------------------------------------------------------------------
# Valid files

FAQ = [
    {"id": "ship-fee", "question": "运费怎么算？", "similar": ["邮费多少钱", "包邮吗"],
     "answer": "全场满99元包邮，不满99元收取10元运费；新疆、西藏等偏远地区另加15元。",
     "category": "售前", "tags": ["物流", "运费"]},
    {"id": "ship-time", "question": "下单后多久发货？", "similar": ["什么时候发货", "几天能发出"],
     "answer": "{客户称呼||亲}，付款后48小时内发货，预售商品以详情页时间为准。",
     "category": "售前", "tags": ["物流"]},
    {"id": "return", "question": "怎么申请退货？", "similar": ["我要退货", "不想要了可以退吗"],
     "answer": "在订单详情页点\"申请售后\"，选择\"退货退款\"并填写原因，审核通过后按地址寄回。",
     "category": "售后", "tags": ["退货"]},
    {"id": "refund-time", "question": "退款多久到账？", "similar": ["钱什么时候退回来"],
     "answer": "仓库签收退货后1-3个工作日退款，原路返回；信用卡可能需要3-7天。",
     "category": "售后", "tags": ["退款"]},
    {"id": "invoice", "question": "能开发票吗？", "similar": ["发票怎么开", "要增值税专票"],
     "answer": "可以开电子普通发票，下单时在备注填写抬头和税号；专票请联系客服。",
     "category": "售中", "tags": ["发票"]},
    {"id": "size", "question": "尺码怎么选？", "similar": ["我170穿多大", "偏大还是偏小"],
     "answer": "按详情页尺码表选择，身高170、体重60公斤左右建议选M码，介于两码之间选大一码。",
     "category": "售前", "tags": ["尺码"]},
    {"id": "password", "question": "忘记密码怎么办？", "similar": ["登录不上", "密码找回"],
     "answer": "在登录页点\"忘记密码\"，用绑定的手机号接收验证码后重置。",
     "category": "账户", "tags": []},
    {"id": "promo-618", "question": "618活动什么时候开始？", "similar": ["618有优惠吗"],
     "answer": "6月1日0点开始，跨店每满300减50，可与店铺券叠加。",
     "category": "售前", "tags": ["活动"], "valid_from": "2024-05-25", "valid_to": "2024-06-20"},
    {"id": "wash", "question": "衣服怎么洗？", "similar": ["可以机洗吗"],
     "answer": "建议冷水手洗，不可漂白，阴凉处晾干。\n深色衣物请单独洗涤。",
     "category": "售后", "tags": ["洗涤", "保养"]},
    {"question": "可以修改收货地址吗？", "similar": ["地址填错了"],
     "answer": "未发货前可在订单页修改地址；已发货请联系快递改派。", "category": "售中", "tags": ["物流"]},
    {"question": "支持货到付款吗？", "similar": ["能到付吗"],
     "answer": "暂不支持货到付款，可用支付宝、微信或花呗分期。", "category": "售前", "tags": []},
    {"question": "商品有质量问题怎么办？", "similar": ["收到的东西坏了", "有破损"],
     "answer": "签收7天内拍照联系客服，质量问题我们承担来回运费，换新或退款任选。",
     "category": "投诉", "tags": ["售后", "质量"], "status": "draft"},
]

CSV_HEADER = ["编号", "标准问题", "相似问法", "答案", "分类", "标签", "状态", "生效时间", "失效时间"]


def _csv_cells(item: dict, i: int) -> list[str]:
    similar = "\n".join(item["similar"]) if i % 2 else "|".join(item["similar"])
    status = {"draft": "草稿"}.get(item.get("status", ""), "已发布")
    return [item.get("id", ""), item["question"], similar, item["answer"], item["category"],
            "；".join(item["tags"]), status, item.get("valid_from", ""), item.get("valid_to", "")]


def make_csv(delimiter: str, encoding: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow(CSV_HEADER)
    for i, item in enumerate(FAQ):
        writer.writerow(_csv_cells(item, i))
    return buf.getvalue().encode(encoding)


def make_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "知识库"
    sheet.append(["小店客服知识库导出（2024年5月）"])  # a title line above the header
    sheet.append(["标准问题（必填）", "相似问法", "答案*", "分类", "标签", "状态", "生效时间", "失效时间", "编号"])
    for i, item in enumerate(FAQ):
        cells = _csv_cells(item, i)
        valid_from = datetime.fromisoformat(item["valid_from"]) if item.get("valid_from") else None
        sheet.append([cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], valid_from,
                      cells[8] or None, cells[0] or None])
    # Two rows of the same category as one merged cell: each row gets the value.
    sheet["D3"] = "售前"
    sheet["D4"] = None
    sheet.merge_cells("D3:D4")
    notes = book.create_sheet("填写说明")
    notes.append(["请勿修改表头"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def make_json() -> bytes:
    return json.dumps({"version": 1, "entries": FAQ}, ensure_ascii=False, indent=2).encode("utf-8")


def make_jsonl() -> bytes:
    lines = []
    for item in FAQ:
        row = {"知识ID": item.get("id"), "标准问题": item["question"], "相似问题": item["similar"],
               "答案": item["answer"], "分类": item["category"], "标签": item["tags"]}
        if item.get("status"):
            row["状态"] = item["status"]
        if item.get("valid_from"):
            row["生效时间"], row["失效时间"] = item["valid_from"], item["valid_to"]
        lines.append(json.dumps(row, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode("utf-8")


def make_md() -> bytes:
    parts = ["# 常见问题\n"]
    category = None
    for i, item in enumerate(FAQ):
        if item.get("status") == "draft" or item.get("valid_from"):
            continue
        if item["category"] != category:
            category = item["category"]
            parts.append(f"\n## {category}\n")
        q, a = ("**Q**：", "**A**：") if i % 2 else ("Q: ", "A: ")
        parts.append(f"\n{q}{item['question']}\n{a}{item['answer']}\n")
    return "".join(parts).encode("utf-8")


MANUAL = [
    (1, "纯棉四件套使用说明"),
    (0, "感谢您购买本店的纯棉四件套。本产品采用100%长绒棉，60支高密度织造，手感柔软、透气亲肤，适合四季使用。"),
    (2, "产品规格"),
    (0, "被套尺寸200×230厘米，床单尺寸245×250厘米，枕套48×74厘米两只，适用于1.8米床。"),
    (0, "颜色有米白、雾蓝和浅灰三种，实物颜色可能因显示器不同略有差异，请以实物为准。"),
    (2, "洗涤与保养"),
    (0, "首次使用前请用冷水单独清洗一次，洗涤水温不要超过30℃，不可使用含氯漂白剂。"
        "建议反面晾晒，避免长时间暴晒导致褪色；熨烫请使用中温。机洗时请放入洗衣袋，选择轻柔模式，"
        "洗后及时取出晾干，以免产生褶皱和异味。"),
    (2, "售后服务"),
    (0, "自签收之日起7天内可无理由退换（未洗涤、吊牌完好），质量问题30天内包换，运费由本店承担。"),
    (0, "如有疑问，请联系在线客服，工作时间为每天9:00至22:00，节假日不休。"),
]


def make_docx() -> bytes:
    import docx

    doc = docx.Document()
    for level, text in MANUAL[:4]:
        doc.add_heading(text, level=level) if level else doc.add_paragraph(text)
    table = doc.add_table(rows=4, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "型号与尺寸"
    table.cell(0, 2).text = "KF-100"
    for col, text in enumerate(["面料", "长绒棉", "100%"]):
        table.cell(1, col).text = text
    tall = table.cell(2, 0).merge(table.cell(3, 0))
    tall.text = "颜色"
    table.cell(2, 1).text = "米白"
    table.cell(3, 1).text = "雾蓝"
    for level, text in MANUAL[4:]:
        doc.add_heading(text, level=level) if level else doc.add_paragraph(text)
    doc.add_paragraph("保持干燥", style="List Bullet")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _pdf_lines(text: str, width: int = 28) -> list[str]:
    return [text[i:i + width] for i in range(0, len(text), width)]


def make_pdf() -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    # Uncompressed page streams, so byte corruption reaches the text operators too.
    c = canvas.Canvas(buf, pageCompression=0, invariant=1)
    for page in (MANUAL[:5], MANUAL[5:]):
        y = 780
        for level, text in page:
            c.setFont("STSong-Light", 16 if level else 11)
            for line in _pdf_lines(text):
                c.drawString(60, y, line)
                y -= 18
            y -= 12  # a gap: a new paragraph
        c.showPage()
    c.save()
    return buf.getvalue()


def make_html() -> bytes:
    body = []
    for level, text in MANUAL:
        body.append(f"<h{level}>{text}</h{level}>" if level else f"<p>{text}</p>")
    body.insert(4, "<table><tr><th>项目</th><th>参数</th></tr><tr><td>面料</td><td>长绒棉&amp;天丝</td></tr>"
                   "<tr><td>尺寸</td><td>200&times;230&nbsp;cm</td></tr></table>")
    page = ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>四件套说明 - 小店</title>\n"
            "<style>p { color: #333 }</style><script>var a = \"<p>不是正文</p>\"; if (a < b) {}</script></head>\n"
            "<body><nav><a href=\"/\">首页</a></nav>\n" + "\n".join(body) +
            "\n<ul><li>建议手洗</li><li>阴凉处晾干</li></ul>\n<!-- 注释 -->\n</body></html>\n")
    return page.encode("utf-8")


def make_txt() -> bytes:
    return ("\n\n".join(text for _, text in MANUAL) + "\n").encode("utf-8")


BUILDERS = {
    "csv": lambda: make_csv(",", "utf-8-sig"),
    "tsv": lambda: make_csv("\t", "gb18030"),  # a mainland export in GB18030
    "xlsx": make_xlsx, "json": make_json, "jsonl": make_jsonl, "md": make_md,
    "docx": make_docx, "pdf": make_pdf, "html": make_html, "txt": make_txt,
}
# The encoding each text format is written in, for re-encoding part of it.
TEXT_ENCODING = {"csv": "utf-8", "tsv": "gb18030", "json": "utf-8", "jsonl": "utf-8", "md": "utf-8",
                 "html": "utf-8", "txt": "utf-8"}


@lru_cache(maxsize=None)
def valid_bytes(fmt: str) -> bytes:
    return BUILDERS[fmt]()


# ---------------------------------------------------------------------------------------------
# Corruption

def _span(rng: random.Random, n: int, most: int = 64) -> tuple[int, int]:
    start = rng.randrange(n)
    return start, min(n, start + rng.randint(1, most))


def flip_bits(rng, data: bytearray) -> bytearray:
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(len(data))
        data[pos] ^= 1 << rng.randrange(8)
    return data


def random_bytes(rng, data: bytearray) -> bytearray:
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return data


def insert_bytes(rng, data: bytearray) -> bytearray:
    pos = rng.randrange(len(data) + 1)
    data[pos:pos] = rng.randbytes(rng.randint(1, 32))
    return data


def delete_bytes(rng, data: bytearray) -> bytearray:
    start, end = _span(rng, len(data), rng.choice([1, 4, 64, 512]))
    del data[start:end]
    return data


def truncate(rng, data: bytearray) -> bytearray:
    return data[:rng.randrange(len(data))]


def duplicate_span(rng, data: bytearray) -> bytearray:
    start, end = _span(rng, len(data), rng.choice([8, 64, 512]))
    pos = rng.randrange(len(data) + 1)
    data[pos:pos] = data[start:end]
    return data


def swap_spans(rng, data: bytearray) -> bytearray:
    if len(data) < 4:
        return data
    a, b, c, d = sorted(rng.sample(range(len(data) + 1), 4))
    return data[:a] + data[c:d] + data[b:c] + data[a:b] + data[d:]


def insert_controls(rng, data: bytearray) -> bytearray:
    pool = [b"\x00", b"\x01", b"\x07", b"\x08", b"\x0b", b"\x0c", b"\x1a", b"\x1b", b"\x1f", b"\x7f",
            b"\r", b"\r\r\n", b"\x00" * 16, "\u0085".encode(), "\u2028".encode(), "\ufeff".encode()]
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = rng.choice(pool)
    return data


def unbalanced_quote(rng, data: bytearray) -> bytearray:
    pos = rng.randrange(len(data) + 1)
    data[pos:pos] = rng.choice([b'"', b"'", b'""', b'"\n', b'\n"', "“".encode(), "”".encode(), b"\\\""])
    return data


def reencode(rng, data: bytearray, encoding: str = "utf-8") -> bytearray:
    """Part of the text (a line or a run of characters) written in another Chinese encoding."""
    text = bytes(data).decode(encoding, errors="surrogateescape")
    if not text:
        return data
    if rng.random() < 0.5:
        lines = text.split("\n")
        n = rng.randrange(len(lines))
        start = sum(len(x) + 1 for x in lines[:n])
        end = start + len(lines[n])
    else:
        start, end = _span(rng, len(text), 200)
    target = rng.choice([c for c in ("gbk", "big5", "gb18030", "utf-8", "cp950") if c != encoding])
    part = text[start:end].encode(target, errors="replace")
    return bytearray(text[:start].encode(encoding, "surrogateescape") + part
                     + text[end:].encode(encoding, "surrogateescape"))


# Format-aware tokens a broken export or a hand edit leaves behind.
TOKENS = {
    "csv": [b'"', b",", b",,,,", b'","', b"\r", b"\n", "，".encode(), b"=HYPERLINK(\"x\")", b"{", b"}",
            b"{{", b"||", b"\xef\xbb\xbf", b"x" * 140_000],
    "tsv": [b'"', b"\t", b"\t\t\t", b"\r", b"\n", b"{", b"}", "｜".encode("gb18030"),
            b"\xef\xbb\xbf", b"\xff\xfe"],
    "json": [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"\\ud800", b'"\\udc00"', b"null",
             b"NaN", b"Infinity", b"-", b"1e999", b"9" * 5000, b"[" * 3000, b'{"a":' * 2000,
             b'"entries"', b"\xef\xbb\xbf"],
    "jsonl": [b"{", b"}", b"[", b"\n", b'"', b"\\ud800", b'"\\udfff"', b"\\u0000", b"1e999", b"9" * 5000,
              b"[" * 3000, b"null", b'{"question": 1, "answer": []}', b"\xef\xbb\xbf"],
    "md": [b"Q: ", b"A: ", "问：".encode(), "答：".encode(), b"# ", b"## ", b"```", b"{", b"}", b"**Q**:",
           b"\n", b"\n\n", b"- ", b"> "],
    "html": [b"<", b">", b"</p>", b"<p>", b"<script>", b"</script>", b"<![", b"<![foo[", b"<![CDATA[",
             b"<!DOCTYPE x [", b"<!", b"<!--", b"-->", b"&", b"&#", b"&#xD800;", b"&#0;", b"&#99999999;",
             b"<svg><title>", b"<title>", b"<td>", b"<tr>", b"<?", b"<h1>", b"<head>", b"</body>"],
    "txt": [b"\n", b"\n\n", b"\t", b"\x0c", "。".encode(), b"x" * 5000, "长".encode() * 2000],
    "pdf": [b"(", b")", b"<", b">", b"<<", b">>", b"[", b"]", b"/", b"%", b"obj", b"endobj", b"stream",
            b"endstream", b"xref", b"trailer", b"R", b" 0 R", b"/Encrypt", b"Tj", b"TJ", b"BT", b"ET",
            b"\\", b"9999999999"],
    "xlsx": [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"],
    "docx": [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"],
}


def inject_token(rng, data: bytearray, fmt: str) -> bytearray:
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = rng.choice(TOKENS[fmt])
    return data


def _char_boundary(data: bytes, pos: int) -> int:
    """Move pos back to the start of a UTF-8 character (token injection stays in the text)."""
    while 0 < pos < len(data) and (data[pos] & 0xC0) == 0x80:
        pos -= 1
    return pos


def inject_token_aligned(rng, data: bytearray, fmt: str) -> bytearray:
    """A token between whole characters (and often at a line start), not inside one."""
    if rng.random() < 0.5:
        starts = [0] + [m.end() for m in re.finditer(rb"\n", data)]
        pos = rng.choice(starts)
    else:
        pos = _char_boundary(data, rng.randrange(len(data) + 1))
    data[pos:pos] = rng.choice(TOKENS[fmt])
    return data


def json_value(rng, data: bytearray, fmt: str) -> bytearray:
    """Replace one JSON value with an odd one: wrong type, lone surrogate, huge, deep, empty."""
    matches = list(re.finditer(rb'(":\s*)("(?:[^"\\]|\\.)*"|\[[^\[\]]*\]|null|-?\d+)', data))
    if not matches:
        return data
    m = rng.choice(matches)
    value = rng.choice([b'""', b'"   "', b"null", b"true", b"0", b"-1", b"1.5", b"1e999", b"[]", b"{}",
                        b'[1, 2]', b'{"a": "b"}', b'"\\ud800"', b'"\\udc00x"', b'"\\u0000"',
                        b'"{\\u672a\\u95ed\\u5408"', b'"2024-13-45"', b'"9999-99-99T99:99"',
                        b"9" * 5000, b"[" * 5000 + b"]" * 5000, b'"' + "长".encode() * 5000 + b'"'])
    data[m.start(2):m.end(2)] = value
    return data


BYTE_MUTATIONS = [flip_bits, random_bytes, insert_bytes, delete_bytes, truncate, duplicate_span,
                  swap_spans, insert_controls, unbalanced_quote]

# Characters for text-level edits: CJK, ASCII, full-width and markup punctuation, controls.
ODD_CHARS = ("运费退货发票尺码客服亲的了是不" "abcXYZ019 " ",，.。:：;；|｜\"'“”‘’()（）[]{}<>《》#*-_=+/\\"
             "\t\n\r\x00\x01\x0b\x0c\x1b\x7f\x85\xa0\u2028\u3000\ufeff\u200b\ufffd😀")


def mutate_chars(rng: random.Random, data: bytearray, fmt: str) -> bytearray:
    """Edit the text as characters, so the file stays in its encoding and the parser is reached."""
    encoding = TEXT_ENCODING[fmt]
    chars = list(bytes(data).decode(encoding, errors="surrogateescape"))
    if not chars:
        return data
    op = rng.choice(["insert", "delete", "replace", "dup", "swap", "line", "token"])
    n = len(chars)
    if op == "insert":
        pos = rng.randrange(n + 1)
        chars[pos:pos] = [rng.choice(ODD_CHARS) for _ in range(rng.randint(1, 4))]
    elif op == "delete":
        start, end = _span(rng, n, rng.choice([1, 3, 40]))
        del chars[start:end]
    elif op == "replace":
        for _ in range(rng.randint(1, 4)):
            chars[rng.randrange(n)] = rng.choice(ODD_CHARS)
    elif op == "dup":
        start, end = _span(rng, n, rng.choice([5, 60, 300]))
        pos = rng.randrange(n + 1)
        chars[pos:pos] = chars[start:end]
    elif op == "swap" and n >= 4:
        a, b, c, d = sorted(rng.sample(range(n + 1), 4))
        chars = chars[:a] + chars[c:d] + chars[b:c] + chars[a:b] + chars[d:]
    elif op == "line":  # drop, repeat or move a whole line
        lines = "".join(chars).split("\n")
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        what = rng.choice(["drop", "repeat", "move"])
        if what == "drop":
            del lines[i]
        elif what == "repeat":
            lines.insert(j, lines[i])
        else:
            lines.insert(j, lines.pop(i))
        chars = list("\n".join(lines))
    else:
        token = rng.choice(TOKENS[fmt]).decode(encoding, errors="surrogateescape")
        pos = rng.randrange(n + 1)
        chars[pos:pos] = list(token)
    return bytearray("".join(chars).encode(encoding, errors="surrogateescape"))


def mutate_bytes(rng: random.Random, data: bytes, fmt: str) -> bytes:
    data = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        if not data:
            break
        roll = rng.random()
        if fmt in TEXT_ENCODING and roll < 0.12:
            data = reencode(rng, data, TEXT_ENCODING[fmt])
        elif fmt in ("json", "jsonl") and roll < 0.27:
            data = json_value(rng, data, fmt)
        elif roll < 0.35:
            data = (inject_token_aligned if fmt in TEXT_ENCODING else inject_token)(rng, data, fmt)
        elif fmt in TEXT_ENCODING and roll < 0.75:
            data = mutate_chars(rng, data, fmt)
        else:
            data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return bytes(data)


# -- inside the zip (XLSX, DOCX) --

def _xml_members(names: list[str]) -> list[str]:
    xml = [n for n in names if n.endswith((".xml", ".rels"))]
    main = [n for n in xml if n in ("word/document.xml", "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml",
                                    "xl/workbook.xml", "word/styles.xml", "[Content_Types].xml")]
    return main * 3 + xml  # the parts that carry the content, more often


ODD_VALUES = ["", "x", "-1", "0", "2", "99999999", "1.5", "true", "A1:", "ZZZ0", "宋体", "{", "&amp;", "s", "n",
              "inlineStr", "restart", "continue", "../../etc", "rId999", "Heading1", "标题 1"]


def mangle_xml(rng: random.Random, xml: bytes, encoding_target: str | None = None) -> bytes:
    op = rng.choice(["attr", "attr", "attr", "drop", "dup", "text", "bytes", "truncate", "reencode", "tag"])
    if op == "attr":
        attrs = list(re.finditer(rb'\s([\w:]+)="([^"]*)"', xml))
        if attrs:
            m = rng.choice(attrs)
            value = rng.choice(ODD_VALUES + [m.group(2).decode("utf-8", "replace") * 2]).encode()
            return xml[:m.start(2)] + value + xml[m.end(2):]
    if op in ("drop", "dup"):
        elems = list(re.finditer(rb"<([\w:]+)(?:\s[^<>]*)?/>|<([\w:]+)(?:\s[^<>]*)?>[^<]*</\2>", xml))
        if elems:
            m = rng.choice(elems)
            return xml[:m.start()] + (b"" if op == "drop" else m.group(0) * 2) + xml[m.start():]
    if op == "text":
        texts = list(re.finditer(rb">([^<]+)<", xml))
        if texts:
            m = rng.choice(texts)
            value = rng.choice([b"", b"\x01", b"&", b"&bogus;", b"<", "长文本".encode() * 50, b"  ",
                                b"=1/0", b"#REF!", b"2024-13-45", b"\xff"])
            return xml[:m.start(1)] + value + xml[m.end(1):]
    if op == "tag":
        tags = list(re.finditer(rb"</?([\w:]+)", xml))
        if tags:
            m = rng.choice(tags)
            return xml[:m.start(1)] + rng.choice([b"w:bogus", b"x", b"c", b"row", b"w:tbl", b"w:tc", b"si"]) + xml[m.end(1):]
    if op == "reencode":
        return bytes(reencode(rng, bytearray(xml), "utf-8"))
    if op == "truncate" and xml:
        return xml[:rng.randrange(len(xml))]
    data = bytearray(xml)
    return bytes(rng.choice(BYTE_MUTATIONS)(rng, data)) if data else xml


def mutate_zip(rng: random.Random, data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    names = [info.filename for info, _ in members]
    target = rng.choice(_xml_members(names))
    action = rng.choices(["mangle", "remove", "empty"], weights=[8, 1, 1])[0]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, body in members:
            if info.filename == target:
                if action == "remove":
                    continue
                body = b"" if action == "empty" else mangle_xml(rng, body)
                for _ in range(rng.choice([0, 0, 1])):
                    body = mangle_xml(rng, body)
            zout.writestr(info.filename, body)
    return out.getvalue()


def case_bytes(fmt: str, seed: int) -> bytes:
    """The corrupted file of one case: reproducible from (format, seed) alone."""
    rng = random.Random(seed)
    data = valid_bytes(fmt)
    if fmt in ("xlsx", "docx") and rng.random() < 0.6:
        data = mutate_zip(rng, data)
        if rng.random() < 0.2:
            data = mutate_bytes(rng, data, fmt)
        return data
    return mutate_bytes(rng, data, fmt)


def case_options(seed: int) -> ImportOptions:
    """Mostly the defaults (as the brief's call); some cases vary conflict handling and bad rows."""
    rng = random.Random(seed ^ 0x5EED)
    if rng.random() < 0.6:
        return ImportOptions()
    return ImportOptions(on_conflict=rng.choice(["error", "update", "skip"]), skip_bad_rows=rng.random() < 0.7)


def seeds(fmt: str) -> list[int]:
    base = (FORMATS.index(fmt) + 1) * 100_000
    return list(range(base, base + CASES))


# ---------------------------------------------------------------------------------------------
# The store: dumps, invariants, resetting

def dump(kb: KnowledgeBase) -> str:
    return "\n".join(kb.store.db.conn.iterdump())


def dump_diff(before: str, after: str) -> str:
    a, b = set(before.split("\n")), set(after.split("\n"))
    gone, new = sorted(a - b), sorted(b - a)
    tables = Counter(re.match(r'INSERT INTO "?(\w+)', line).group(1) if line.startswith("INSERT") else line[:30]
                     for line in gone + new)
    return f"{len(gone)} lines gone, {len(new)} new ({dict(tables)}); first new: {new[:1]}; first gone: {gone[:1]}"


STORED_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_store(kb: KnowledgeBase, known: Counter | None = None) -> None:
    """Every stored entry and passage is well formed; entries that are bad in a known way
    are counted in `known` (when given) instead of failing."""
    conn = kb.store.db.conn
    for row in conn.execute("select * from entries"):
        e = Store._entry(row)
        if known is not None and (bug := classify_entry(e)):
            known[bug] += 1
            continue
        for name in ("question", "answer"):
            value = getattr(e, name)
            assert isinstance(value, str) and value and value == value.strip(), (e.id, name, value)
        assert e.status in STATUSES, e
        assert isinstance(e.category, str) and e.category.strip(), e
        for name in ("similar", "tags"):
            items = getattr(e, name)
            assert isinstance(items, list) and all(isinstance(s, str) and s and s == s.strip() for s in items), e
            assert len(set(items)) == len(items), e
            assert not any("\n" in s for s in items), e  # one line each
        for text in (e.question, e.answer, e.category, *e.similar, *e.tags):
            assert not STORED_CONTROLS.search(text), (e.id, text)  # cleaned on the way in
        assert e.version >= 1 and row[-1] == e.content_hash(), e
        versions = [v for (v,) in conn.execute("select version from history where entry_id = ? order by version",
                                               [e.id])]
        assert versions == list(range(1, e.version + 1)), (e.id, versions)
        Entry(**e.to_dict())  # round-trips
    by_source: dict[str, list] = {}
    for pid, source, position, section, page, text, h in conn.execute(
            "select id, source, position, section, page, text, content_hash from passages"):
        assert isinstance(text, str) and text.strip() and text == text.strip() and len(text) <= MAX_CHARS, text
        assert "\n\n" not in text, text
        assert pid == passage_id(source, position) and h == text_hash(f"{section}\0{page}\0{text}")
        by_source.setdefault(source, []).append(position)
    for source, positions in by_source.items():
        assert sorted(positions) == list(range(len(positions))), (source, positions)


def check_imported(kb: KnowledgeBase, loaded, result, path: Path, options: ImportOptions) -> None:
    """After a successful import the store holds what `load` read from the file."""
    store = kb.store
    if loaded.kind == "document":
        stored = [p for p in store.passages() if p["source"] == source_key(path)]
        assert [(p["position"], p["section"], p["page"], p["text"]) for p in stored] == \
               [(p.position, p.section, p.page, p.text) for p in loaded.passages]
        return
    assert result.added + result.updated + result.unchanged + result.skipped == len(loaded.rows)
    for row in loaded.rows:
        entry = store.find_existing(row.data)
        if entry is None and options.on_conflict == "skip":
            # A new id with a live entry's standard question is a conflict, skipped: kefu
            # keeps one entry per standard question.
            entry = store.find_existing({"question": row.data["question"]})
        assert entry is not None, row
        if options.on_conflict != "skip":
            for name, value in row.data.items():
                if name != "id":
                    assert getattr(entry, name) == value, (name, getattr(entry, name), value)


class FormatKB:
    """One KnowledgeBase per format with the valid file imported; reset() restores that state."""

    def __init__(self, root: Path, fmt: str):
        self.root, self.fmt = root, fmt
        self.home = root / "home"
        self.path = root / "in" / f"faq.{fmt}"
        self.path.parent.mkdir(parents=True)
        self.path.write_bytes(valid_bytes(fmt))
        self.kb = KnowledgeBase(self.home, [FakeEmbedder()], search_threads=None)
        result = BulkImporter(self.kb).import_file(self.path)
        assert result.status == "imported", result.error
        assert result.added or result.passages.get("added"), result
        self.baseline = root / "baseline.db"
        with sqlite3.connect(self.baseline) as dst:
            self.kb.store.db.conn.backup(dst)
        dst.close()
        self.baseline_dump = dump(self.kb)

    def reset(self) -> None:
        self.kb.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.home / 'kefu.db'}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.baseline, self.home / "kefu.db")
        self.kb = KnowledgeBase(self.home, [FakeEmbedder()], search_threads=None)
        assert dump(self.kb) == self.baseline_dump


# ---------------------------------------------------------------------------------------------
# Library bugs the random cases ran into, all fixed now; each keeps its regression test
# below (test_bug_*). The fuzz loop fails on them too unless KEFU_FUZZ_STRICT=0.

STRICT = os.environ.get("KEFU_FUZZ_STRICT", "1") == "1"  # the known bugs are fixed


def _frames(exc: BaseException) -> set[tuple[str, str]]:
    return {(Path(f.filename).name, f.name) for f in traceback.extract_tb(exc.__traceback__)}


def classify_known(fmt: str, exc: BaseException | None = None, error: str | None = None) -> str | None:
    """The known bug an outcome is an instance of, or None."""
    if exc is not None:
        frames = _frames(exc)
        if isinstance(exc, UnicodeEncodeError) and "surrogates not allowed" in str(exc):
            return "lone-surrogate-reaches-store"
        if isinstance(exc, (RecursionError, ValueError)) and (
                ("faq.py", "read_json") in frames or ("faq.py", "read_jsonl") in frames):
            return "json-parser-error-escapes"
        if isinstance(exc, TypeError) and ("rows.py", "join_cell") in frames:
            return "non-string-list-item"
        if isinstance(exc, AssertionError) and ("documents.py", "html_blocks") in frames:
            return "html-marked-section"
        if ("documents.py", "docx_blocks") in frames:
            return "docx-walk-unguarded"
        if isinstance(exc, CaseTimeout) and ("tables.py", "read_xlsx") in frames:
            return "xlsx-far-cell-hangs"
        return None
    if error is not None and re.match(r"field 'valid_to': is before valid_from", error):
        return "store-error-without-path"
    return None


def classify_entry(entry: Entry) -> str | None:
    """The known bug a bad stored entry is an instance of, or None."""
    if entry.category == "":
        return "empty-category-after-control-chars"
    return None


class CaseTimeout(BaseException):
    """Raised by the alarm of time_limit(); a BaseException, so no `except Exception` swallows it."""


@contextmanager
def time_limit(seconds: float):
    """Interrupt the block after `seconds` of CPU time, or WALL_FACTOR times that on the
    clock (a corrupted file must not hang an import). A parser that hangs loops, so CPU
    time finds it without the clock's false alarms: on this shared 2-core machine a case
    of 0.04 s once stood more than 5 s waiting for a core. The clock still ends a block
    that waits on something forever.

    The alarms repeat every half second until the block is left: an exception raised
    while a finalizer runs (garbage collection) is swallowed, and one alarm can be lost so.
    """
    def expired(signum, frame):
        clock = "of CPU time" if signum == signal.SIGPROF else f"on the clock ({WALL_FACTOR} x {seconds}s)"
        raise CaseTimeout(f"took more than {seconds}s {clock}")

    timers = ((signal.SIGPROF, signal.ITIMER_PROF, seconds), (signal.SIGALRM, signal.ITIMER_REAL, seconds * WALL_FACTOR))
    previous = [(sig, signal.signal(sig, expired)) for sig, _, _ in timers]
    for _, timer, after in timers:
        signal.setitimer(timer, after, 0.5)
    try:
        yield
    finally:
        for _, timer, _ in timers:
            signal.setitimer(timer, 0)
        for sig, handler in previous:
            signal.signal(sig, handler)


CASE_SECONDS = 5.0  # of CPU time; a normal case takes well under 0.1 s
WALL_FACTOR = 12


def _known(stats: Counter, problems: list[str], where: str, name: str | None, detail: str) -> bool:
    """Count a known bug (True), or leave the outcome to be reported as a problem (False)."""
    if name is None:
        return False
    stats[f"known:{name}"] += 1
    if STRICT:
        problems.append(f"{where}: known bug {name}: {detail:.300}")
    return True


def _reason(error: str, path: Path) -> str:
    """The gist of an error message, for the summary: no path, line numbers or quoted values."""
    text = error.replace(str(path), "").split("; first: ")[-1]
    text = re.sub(r"^[:,]?\s*(sheet [^,:]+, )?((line|row|item|page) \d+[,:]\s*)?", "", text.replace(str(path), ""))
    text = re.sub(r"'[^']*'|\"[^\"]*\"|\d+|0x[0-9a-f]+", "_", text)
    return text[:70]


def run_case(fk: FormatKB, fmt: str, seed: int, stats: Counter, problems: list[str], reasons: Counter) -> None:
    data = case_bytes(fmt, seed)
    fk.path.write_bytes(data)
    options = case_options(seed)
    where = f"{fmt} seed {seed}"
    # load() alone: only ImportFileError may come out.
    loaded = None
    try:
        with time_limit(CASE_SECONDS):
            loaded = load(fk.path)
    except ImportFileError as exc:
        if str(fk.path) not in str(exc):
            problems.append(f"{where}: load() error does not name the file: {exc}")
    except (Exception, CaseTimeout) as exc:  # noqa: BLE001 - any other type is the finding
        if isinstance(exc, CaseTimeout):  # no need to wait for import_file to hang as well
            if not _known(stats, problems, where, classify_known(fmt, exc), repr(exc)):
                problems.append(f"{where}: load() {exc}")
            return
        if classify_known(fmt, exc) is None:  # a known bug is counted once, when import_file meets it
            problems.append(f"{where}: load() raised {type(exc).__name__}: {exc!s:.200}\n"
                            + "".join(traceback.format_exception(exc)[-3:]))
    before = dump(fk.kb)
    try:
        with time_limit(CASE_SECONDS):
            result = BulkImporter(fk.kb, options).import_file(fk.path)
    except (Exception, CaseTimeout) as exc:  # noqa: BLE001
        stats["raised"] += 1
        if not _known(stats, problems, where, classify_known(fmt, exc), repr(exc)):
            problems.append(f"{where}: import_file raised {type(exc).__name__}: {exc!s:.200}\n"
                            + "".join(traceback.format_exception(exc)[-3:]))
        fk.reset()
        return
    after = dump(fk.kb)
    if result.status == "failed":
        stats["failed"] += 1
        reasons[_reason(result.error, fk.path)] += 1
        if not result.error or str(fk.path) not in result.error:
            if not _known(stats, problems, where, classify_known(fmt, error=result.error), result.error):
                problems.append(f"{where}: failed without naming the file: {result.error!r}")
        if after != before:
            problems.append(f"{where}: failed import changed the store: {dump_diff(before, after)}")
            fk.reset()
        return
    if result.status != "imported":
        problems.append(f"{where}: unexpected status {result.status!r}")
        return
    stats["imported"] += 1
    try:
        bad = Counter()
        check_store(fk.kb, bad)
        for bug in bad:
            _known(stats, problems, where, bug, f"{bad[bug]} stored entries")
        if loaded is None:
            problems.append(f"{where}: import_file imported a file that load() refused")
        else:
            check_imported(fk.kb, loaded, result, fk.path, options)
        if not (result.added or result.updated or result.pruned
                or any(result.passages.get(k) for k in ("added", "updated", "removed"))):
            stats["imported-unchanged"] += 1
            assert after == before, f"nothing changed, but the store did: {dump_diff(before, after)}"
    except AssertionError as exc:
        problems.append(f"{where}: imported, but {type(exc).__name__}: {exc!s:.300}")
    if after != fk.baseline_dump:
        fk.reset()


@pytest.fixture
def fast_tmp(tmp_path):
    """A scratch folder in memory where there is one: each reset and each new store syncs
    SQLite files, which on a busy disk costs more than the importing itself."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="kefu-fuzz-", dir=shm))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def quiet_pypdf():
    """pypdf logs a warning per repair it attempts; thousands of them only slow the run down."""
    import logging

    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("fmt", FORMATS)
def test_corrupted_file_imports_or_fails_cleanly(fast_tmp, fmt, fast_jieba, quiet_pypdf):
    fk = FormatKB(fast_tmp, fmt)
    stats: Counter = Counter()
    problems: list[str] = []
    reasons: Counter = Counter()
    start = time.perf_counter()
    try:
        for seed in seeds(fmt):
            run_case(fk, fmt, seed, stats, problems, reasons)
    finally:
        fk.kb.close()
    elapsed = time.perf_counter() - start
    print(f"\n{fmt}: {CASES} cases in {elapsed:.1f}s: {dict(sorted(stats.items()))}")
    for reason, n in reasons.most_common(6):
        print(f"    {n:4d} x {reason}")
    assert not problems, f"{len(problems)} bad case(s) of {CASES}:\n" + "\n".join(problems[:15])


def test_known_bug_classifier_matches_nothing_by_default():
    assert classify_known("csv") is None
    assert classify_known("csv", KeyError("x")) is None
    assert classify_known("csv", error="x.csv: row 2: bad") is None


# ---------------------------------------------------------------------------------------------
# Any CSV that csv.writer produces from arbitrary cell text imports and reads back the same
# text (as decode() documents it: \r\n and \r become \n, a terminal sequence ESC [2J goes
# whole, C0/C1 controls other than \t and \n are dropped, characters of no width too, an apostrophe before a formula
# character goes, cells are stripped), or is
# rejected with an error naming the file -- exactly
# when a row is missing its question or answer, repeats a question, has a line break in its
# question (a standard question is one line), or has a broken {variable}.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kefu.kb.template import broken_variable  # noqa: E402
from kefu.kb.text import scrub  # noqa: E402

_TRICKY = ",\"'\r\n\t {}|；　\x00\x01\x1f\x7f\x85\xa0\u2028\u2029\ufeff\u200b中文答案？a1#=-"
CELL = st.one_of(st.text(max_size=20), st.text(alphabet=_TRICKY, max_size=12),
                 st.sampled_from(["运费怎么算？", "满99元包邮。", "售前", "{客户称呼||亲}，您好", " 退货 "]))
_NEWLINES = re.compile(r"\r\n?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[@A-Za-z~]")  # a terminal's ESC [2J goes whole


def _as_decoded(cell: str) -> str:
    text = _CONTROLS.sub("", _CSI.sub("", _NEWLINES.sub("\n", cell)))
    text = scrub(text)  # characters of no width go, as every stored field's (an emoji's joiner stays)
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\n"):
        text = text[1:]  # '=x is the text =x, as kefu's own CSV export writes it
    return text.strip()


def _expected(rows: list[tuple[str, str, str]]) -> tuple[list[tuple[str, str, str]], int]:
    """(question, answer, category) the store should hold, and how many rows must be rejected."""
    out, rejected, seen = [], 0, set()
    for cells in rows:
        q, a, c = (_as_decoded(x) for x in cells)
        if not (q or a or c):
            continue  # an empty record is skipped
        if not q or not has_words(q) or not a or "\n" in q or broken_variable(a) or q in seen:
            rejected += 1
            continue
        seen.add(q)
        out.append((q, a, c or "其他"))
    return out, rejected


@pytest.mark.parametrize("delimiter", [",", "\t"])
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(CELL, CELL, CELL), min_size=0, max_size=4))
def test_csv_writer_output_round_trips(fast_tmp, fast_jieba, delimiter, rows):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows([("标准问题", "答案", "分类"), *rows])
    folder = Path(tempfile.mkdtemp(dir=fast_tmp))
    path = folder / ("faq.csv" if delimiter == "," else "faq.tsv")
    path.write_bytes(buf.getvalue().encode("utf-8"))
    want, rejected = _expected(rows)
    kb = KnowledgeBase(folder / "home", [FakeEmbedder()], search_threads=None)
    try:
        result = BulkImporter(kb).import_file(path)
        if rejected:
            assert result.status == "failed" and str(path) in result.error, result
            assert kb.store.count() == 0
        elif not want:  # a header and nothing else: an error, not a silent "imported 0"
            assert result.status == "failed" and "no entries found" in result.error, result
            assert kb.store.count() == 0
        else:
            assert result.status == "imported", result.error
            got = sorted((e.question, e.answer, e.category) for e in kb.store.entries())
            assert got == sorted(want)
    finally:
        kb.close()


# ---------------------------------------------------------------------------------------------
# The library bugs the fuzzing found, one deterministic reproduction each (now regression
# tests: each asserts the clean outcome).

def _import(tmp_path: Path, name: str, data: bytes, kb: KnowledgeBase | None = None,
            options: ImportOptions | None = None):
    path = tmp_path / name
    path.write_bytes(data)
    own = kb is None
    kb = kb or KnowledgeBase(tmp_path / "home", [FakeEmbedder()], search_threads=None)
    try:
        before = dump(kb)
        result = BulkImporter(kb, options).import_file(path)
        return path, result, before, dump(kb)
    finally:
        if own:
            kb.close()


def _clean_outcome(path: Path, result) -> None:
    assert result.status in ("imported", "failed")
    if result.status == "failed":
        assert str(path) in result.error


@pytest.mark.parametrize("name,data", [
    ("deep.json", b"[" * 100_000 + b"]" * 100_000),
    ("deep.jsonl", b'{"question": "q", "answer": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"),
    ("long.json", b'[{"question": "q", "answer": ' + b"9" * 5000 + b"}]"),
    ("long.jsonl", b'{"question": "q", "answer": ' + b"9" * 5000 + b"}\n"),
], ids=["json-deep", "jsonl-deep", "json-long-int", "jsonl-long-int"])
def test_bug_json_parser_errors_escape(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        load(path)  # a rejected row (jsonl) or an ImportFileError (json) would be right
    except ImportFileError:
        pass
    path2, result, _, _ = _import(tmp_path, name, data)
    _clean_outcome(path2, result)


def test_bug_json_list_with_numbers(tmp_path):
    data = json.dumps([{"question": "尺码怎么选？", "answer": "看尺码表。", "tags": [1, 2]}]).encode()
    path, result, _, _ = _import(tmp_path, "faq.json", data)
    _clean_outcome(path, result)


@pytest.mark.parametrize("name,data", [
    ("faq.json", b'[{"question": "\\ud800\xe8\xbf\x90\xe8\xb4\xb9", "answer": "ok"}]'),
    ("faq.jsonl", b'{"question": "q", "answer": "\\udc00"}\n'),
], ids=["json", "jsonl"])
def test_bug_json_lone_surrogate(tmp_path, name, data):
    path, result, _, _ = _import(tmp_path, name, data)
    _clean_outcome(path, result)


def _pdf_with_lone_surrogate() -> bytes:
    """The valid PDF with one UCS-2 code of its text (U+5957 套, raw bytes 'YW') made 0xD800."""
    pdf = valid_bytes("pdf")
    i = pdf.index(b"YW")
    return pdf[:i] + b"\xd8\x00" + pdf[i + 2:]


def test_bug_pdf_lone_surrogate(tmp_path, quiet_pypdf):
    path, result, _, _ = _import(tmp_path, "manual.pdf", _pdf_with_lone_surrogate())
    _clean_outcome(path, result)


def test_pdf_lone_surrogate_is_dropped_by_load(tmp_path, quiet_pypdf):
    """pypdf yields the lone surrogate; load() drops it, keeping the text around it."""
    path = tmp_path / "manual.pdf"
    path.write_bytes(_pdf_with_lone_surrogate())
    text = "".join(p.text for p in load(path).passages)
    assert "\ud800" not in text and "纯棉四件" in text


def test_bug_html_unknown_marked_section(tmp_path):
    data = "<html><body><h1>说明</h1><p>正文第一段。</p><![foo[ x ]]><p>正文第二段。</p></body></html>".encode()
    path, result, _, _ = _import(tmp_path, "page.html", data)
    _clean_outcome(path, result)


def _docx_without_styles_override() -> bytes:
    src = zipfile.ZipFile(io.BytesIO(valid_bytes("docx")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in src.namelist():
            body = src.read(name)
            if name == "[Content_Types].xml":
                body = re.sub(rb'<Override PartName="/word/styles.xml"[^>]*/>', b"", body)
            zout.writestr(name, body)
    return out.getvalue()


def test_bug_docx_damaged_content_types(tmp_path):
    path, result, _, _ = _import(tmp_path, "manual.docx", _docx_without_styles_override())
    _clean_outcome(path, result)


def _faq_kb(tmp_path: Path) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / "home", [FakeEmbedder()], search_threads=None)
    kb.import_entries([{"id": "promo", "question": "618活动什么时候开始？", "answer": "6月1日0点开始。",
                        "valid_from": "2024-05-25", "valid_to": "2024-06-20"}])
    return kb


def test_failed_import_leaves_the_store_unchanged(tmp_path):
    """A file failing on a conflict after a new row: nothing written, not even the embedding cache.
    (The fuzzing found this broken: KnowledgeBase.import_entries embedded first. Fixed since.)"""
    kb = _faq_kb(tmp_path)
    try:
        data = "编号,标准问题,答案\npromo,618活动什么时候开始？,改过的答案。\n,全新的问题？,全新的答案。\n"
        path, result, before, after = _import(tmp_path, "faq.csv", data.encode(), kb)
        assert result.status == "failed" and "already exists" in result.error
        assert after == before, dump_diff(before, after)
    finally:
        kb.close()


def test_bug_update_error_does_not_name_the_file(tmp_path):
    kb = _faq_kb(tmp_path)
    try:
        data = "编号,标准问题,答案,失效时间\npromo,618活动什么时候开始？,6月1日0点开始。,2024-01-01\n"
        path, result, before, after = _import(tmp_path, "faq.csv", data.encode(), kb,
                                              ImportOptions(on_conflict="update"))
        assert result.status == "failed" and after == before
        assert str(path) in result.error, result.error
    finally:
        kb.close()


def _xlsx_with_far_cell() -> bytes:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(valid_bytes("xlsx")))
    book.worksheets[0]["XFD1048576"] = " "  # one stray cell in the sheet's last row and column
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_bug_xlsx_far_cell_hangs(tmp_path):
    path = tmp_path / "faq.xlsx"
    path.write_bytes(_xlsx_with_far_cell())
    # In a child process, so a hang is cut off cleanly (and its memory freed). Walking
    # the 16,384 x 1,048,576 cells the stray one spans takes hours; 60 s leaves room for
    # the start-up and imports on a busy machine (6 s cut off a run that had printed 12).
    code = ("import sys; from kefu.kb.importers import load; "
            "print(len(load(sys.argv[1]).rows))")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == len(FAQ)


def test_bug_control_only_category_stored_empty(tmp_path):
    data = '{"id": "c1", "question": "能开发票吗？", "answer": "可以。", "category": "\\u0000"}\n'.encode()
    path, result, _, _ = _import(tmp_path, "faq.jsonl", data)
    assert result.status == "imported", result.error
    kb = KnowledgeBase(tmp_path / "home", [FakeEmbedder()], search_threads=None)
    try:
        assert kb.store.get("c1").category == "其他"
    finally:
        kb.close()


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_bug_csv_zero_width_before_guard_or_alone(tmp_path, delimiter):
    """Found by the round-trip test: a zero-width space hid the apostrophe that guards a
    formula ('\\u200b= stayed '=), and a record of zero-width spaces alone was a row
    without a question instead of a blank line."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows([
        ("标准问题", "答案", "分类"), ("运费怎么算？", "'\u200b=满99包邮", ""), ("\u200b", "", "\u200b"),
        ("'\u200b\r退货地址在哪？", "看订单页。", "售后")])
    path, result, _, after = _import(tmp_path, "faq.csv" if delimiter == "," else "faq.tsv",
                                     buf.getvalue().encode("utf-8"))
    assert result.status == "imported", result.error
    kb = KnowledgeBase(tmp_path / "home", [FakeEmbedder()], search_threads=None)
    try:
        got = sorted((e.question, e.answer) for e in kb.store.entries())
    finally:
        kb.close()
    assert got == [("运费怎么算？", "=满99包邮"), ("退货地址在哪？", "看订单页。")]

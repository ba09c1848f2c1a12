"""Document readers (DOCX, PDF, HTML, TXT, Markdown) and chunking into overlapping passages."""

from __future__ import annotations

import io
import random
import re

import pytest

from kefu.kb.errors import ImportFileError
from kefu.kb.importers import documents, load
from kefu.kb.importers.documents import (
    chunk, docx_blocks, html_blocks, markdown_blocks, pdf_blocks, text_blocks,
)
from kefu.kb.importers.records import Block, Passage


def _body(blocks: list[Block]) -> list[str]:
    return [b.text for b in blocks if not b.heading]


# -- DOCX -------------------------------------------------------------------------------------

def _manual_docx() -> bytes:
    """A product manual: Heading styles, a Chinese-named style, an outline level, a merged table."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    doc = docx.Document()
    doc.add_heading("产品规格", level=1)
    doc.add_paragraph("本产品为纯棉四件套，\n适用于1.8米床。")
    table = doc.add_table(rows=4, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "型号与尺寸"
    table.cell(0, 2).text = "KF-100"
    for col, text in enumerate(["面料", "纯棉", "100%"]):
        table.cell(1, col).text = text
    # row 2 stays empty and is skipped
    for col, text in enumerate(["颜色", "", "米白"]):
        table.cell(3, col).text = text
    doc.add_paragraph("以上规格仅供参考。")
    doc.add_heading("洗涤说明", level=1)
    doc.add_paragraph("建议手洗，水温不超过30℃。")
    doc.add_paragraph("   ")  # whitespace only: no block
    doc.add_heading("保修政策", level=1)
    chinese = doc.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)
    doc.add_paragraph("保修期限", style=chinese)
    doc.add_paragraph("自签收之日起保修一年。")
    outlined = doc.add_paragraph("保修范围")  # a heading only by its outline level
    level = OxmlElement("w:outlineLvl")
    level.set(qn("w:val"), "1")
    outlined._p.get_or_add_pPr().append(level)
    doc.add_paragraph("人为损坏不在保修范围内。")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_docx_blocks_keep_headings_tables_and_order():
    blocks = docx_blocks(_manual_docx(), "manual.docx")
    assert [(b.heading, b.text) for b in blocks] == [
        (1, "产品规格"),
        (0, "本产品为纯棉四件套，适用于1.8米床。"),
        (0, "型号与尺寸 | KF-100"),
        (0, "面料 | 纯棉 | 100%"),
        (0, "颜色 | 米白"),
        (0, "以上规格仅供参考。"),
        (1, "洗涤说明"),
        (0, "建议手洗，水温不超过30℃。"),
        (1, "保修政策"),
        (2, "保修期限"),
        (0, "自签收之日起保修一年。"),
        (2, "保修范围"),
        (0, "人为损坏不在保修范围内。"),
    ]
    assert all(b.page is None for b in blocks)


def test_docx_passages_have_sections():
    passages = chunk(docx_blocks(_manual_docx(), "manual.docx"), "manual.docx")
    assert [(p.position, p.section) for p in passages] == [
        (0, "产品规格"), (1, "洗涤说明"), (2, "保修政策 > 保修期限"), (3, "保修政策 > 保修范围"),
    ]
    assert passages[0].text == ("本产品为纯棉四件套，适用于1.8米床。\n型号与尺寸 | KF-100\n"
                                "面料 | 纯棉 | 100%\n颜色 | 米白\n以上规格仅供参考。")
    assert passages[2] == Passage("manual.docx", 2, "自签收之日起保修一年。", "保修政策 > 保修期限", None)


def _size_table_docx(rows: int) -> bytes:
    import docx

    doc = docx.Document()
    doc.add_heading("尺码表", level=1)
    table = doc.add_table(rows=rows + 1, cols=4)
    for col, text in enumerate(["尺码", "身高", "胸围", "衣长"]):
        table.cell(0, col).text = text
    for r in range(1, rows + 1):
        for col, text in enumerate([f"码{r}", f"{150 + r}/{76 + r}A", str(100 + r), str(60 + r)]):
            table.cell(r, col).text = text
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_a_table_cut_over_passages_repeats_its_header_row():
    """A size table longer than a passage went on in the next one as bare rows, 码30 |
    180/106A | 130 | 90: the agent could not tell which number was the 胸围, and 胸围多少
    found no word of the passage. Each passage that goes on with a table's rows opens with
    its header row."""
    blocks = docx_blocks(_size_table_docx(40), "size.docx")
    passages = chunk(blocks, "size.docx")
    assert len(passages) > 2
    for passage in passages:
        assert passage.text.startswith("尺码 | 身高 | 胸围 | 衣长\n"), passage.text
        assert len(passage.text) <= 400
    rows = [line for p in passages for line in p.text.splitlines()]
    assert all(f"码{r} | {150 + r}/{76 + r}A | {100 + r} | {60 + r}" in rows for r in range(1, 41))
    # the same in HTML
    html = ("<h1>尺码表</h1><table><tr><th>尺码</th><th>身高</th><th>胸围</th><th>衣长</th></tr>"
            + "".join(f"<tr><td>码{r}</td><td>{150 + r}/{76 + r}A</td><td>{100 + r}</td><td>{60 + r}</td></tr>"
                      for r in range(1, 41)) + "</table><p>以上尺码仅供参考。</p>")
    passages = chunk(html_blocks(html, "size.html"), "size.html")
    assert len(passages) > 2
    assert all(p.text.startswith("尺码 | 身高 | 胸围 | 衣长\n") for p in passages)
    # and in a PDF, whose rows keep the PDF's spaces
    page = ["尺码 身高 胸围 衣长"] + [f"码{r} {150 + r}/{76 + r}A {100 + r} {60 + r}" for r in range(1, 41)]
    passages = chunk(pdf_blocks(_pdf([page]), "size.pdf"), "size.pdf")
    assert len(passages) > 1
    assert all(p.text.startswith("尺码 身高 胸围 衣长\n") for p in passages)


def _steps_docx() -> bytes:
    """A Title over Heading 1, steps in List Number and a note in List Bullet (numbered by
    their styles), then a second list started by its own numPr (a new w:num), as Word writes it."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    doc = docx.Document()
    doc.add_heading("会员手册", level=0)  # the Title style
    doc.add_heading("开通会员", level=1)
    for step in ["打开个人中心", "点击开通会员"]:
        doc.add_paragraph(step, style="List Number")
    doc.add_paragraph("（首月免费）")  # between items of one list: Word counts on
    doc.add_paragraph("选择付款方式", style="List Number")
    doc.add_paragraph("开通后立即生效", style="List Bullet")
    doc.add_heading("退订会员", level=1)
    numbering = doc.part.numbering_part.element
    style_num = doc.styles["List Number"].element.xpath("./w:pPr/w:numPr/w:numId/@w:val")[0]
    abstract = numbering.xpath(f'./w:num[@w:numId="{style_num}"]/w:abstractNumId/@w:val')[0]
    num = OxmlElement("w:num")
    num.set(qn("w:numId"), "90")
    abstract_id = OxmlElement("w:abstractNumId")
    abstract_id.set(qn("w:val"), abstract)
    num.append(abstract_id)
    numbering.append(num)
    for step in ["打开设置", "关闭自动续费"]:
        paragraph = doc.add_paragraph(step)
        num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = 90
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_docx_title_heads_the_document_and_list_items_keep_their_marks():
    """The Title paragraph was a passage of its own with no section, and Word's automatic
    numbering and bullets were dropped: steps read as plain lines, 打开个人中心 点击开通会员."""
    blocks = docx_blocks(_steps_docx(), "vip.docx")
    assert [(b.heading, b.text) for b in blocks] == [
        (1, "会员手册"), (2, "开通会员"),
        (0, "1. 打开个人中心"), (0, "2. 点击开通会员"), (0, "（首月免费）"), (0, "3. 选择付款方式"),
        (0, "• 开通后立即生效"),
        (2, "退订会员"), (0, "1. 打开设置"), (0, "2. 关闭自动续费")]
    passages = chunk(blocks, "vip.docx")
    assert [(p.section, p.text) for p in passages] == [
        ("会员手册 > 开通会员", "1. 打开个人中心\n2. 点击开通会员\n（首月免费）\n3. 选择付款方式\n• 开通后立即生效"),
        ("会员手册 > 退订会员", "1. 打开设置\n2. 关闭自动续费")]


def test_docx_unreadable():
    with pytest.raises(ImportFileError, match="not a readable DOCX"):
        docx_blocks(b"PK\x03\x04 not really a zip", "bad.docx")


# -- PDF --------------------------------------------------------------------------------------

_CJK_FONT = "STSong-Light"


def _pdf(pages: list[list], encrypt=None) -> bytes:
    """A PDF with one page per list of lines, in reportlab's built-in CJK CID font (12 pt,
    or a line's own size: (line, size))."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=encrypt)
    for lines in pages:
        y = 760
        for line in lines:  # a line, or (line, font size)
            text, size = line if isinstance(line, tuple) else (line, 12)
            c.setFont(_CJK_FONT, size)
            c.drawString(72, y, text)
            y -= max(16, size + 8)
        c.showPage()
    c.save()
    return buf.getvalue()


_PAGE_1 = ["产品规格：本产品采用纯棉面料，", "适合日常穿着。Cotton fabric", "is soft and breathable."]
_PAGE_2 = ["保修政策：自签收之日起保修一年，", "人为损坏不在保修范围内。"]


def test_pdf_blocks_join_wrapped_lines_and_number_pages():
    blocks = pdf_blocks(_pdf([_PAGE_1, _PAGE_2]), "manual.pdf")
    assert blocks == [
        Block("产品规格：本产品采用纯棉面料，适合日常穿着。Cotton fabric is soft and breathable.", page=1),
        Block("保修政策：自签收之日起保修一年，人为损坏不在保修范围内。", page=2),
    ]


def test_pdf_passages_carry_their_page():
    passages = chunk(pdf_blocks(_pdf([_PAGE_1, _PAGE_2]), "manual.pdf"), "manual.pdf",
                     max_chars=80, overlap=40)
    assert [p.page for p in passages] == [1, 2]
    assert passages[0].text.startswith("产品规格")
    # no tail of page 1 opens page 2's passage: it would cite page 2 for page 1's text
    assert passages[1].text == "保修政策：自签收之日起保修一年，人为损坏不在保修范围内。"


def test_a_pdf_passage_never_spans_pages():
    """Two short pages made one passage cited as page 1, page 2's text included: a
    question answered on page 2 sent the agent to page 1. A page change cuts the passage,
    and the next one opens with no tail of the last."""
    passages = chunk(pdf_blocks(_pdf([["运费险说明：签收后七天内退货可获得运费险理赔。"],
                                      ["价保政策：下单后七天内降价可申请补差价。"]]), "policy.pdf"), "policy.pdf")
    assert [(p.page, p.text) for p in passages] == [
        (1, "运费险说明：签收后七天内退货可获得运费险理赔。"),
        (2, "价保政策：下单后七天内降价可申请补差价。")]
    # blocks of one page stay together; no overlap, no tail
    blocks = [Block("第一段。", page=1), Block("第二段。", page=1), Block("第三段。", page=2)]
    assert [(p.page, p.text) for p in chunk(blocks, "a.pdf", overlap=0)] == [(1, "第一段。\n第二段。"), (2, "第三段。")]


def test_no_overlap_runs_across_pages_of_a_pdf_without_headings():
    """A PDF without headings is one section, and each passage opened with up to 60
    characters of the one before, across page changes too: page 3's passage held the
    text of pages 1 and 2, so a question about page 2 found it as well, citing page 3."""
    pages = [["运费险说明：签收后七天内退货可获得运费险理赔。"], ["价保政策：下单后七天内降价可申请补差价。"],
             ["发票说明：电子发票在确认收货后开具。"]]
    passages = chunk(pdf_blocks(_pdf(pages), "policy.pdf"), "policy.pdf")
    assert [(p.page, p.text) for p in passages] == [(n, lines[0]) for n, lines in enumerate(pages, start=1)]
    # within a page the tail is still carried
    blocks = [Block("第一句。第二句。", page=1), Block("第三段很长很长。", page=1), Block("第四段。", page=2)]
    assert [(p.page, p.text) for p in chunk(blocks, "a.pdf", max_chars=16, overlap=6)] == [
        (1, "第一句。第二句。"), (1, "第二句。\n第三段很长很长。"), (2, "第四段。")]


def test_a_pdf_table_keeps_one_line_per_row():
    """A size table drawn in a PDF came back as one run of cells, 尺码 身高 胸围 S 155/80A 108
    M 160/84A 112 …: the rows' line breaks were taken for wrapped prose. Lines of as many
    cells as their neighbours', with no sentence punctuation, are rows and stay lines;
    wrapped prose around them is still joined."""
    page = ["尺码表（单位：cm），请根据身高和胸围", "选择合适的尺码。", "尺码 身高 胸围 衣长",
            "S 155/80A 108 66", "M 160/84A 112 68", "L 165/88A 116 70"]
    blocks = pdf_blocks(_pdf([page]), "size.pdf")
    assert [b.text for b in blocks] == [
        "尺码表（单位：cm），请根据身高和胸围选择合适的尺码。", "尺码 身高 胸围 衣长",
        "S 155/80A 108 66", "M 160/84A 112 68", "L 165/88A 116 70"]
    assert {b.page for b in blocks} == {1}
    [passage] = chunk(blocks, "size.pdf")
    assert passage.text.splitlines()[-1] == "L 165/88A 116 70"


def test_a_pdf_line_opening_with_a_list_number_is_not_joined_to_the_line_above():
    """A policy's title and its numbered items came back as one run of text, 退换货政策一、
    自签收之日起…。二、化妆品…: the line breaks were dropped as wraps between Chinese
    characters. One before 一、 （二） or 第三条 starts an item; wraps are still joined."""
    page = ["退换货政策", "一、自签收之日起七天内可无理由退货，", "商品需保持原样。", "（二）化妆品拆封后不退。",
            "第三条 退款三个工作日内原路退回。"]
    heading, block = pdf_blocks(_pdf([page]), "policy.pdf")
    assert heading == Block("退换货政策", heading=1, page=1)  # the title is a heading (see below)
    assert block.text == ("一、自签收之日起七天内可无理由退货，商品需保持原样。 （二）化妆品拆封后不退。 "
                          "第三条 退款三个工作日内原路退回。")


_POLICY_PAGE = [("退换货说明", 16), "商品签收后7天内可申请无理由退换货，请保持吊牌、包装和配件齐全，",
                "定制商品和贴身衣物除外。", "运费说明",
                "质量问题的退换货运费由本店承担，其他原因的退回运费由买家承担，", "可使用运费险抵扣。",
                "尺码表", "尺码 身高 胸围", "S 155/80A 108", "M 160/84A 112"]


def test_a_pdf_heading_line_starts_its_own_section():
    """pypdf gives a heading as a line like any other, and its line break was taken for a
    wrap: 退换货说明商品签收后7天内… was one paragraph, the heading lost as one, so no passage
    was under it. A short line without sentence punctuation, after a sentence's end (or
    first on the page) and above a much wider line, is a heading, in a bigger font (退换货说明)
    or not (运费说明, 尺码表 above a table), as a .docx or .md heading is."""
    blocks = pdf_blocks(_pdf([_POLICY_PAGE]), "policy.pdf")
    assert [(b.heading, b.text) for b in blocks] == [
        (1, "退换货说明"), (0, "商品签收后7天内可申请无理由退换货，请保持吊牌、包装和配件齐全，定制商品和贴身衣物除外。"),
        (1, "运费说明"), (0, "质量问题的退换货运费由本店承担，其他原因的退回运费由买家承担，可使用运费险抵扣。"),
        (1, "尺码表"), (0, "尺码 身高 胸围"), (0, "S 155/80A 108"), (0, "M 160/84A 112")]
    assert {b.page for b in blocks} == {1}
    # after a table, whose last row ends no sentence, too
    page = ["尺码 身高 胸围", "S 155/80A 108", "M 160/84A 112", "洗涤说明", "请使用冷水手洗，不可漂白，不可烘干，平铺晾干即可。"]
    assert [(b.heading, b.text) for b in pdf_blocks(_pdf([page]), "size.pdf")][3:] == [
        (1, "洗涤说明"), (0, "请使用冷水手洗，不可漂白，不可烘干，平铺晾干即可。")]


def test_an_imported_pdf_has_passages_under_its_headings(tmp_path):
    path = tmp_path / "policy.pdf"
    path.write_bytes(_pdf([_POLICY_PAGE, ["第二页的正文没有标题，说明同上。"]]))
    assert [(p.section, p.page, p.text) for p in load(path).passages] == [
        ("退换货说明", 1, "商品签收后7天内可申请无理由退换货，请保持吊牌、包装和配件齐全，定制商品和贴身衣物除外。"),
        ("运费说明", 1, "质量问题的退换货运费由本店承担，其他原因的退回运费由买家承担，可使用运费险抵扣。"),
        ("尺码表", 1, "尺码 身高 胸围\nS 155/80A 108\nM 160/84A 112"),
        ("尺码表", 2, "第二页的正文没有标题，说明同上。")]


@pytest.mark.parametrize("first", [[], ["发货说明：付款后48小时内发货。"]], ids=["page-top", "after-a-sentence"])
def test_a_pdf_paragraph_wrapped_over_lines_without_punctuation_stays_one_paragraph(first):
    """Lines of wrapped prose that end mid-sentence, with no punctuation, are no headings:
    the first is as wide as the next, and the others follow a line that ends no sentence,
    the short last one too."""
    wrapped = ["本店商品均支持七天无理由退换货并提供", "运费险保障请签收后七天内联系客服申请", "退货退款"]
    page = first + wrapped + ["退款会在收到退货后三个工作日内原路退回到您的账户。"]
    blocks = pdf_blocks(_pdf([page]), "policy.pdf")
    assert [(b.heading, b.text) for b in blocks] == [(0, "".join(page))]


def test_pdf_paragraphs_split_on_blank_lines():
    text = "第一段第一行，\n第一段第二行。\n\n  \nSecond\nparagraph.\n"
    assert documents._paragraphs(text) == ["第一段第一行，第一段第二行。", "Second paragraph."]


def test_pdf_with_password_is_refused_clearly():
    with pytest.raises(ImportFileError, match="password-protected") as info:
        pdf_blocks(_pdf([_PAGE_1], encrypt="secret"), "locked.pdf")
    assert info.value.path == "locked.pdf"


def test_pdf_with_empty_user_password_opens():
    from reportlab.lib.pdfencrypt import StandardEncryption

    blocks = pdf_blocks(_pdf([_PAGE_2], encrypt=StandardEncryption("", ownerPassword="owner")), "x.pdf")
    assert blocks == [Block("保修政策：自签收之日起保修一年，人为损坏不在保修范围内。", page=1)]


@pytest.mark.parametrize("data", [random.Random(7).randbytes(2000), b"%PDF-1.4\n1 0 obj <<", b""])
def test_pdf_corrupt(data):
    with pytest.raises(ImportFileError, match="not a readable PDF"):
        pdf_blocks(data, "broken.pdf")


def test_a_damaged_pdf_prints_nothing_beside_its_error(capfd):
    """pypdf logged "EOF marker not found", which Python printed to stderr (no logging set
    up) before kefu's own report: it is part of the error now."""
    with pytest.raises(ImportFileError, match=r"not a readable PDF file \(.*EOF marker not found\)"):
        pdf_blocks(b"%PDF-1.4\n1 0 obj <<", "broken.pdf")
    assert capfd.readouterr().err == ""


def _pdf_drawing_one_stream(pages: int, blanks: int) -> bytes:
    """A PDF whose every page draws the same content stream: 'Hello' and then `blanks`
    spaces, deflated to almost nothing."""
    import zlib

    stream = zlib.compress(b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET" + b" " * blanks + b"\n", 9)
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    objects += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                f"/Contents {4 + pages} 0 R >>".encode()] * pages
    objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream))
    out, offsets = io.BytesIO(b"%PDF-1.4\n"), []
    out.seek(0, 2)
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (n, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def test_a_pdf_drawing_too_much_is_refused_before_any_page_is_read():
    """A PDF bomb: a few KB whose pages draw megabytes of instructions; reading 20 MB took
    14 s, and every page may draw the same stream (hours, under the lock agents wait for)."""
    assert [b.text for b in pdf_blocks(_pdf_drawing_one_stream(2, 2**20), "small.pdf")] == ["Hello", "Hello"]
    data = _pdf_drawing_one_stream(3, 6 * 2**20)
    assert len(data) < 30_000
    with pytest.raises(ImportFileError, match=r"bomb\.pdf: page 3: the pages up to it hold 18 MB of drawing instructions, "
                                              r"more than kefu reads from one PDF \(16 MB; a PDF bomb\?\)"):
        pdf_blocks(data, "bomb.pdf")


def test_pdf_without_text():
    with pytest.raises(ImportFileError, match=r"no extractable text \(a scanned image\?\)"):
        pdf_blocks(_pdf([[]]), "scan.pdf")


# -- HTML -------------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html><head><title>四件套说明 - 小店</title>
<style>body { color: red } .STYLE_NOISE {}</style>
<script>var token = "SCRIPT_NOISE"; if (a < b && c) {}</script></head>
<body>
<nav><a href="/">首页</a> | <a href="/cart">购物车</a></nav>
<h1>纯棉四件套</h1>
<p>面料柔软&amp;透气，
   适合&lt;四季&gt;使用。</p>
<h2>产品规格</h2>
<table>
  <tr><th>项目</th><th>参数</th></tr>
  <tr><td>尺寸</td><td>200&times;230&nbsp;cm</td></tr>
  <tr><td> </td><td></td></tr>
</table>
<h2>洗涤说明</h2>
<ul><li>建议手洗<ul><li>水温不超过30℃</li><li>不可漂白</li></ul></li>
<li>阴凉处晾干</ul>
<noscript>请启用 NOSCRIPT_NOISE</noscript>
<svg><title>SVG_NOISE</title><text>SVG_NOISE</text></svg>
<script>document.write("SCRIPT_NOISE")</script>
<div>客服电话<br>400-000-0000</div>
</body></html>"""


def test_html_blocks():
    blocks = html_blocks(_PAGE, "page.html")
    assert [(b.heading, b.text) for b in blocks] == [
        (1, "纯棉四件套"),
        (0, "面料柔软&透气，适合<四季>使用。"),
        (2, "产品规格"),
        (0, "项目 | 参数"),
        (0, "尺寸 | 200×230 cm"),
        (2, "洗涤说明"),
        (0, "建议手洗"),
        (0, "水温不超过30℃"),
        (0, "不可漂白"),
        (0, "阴凉处晾干"),
        (0, "客服电话"),
        (0, "400-000-0000"),
    ]


def test_html_passages_drop_noise_and_use_sections():
    passages = chunk(html_blocks(_PAGE, "page.html"), "page.html")
    text = "\n".join(p.text for p in passages)
    for noise in ("NOISE", "首页", "购物车", "color", "token", "小店"):
        assert noise not in text
    assert [p.section for p in passages] == ["纯棉四件套", "纯棉四件套 > 产品规格", "纯棉四件套 > 洗涤说明"]


def test_html_title_is_the_heading_without_h1():
    blocks = html_blocks("<title>退换货说明</title><h2>流程</h2><p>七天无理由退货。", "a.html")
    assert [(b.heading, b.text) for b in blocks] == [(1, "退换货说明"), (2, "流程"), (0, "七天无理由退货。")]
    assert chunk(blocks, "a.html")[0].section == "退换货说明 > 流程"


def test_html_breaks_inside_headings_and_cells_only_separate_words():
    blocks = html_blocks("<h2>保修<br>政策</h2><table><tr><td>尺寸<br>cm</td><td>纯<p>棉</td></tr></table>", "b.html")
    assert [(b.heading, b.text) for b in blocks] == [(2, "保修政策"), (0, "尺寸 cm | 纯棉")]


def test_html_without_text():
    blocks = html_blocks("<html><head><title></title></head><body><script>x()</script></body></html>", "e.html")
    assert blocks == []
    with pytest.raises(ImportFileError, match="no text found"):
        chunk(blocks, "e.html")


# -- TXT and Markdown -------------------------------------------------------------------------

def test_a_plain_text_table_keeps_one_row_a_line():
    """A size table in a .txt (cells apart by tabs, as pasted from a spreadsheet, or by
    spaces) became one line, 尺码 身高 胸围 S 155/80A 108 M …: rows stay lines, tab-apart
    cells joined with " | " as a DOCX table's are, under their header."""
    txt = ("羽绒服尺码表\n\n尺码\t身高\t胸围\nS\t155/80A\t108\nM\t160/84A\t112\n\n"
           "鞋码 脚长\n38 240\n39 245\n\n以上尺码仅供参考，\n如有疑问请咨询客服。\n\n"
           "项目\t参数\n额定电压\t220V~ 50Hz\n额定功率\t1500W\n")
    assert [(b.heading, b.text, b.header) for b in text_blocks(txt, "size.txt")] == [
        (1, "羽绒服尺码表", ""), (0, "尺码 | 身高 | 胸围", ""), (0, "S | 155/80A | 108", "尺码 | 身高 | 胸围"),
        (0, "M | 160/84A | 112", "尺码 | 身高 | 胸围"), (0, "鞋码 脚长", ""), (0, "38 240", "鞋码 脚长"),
        (0, "39 245", "鞋码 脚长"), (0, "以上尺码仅供参考，如有疑问请咨询客服。", ""),
        (0, "项目 | 参数", ""), (0, "额定电压 | 220V~ 50Hz", "项目 | 参数"), (0, "额定功率 | 1500W", "项目 | 参数")]


def test_text_blocks():
    text = ("产品规格\n\n本产品为纯棉四件套，\n适用于1.8米床。\n\n注意：\n\n这一行以冒号结尾，所以上面不是标题。\r\n\r\n"
            "洗涤说明\n\n建议手洗，水温不超过30℃。\nMachine wash\nis not recommended.\n\n型号\n颜色\n\n结尾")
    assert [(b.heading, b.text) for b in text_blocks(text, "a.txt")] == [
        (1, "产品规格"),
        (0, "本产品为纯棉四件套，适用于1.8米床。"),
        (0, "注意："),
        (0, "这一行以冒号结尾，所以上面不是标题。"),
        (1, "洗涤说明"),
        (0, "建议手洗，水温不超过30℃。 Machine wash is not recommended."),
        (0, "型号颜色"),  # two lines: not a heading
        (0, "结尾"),  # nothing longer follows
    ]



_POLICY_TXT = ("退换货说明\n商品签收后7天内可申请无理由退换货，请保持吊牌、包装和配件齐全，\n定制商品和贴身衣物除外。\n"
               "运费说明\n质量问题的退换货运费由本店承担，其他原因的退回运费由买家承担。\n\n"
               "尺码表\n尺码 身高 胸围\nS 155/80A 108\nM 160/84A 112\n洗涤说明\n请使用冷水手洗，不可漂白，不可烘干，平铺晾干即可。\n")


def test_a_txt_heading_without_a_blank_line_under_it_starts_its_own_section():
    """A .txt heading with no blank line after it ran into the text under it (退换货说明商品
    签收后7天内…), joined as a CJK wrap, so no passage had it as its section. As in a PDF, a
    short line without sentence punctuation, first in its paragraph or after a sentence's
    end (or a table), and much narrower than the line under it, is a heading."""
    assert [(b.heading, b.text) for b in text_blocks(_POLICY_TXT, "policy.txt")] == [
        (1, "退换货说明"), (0, "商品签收后7天内可申请无理由退换货，请保持吊牌、包装和配件齐全，定制商品和贴身衣物除外。"),
        (1, "运费说明"), (0, "质量问题的退换货运费由本店承担，其他原因的退回运费由买家承担。"),
        (1, "尺码表"), (0, "尺码 身高 胸围"), (0, "S 155/80A 108"), (0, "M 160/84A 112"),
        (1, "洗涤说明"), (0, "请使用冷水手洗，不可漂白，不可烘干，平铺晾干即可。")]


def test_an_imported_txt_has_passages_under_its_headings(tmp_path):
    path = tmp_path / "policy.txt"
    path.write_text(_POLICY_TXT, encoding="utf-8")
    assert [(p.section, p.text) for p in load(path).passages] == [
        ("退换货说明", "商品签收后7天内可申请无理由退换货，请保持吊牌、包装和配件齐全，定制商品和贴身衣物除外。"),
        ("运费说明", "质量问题的退换货运费由本店承担，其他原因的退回运费由买家承担。"),
        ("尺码表", "尺码 身高 胸围\nS 155/80A 108\nM 160/84A 112"),
        ("洗涤说明", "请使用冷水手洗，不可漂白，不可烘干，平铺晾干即可。")]


@pytest.mark.parametrize("first", ["", "发货说明：付款后48小时内发货。\n"], ids=["paragraph-top", "after-a-sentence"])
def test_txt_lines_wrapped_without_punctuation_stay_one_paragraph(first):
    """Hard-wrapped .txt prose whose lines end mid-sentence, with no punctuation, is no
    heading: the first line is as wide as the next, the others follow a line ending no
    sentence, the short last one too; nor is a short line above one as short (型号/颜色)."""
    wrapped = "本店商品均支持七天无理由退换货并提供\n运费险保障请签收后七天内联系客服申请\n退货退款\n"
    text = first + wrapped + "退款会在收到退货后三个工作日内原路退回到您的账户。"
    assert [(b.heading, b.text) for b in text_blocks(text, "policy.txt")] == [(0, documents.normalise(text))]
    assert [(b.heading, b.text) for b in text_blocks("型号\n颜色\n\n结尾说明", "a.txt")] == [(0, "型号颜色"), (0, "结尾说明")]


def test_spec_lines_opening_with_a_label_and_colon_are_not_joined_as_a_wrap():
    """A spec sheet's lines, 容量：1.7升 over 壶身材质：…, were joined as a CJK wrap into
    容量：1.7升壶身材质：…, the number running into the next label. A line opening with a
    short label and a colon starts an item, as one opening with a list number does; a wrap
    in running text (the line above ends mid-sentence, with ，), and a colon further along a
    line, still join."""
    text = "产品参数\n额定功率：1800W\n容量：1.7升\n壶身材质：食品级304不锈钢\n指示灯不亮：请检查插头。\n水未烧开就断电：请先除垢。"
    assert [(b.heading, b.text) for b in text_blocks(text, "kettle.txt")] == [
        (1, "产品参数"), (0, "额定功率：1800W 容量：1.7升 壶身材质：食品级304不锈钢 指示灯不亮：请检查插头。 水未烧开就断电：请先除垢。")]
    assert documents.normalise("商品签收后七天内可申请退换，\n请联系客服热线：400-123") == "商品签收后七天内可申请退换，请联系客服热线：400-123"
    assert documents.normalise("保修说明：本产品保修一年。") == "保修说明：本产品保修一年。"


def test_a_txt_title_above_a_label_line_is_a_heading():
    """A manual's title line above its model line (型号：KT-1715), not much wider than it,
    was joined to it as an untitled passage, 智能电热水壶 使用说明书型号：KT-1715, quoted for
    every question naming the kettle. No wrap runs into a line opening with a label and colon
    or a list number, so a short line above one is a heading; a label line is none."""
    text = "智能电热水壶 使用说明书\n型号：KT-1715\n\n额定电压：220V\n额定功率：1800W\n退货流程\n一、申请售后"
    assert [(b.heading, b.text) for b in text_blocks(text, "kettle.txt")] == [
        (1, "智能电热水壶 使用说明书"), (0, "型号：KT-1715"), (0, "额定电压：220V 额定功率：1800W 退货流程 一、申请售后")]
    text = "安装说明。\n退货流程\n一、申请售后\n二、寄回商品"
    assert [(b.heading, b.text) for b in text_blocks(text, "a.txt")] == [
        (0, "安装说明。"), (1, "退货流程"), (0, "一、申请售后 二、寄回商品")]


_MARKDOWN = """# 产品手册

本产品**采用**[纯棉面料](https://example.com/cotton "棉")，*柔软*透气，
适合四季使用。

## 洗涤说明

- 建议手洗
- 水温不超过 `30℃`
  以免缩水
1. 阴凉处晾干

```text
# not a heading
wash_cold = true
```

> 注意：_不可漂白_。

---
[ref]: https://example.com/ref
## 保修政策 ##
保修一年，my_var_name 与 __重要__ 条款见 ![图](a.png) 和 [说明][ref]。
"""


def test_markdown_blocks():
    assert [(b.heading, b.text) for b in markdown_blocks(_MARKDOWN, "a.md")] == [
        (1, "产品手册"),
        (0, "本产品采用纯棉面料，柔软透气，适合四季使用。"),
        (2, "洗涤说明"),
        (0, "建议手洗"),
        (0, "水温不超过 30℃ 以免缩水"),
        (0, "1. 阴凉处晾干"),  # an ordered item keeps its number, as in .docx
        (0, "# not a heading wash_cold = true"),
        (0, "注意：不可漂白。"),
        (2, "保修政策"),
        (0, "保修一年，my_var_name 与 重要 条款见 图 和 说明。"),
    ]



def test_markdown_steps_keep_their_numbers():
    """A prose .md's numbered steps lost their numbers (1. 打开壶盖 read 打开壶盖), while a
    .docx list keeps Word's: a passage of steps read as lines in no order, and 重复第2步
    pointed at nothing. The number is kept as written (2) as 2.); a bullet still goes."""
    md = "# 使用方法\n\n1. 打开壶盖，加入清水。\n2) 盖好壶盖，\n   接通电源。\n3. 重复第2步。\n\n- 建议手洗\n"
    assert [p.text for p in chunk(markdown_blocks(md, "kettle.md"), "kettle.md")] == [
        "1. 打开壶盖，加入清水。\n2. 盖好壶盖，接通电源。\n3. 重复第2步。\n建议手洗"]

@pytest.mark.parametrize("mark", ["[", "![", "[](", "<http://", "`", " _a"])
def test_markdown_markup_that_never_closes_takes_linear_time(mark):
    """Each inline pattern scanned from every opening mark to the end of the paragraph:
    "<http://" 20,000 times took 38 s, "[" 200,000 times (200 KB) minutes, on the import
    dry run that holds the lock every agent's suggestion waits for."""
    import time

    start = time.perf_counter()
    documents.markdown_blocks("正文" + mark * 40_000, "a.md")
    assert time.perf_counter() - start < 3  # 0.1 s or less now; 6 s to minutes before


def test_a_markdown_table_keeps_one_row_a_line():
    """A pipe table in a prose .md became one line, | 尺码 | 身高 | |------| | S | 155/80A |
    …, its delimiter row included: each row is now a line of cells as in DOCX and HTML,
    under its header when the table goes on into another passage."""
    md = ("# 羽绒服尺码表\n\n| 尺码 | 身高 | 胸围 |\n|:-----|------|-----:|\n| S | 155/80A | **108** |\n"
          "| M | 160/84A | 112 |\n\n以上尺码仅供参考。\n")
    assert [(b.heading, b.text, b.header) for b in markdown_blocks(md, "size.md")] == [
        (1, "羽绒服尺码表", ""), (0, "尺码 | 身高 | 胸围", ""), (0, "S | 155/80A | 108", "尺码 | 身高 | 胸围"),
        (0, "M | 160/84A | 112", "尺码 | 身高 | 胸围"), (0, "以上尺码仅供参考。", "")]
    [passage] = chunk(markdown_blocks(md, "size.md"), "size.md")
    assert passage.text == "尺码 | 身高 | 胸围\nS | 155/80A | 108\nM | 160/84A | 112\n以上尺码仅供参考。"


def test_markdown_markup_is_still_dropped():
    text = ("看[说明](https://x.example/a \"标题\")和![图](a.png)、[参考][1]，<https://x.example>，`代码` ``两个``，"
            "**粗体**、__粗__、~~删除~~、*斜体*、_斜_，snake_case_name 不变")
    assert [b.text for b in markdown_blocks(text, "a.md")] == [
        "看说明和图、参考，https://x.example，代码 两个，粗体、粗、删除、斜体、斜，snake_case_name 不变"]


def test_markdown_passages():
    passages = chunk(markdown_blocks(_MARKDOWN, "a.md"), "a.md")
    assert [p.section for p in passages] == ["产品手册", "产品手册 > 洗涤说明", "产品手册 > 保修政策"]


# -- chunk ------------------------------------------------------------------------------------

def test_chunk_overlap_cuts_at_a_sentence_start():
    blocks = [Block("标题", heading=1), Block("第一句话。第二句话！"), Block("第三句话比较长一些。"),
              Block("第四句。"), Block("下一节", heading=1), Block("新的内容。")]
    passages = chunk(blocks, "s", max_chars=20, overlap=12)
    assert [(p.section, p.text) for p in passages] == [
        ("标题", "第一句话。第二句话！"),
        ("标题", "第二句话！\n第三句话比较长一些。"),
        ("标题", "第三句话比较长一些。\n第四句。"),
        ("下一节", "新的内容。"),  # no overlap across sections
    ]
    # no sentence starts inside the last 8 characters: the tail is cut hard
    assert chunk(blocks, "s", max_chars=20, overlap=8)[2].text == "句话比较长一些。\n第四句。"


def test_chunk_splits_long_blocks():
    long = "这是一句很长的说明。" * 10 + "没有标点的超长文字" * 10
    passages = chunk([Block(long)], "s", max_chars=50, overlap=0)
    assert all(len(p.text) <= 50 for p in passages)
    assert "".join(p.text.replace("\n", "") for p in passages) == long
    assert passages[0].text == "这是一句很长的说明。" * 5


def test_chunk_hard_split_prefers_spaces_in_latin_text():
    words = " ".join(f"word{i}" for i in range(40))
    passages = chunk([Block(words)], "s", max_chars=50, overlap=0)
    assert all(len(p.text) <= 50 for p in passages)
    assert " ".join(p.text for p in passages) == words


def test_chunk_rejects_bad_sizes_and_empty_input():
    with pytest.raises(ValueError):
        chunk([Block("x")], "s", max_chars=10, overlap=10)
    with pytest.raises(ImportFileError, match="no text found"):
        chunk([Block("  \n "), Block("只有标题", heading=1)], "s")


_HAN = "棉被床单枕套面料柔软透气洗涤手洗水温晾干保修退换运费包邮尺寸颜色型号客服"
_ENDS = "。！？；!?;"


def _random_case(rng: random.Random) -> tuple[list[Block], list[str], int, int]:
    """Random blocks, the sentences they contain, and a max_chars/overlap pair."""
    max_chars = rng.choice([30, 60, 120, 400])
    overlap = rng.randint(0, min(60, max_chars - 1))
    blocks, sentences = [], []
    for _ in range(rng.randint(0, 25)):
        kind = rng.random()
        if kind < 0.15:
            # unique titles: a repeated heading would give the same section string, without overlap
            blocks.append(Block(f"第{len(blocks)}节", heading=rng.randint(1, 3)))
        elif kind < 0.2:
            blocks.append(Block(" \n\t "))
        elif kind < 0.25:  # no sentence end at all: hard split
            blocks.append(Block("".join(rng.choice(_HAN) for _ in range(rng.randint(1, 900)))))
        else:
            parts = []
            for _ in range(rng.randint(1, 8)):
                if rng.random() < 0.3:
                    words = " ".join(rng.choice(["cotton", "wash", "cold", "size"]) for _ in range(rng.randint(1, 6)))
                    body = f"S{len(sentences)} {words}"
                else:
                    body = f"第{len(sentences)}句" + "".join(rng.choice(_HAN) for _ in range(rng.randint(0, 50)))
                sentence = body + rng.choice(_ENDS)
                sentences.append(sentence)
                parts.append(sentence)
            blocks.append(Block(rng.choice(["", " ", "\n"]).join(parts), page=rng.choice([None, 1, 2])))
    return blocks, sentences, max_chars, overlap


def _shared(previous: str, following: str, limit: int) -> int:
    """Length of the longest tail of `previous` (≤ limit) that opens `following` before a newline."""
    for k in range(min(limit, len(previous)), 0, -1):
        if following.startswith(previous[-k:] + "\n"):
            return k
    return 0


@pytest.mark.parametrize("seed", range(300))
def test_chunk_properties(seed):
    rng = random.Random(seed)
    blocks, sentences, max_chars, overlap = _random_case(rng)
    if not any(b.text.strip() and not b.heading for b in blocks):
        with pytest.raises(ImportFileError, match="no text found"):
            chunk(blocks, "doc")
        return
    passages = chunk(blocks, "doc", max_chars=max_chars, overlap=overlap)
    assert passages == chunk(blocks, "doc", max_chars=max_chars, overlap=overlap)
    assert [p.position for p in passages] == list(range(len(passages)))
    assert all(p.source == "doc" and p.text and len(p.text) <= max_chars for p in passages)
    assert all(p.text == p.text.strip() and "  " not in p.text for p in passages)
    everything = "\n".join(p.text for p in passages)
    for sentence in sentences:
        if len(sentence) <= max_chars:
            assert sentence in everything
    for previous, following in zip(passages, passages[1:]):
        if previous.section != following.section or previous.page != following.page or overlap == 0:
            continue
        shared = _shared(previous.text, following.text, overlap)
        if shared == 0:  # only when the next piece left no room for a tail and its newline
            assert len(following.text.split("\n")[0]) >= max_chars - 1
            continue
        tail = previous.text[-shared:]
        before = previous.text[:-shared].rstrip(" ")
        if before and before[-1] not in _ENDS + "\n":
            # a hard cut: allowed only when no sentence starts inside the tail
            inner = [i for i, c in enumerate(tail) if c in _ENDS + "\n" and tail[i + 1:].strip()]
            assert inner == []


# The prose heading pattern before: right, but quadratic in a run of spaces.
OLD_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")


@pytest.mark.parametrize("line", ["# 退货须知", "## 退货须知 ##", "### 退货 #须知", "## ###", "  ##\t#", "#######x",
                                  "#退货", "   # 标题 #\t", "    # 代码", "## a\\#", "#"])
def test_prose_markdown_headings_read_as_before(line):
    from kefu.kb.importers.documents import _md_heading

    old = OLD_MD_HEADING.match(line)
    assert _md_heading(line) == ((len(old.group(1)), old.group(2) or "") if old else None)


def test_a_long_run_of_spaces_in_a_prose_heading_is_read_at_once(tmp_path):
    """80,000 spaces in a heading took over a minute (the pattern was quadratic)."""
    import subprocess
    import sys

    path = tmp_path / "guide.md"
    path.write_text("# 保养说明" + " " * 80_000 + "（新版）\n\n羊毛衫请手洗，平铺晾干。\n", encoding="utf-8")
    code = "import sys; from kefu.kb.importers import load; print(len(load(sys.argv[1]).rows))"
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr

"""Files for tests/test_import.py, written inside the tests: a shop's FAQ workbook, a bedding
manual as DOCX, a toothbrush manual as PDF, and small helpers for the other formats."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

# -- the FAQ workbook -------------------------------------------------------------------------

TITLE = "青禾优选 客服知识库（2025年11月版）"
HEADER = ["标准问题", "相似问题", "答案", "分类", "标签", "状态", "失效时间", "备注"]
# Sheet 常见问题 from row 3 (row 1: the title, row 2: the header). The 分类 cell of row 3 is
# merged over rows 3-5, so rows 4 and 5 leave it empty; row 6 is empty.
SHIPPING = [
    ["多久发货？", "什么时候发货\n几天能发出", "付款后48小时内发货，预售商品以商品页写明的时间为准。",
     "售中", "物流", "已发布", None, "老客户常问"],
    ["可以指定快递吗？", "能发顺丰吗|可以换快递吗", "默认发中通快递，需要顺丰请联系客服补差价。",
     None, "物流；快递", "已发布", None, None],
    ["发货后几天能到？", "几天到货；快递要几天", "江浙沪一般次日达，其他地区2到4天。",
     None, "物流", "草稿", None, None],
    None,
    ["双十一满减怎么参加？", "满减怎么用", "活动期间每满300减40，下单时自动抵扣。",
     "售前", "活动", "已发布", datetime.date(2025, 11, 12), None],
    ["可以开发票吗？", "发票怎么开\n能开专票吗", "可以开电子普通发票，下单时填写抬头和税号即可。",
     "售中", "发票", "已发布", None, None],
]
# Sheet 售后问题: the header on row 1, spelled with a required-mark and a bracketed note.
AFTER_SALES_HEADER = ["标准问题*", "相似问题", "答案（必填）", "分类", "标签", "状态"]
AFTER_SALES = [
    ["七天无理由退货怎么申请？", "不想要了能退吗|怎么退货", "签收后7天内，在订单页点“申请售后”选择退货退款。",
     "售后", "退货", "已发布"],
    ["退货运费谁承担？", "退货要自己出运费吗", "质量问题由我们承担运费；非质量问题由买家承担，买了运费险可以理赔。",
     "售后", "退货；运费险", "已发布"],
    ["收到的商品有破损怎么办？", "商品坏了\n包裹破了", "请在签收48小时内拍照联系客服，我们为您补发或退款。",
     "售后", "破损", "已发布"],
]
# Sheet 填写说明 has no header row at all.
INSTRUCTIONS = [["填写说明"], ["1. 每行一个标准问题，答案必填。"], ["2. 相似问题可换行填写。"]]

EMPTY_ANSWER = ["退货地址是哪里？", "寄回地址", None, "售后", "退货", "已发布", None, None]
DUPLICATE = ["多久发货？", "", "当天发货。", "售中", "", "已发布", None, None]
EXTRA = ["会员积分怎么用？", "积分能抵钱吗", "100积分抵1元，结算时勾选使用积分。", "账户", "会员", "已发布"]


def shop_workbook(path: Path, *, answers: dict[str, str] | None = None, drop: tuple = (),
                  empty_answer: bool = False, duplicate: bool = False, extra: bool = False,
                  cross_sheet_duplicate: bool = False) -> Path:
    """The shop's FAQ workbook (8 entries, one a draft), or a variant of it.

    `answers` changes answers by question; `drop` blanks rows (so row numbers stay);
    `empty_answer` puts a row without an answer at row 17 of 常见问题 (rows 9-16 empty),
    `duplicate` repeats 多久发货？ at row 18; `extra` adds a row to 售后问题 (row 5);
    `cross_sheet_duplicate` repeats 多久发货？ with another answer at row 5 of 售后问题.
    """
    from openpyxl import Workbook

    answers = answers or {}

    def rows(data, answer_col):
        out = []
        for row in data:
            if row is None or row[0] in drop:
                out.append(None)
                continue
            row = list(row)
            row[answer_col] = answers.get(row[0], row[answer_col])
            out.append(row)
        return out

    book = Workbook()
    sheet = book.active
    sheet.title = "常见问题"
    sheet.append([TITLE])
    sheet.merge_cells("A1:H1")
    sheet.append(HEADER)
    shipping = rows(SHIPPING, 2)
    if empty_answer or duplicate:
        shipping += [None] * 8 + [EMPTY_ANSWER if empty_answer else None]
    if duplicate:
        shipping.append(DUPLICATE)
    for row in shipping:
        sheet.append(row or [])
    sheet.merge_cells("D3:D5")
    after = book.create_sheet("售后问题")
    after.append(AFTER_SALES_HEADER)
    for row in rows(AFTER_SALES, 2) + ([EXTRA] if extra else []):
        after.append(row or [])
    if cross_sheet_duplicate:
        after.append(["多久发货？", "", "下单当天就发货。", "售后", "", "已发布"])
    notes = book.create_sheet("填写说明")
    for row in INSTRUCTIONS:
        notes.append(row)
    book.save(path)
    return path


# -- text formats -------------------------------------------------------------------------------

def jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


# -- documents ---------------------------------------------------------------------------------

MANUAL = [
    ("产品规格", ["本产品为纯棉四件套，适用于1.8米床，含被套一件、床单一件、枕套两只。"],
     [["部件", "尺寸"], ["被套", "200×230厘米"], ["床单", "245×250厘米"], ["枕套", "48×74厘米"]]),
    ("洗涤说明", ["首次使用前建议单独清洗一次，水温不超过30℃，可以机洗，请选择轻柔模式。",
                  "请勿漂白，不可暴晒，放在阴凉通风处晾干。"], None),
    ("保修与售后", ["自签收之日起30天内出现开线、掉色等质量问题，可免费换新。"], None),
]
# The manual after an edit: the second washing paragraph and the warranty section are gone.
MANUAL_EDITED = [MANUAL[0], ("洗涤说明", MANUAL[1][1][:1], None)]


def manual_docx(path: Path, sections=MANUAL) -> Path:
    """A product manual: a level-1 heading per section, its paragraphs, then its table."""
    import docx

    doc = docx.Document()
    for title, paragraphs, table in sections:
        doc.add_heading(title, level=1)
        for text in paragraphs:
            doc.add_paragraph(text)
        if table:
            grid = doc.add_table(rows=len(table), cols=len(table[0]))
            for r, cells in enumerate(table):
                for c, text in enumerate(cells):
                    grid.cell(r, c).text = text
    doc.save(path)
    return path


PDF_PAGES = [
    ["声波电动牙刷使用说明：首次使用前请将牙刷充满电，充电时间",
     "约为四小时，充满后指示灯由闪烁变为常亮。牙刷共有清洁、美白",
     "和敏感三种模式，短按电源键切换模式，长按两秒关机。每次刷牙",
     "两分钟，每三十秒牙刷会短暂停顿一次，提醒您更换刷牙区域。刷头",
     "建议每三个月更换一次，刷毛出现明显弯曲时请提前更换。请勿使用",
     "热水冲洗刷头，也不要用力按压牙齿，以免损伤牙龈。刷牙结束后请用",
     "清水冲洗刷头并甩干，取下刷头擦干金属轴，防止积水和水垢。出差",
     "时可以长按模式键三秒开启旅行锁，避免在行李中误启动。电量不足",
     "时指示灯变为红色闪烁，请及时充电，满电一般可以使用三十天。"],
    ["防水与保修：机身防水等级为IPX7，可以在淋浴时使用，但请勿",
     "长时间浸泡在水中。充电底座不防水，请放在干燥处。主机保修两年，",
     "刷头属于耗材不在保修范围内。保修期内出现无法充电、无法开机等",
     "问题，请联系客服寄回检测，我们承担往返运费。人为摔坏、进水后",
     "拆机等情况不在保修范围内，可付费维修。"],
]


def pdf(path: Path, pages=PDF_PAGES) -> Path:
    """A PDF with one page per list of lines, in reportlab's built-in CJK font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for lines in pages:
        c.setFont("STSong-Light", 12)
        for i, line in enumerate(lines):
            c.drawString(60, 780 - 18 * i, line)
        c.showPage()
    c.save()
    path.write_bytes(buf.getvalue())
    return path

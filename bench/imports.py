"""Bulk-import cost: XLSX FAQ throughput vs the embedder alone, documents, and quality parity.

Each scenario runs in its own child process (this script with --child, so every peak
RSS is that scenario's own) on synthetic data generated into a temporary folder:

1. xlsx: a --rows FAQ sheet as a shop exports it (Chinese headers, a title line, similar
   questions one per line in one cell, no ids), made by recombining shop vocabulary
   written for this benchmark (products x variants x problems x question templates, ~3
   phrasings a row, nearly all distinct), imported by BulkImporter.run(walk([file])) into
   a fresh data folder with the real models, then kb.index() as `kefu import` does.
   Wall time is split by wrapping, in the child only, kefu's own functions: reading and
   parsing (importers.load), the dry-run plan (Store.import_entries(dry_run=True)),
   finding changed rows and normalising (KnowledgeBase._new_texts, normalize), embedding
   (KnowledgeBase.embed_documents, with the encoders' own encode_documents inside it),
   the store write transaction (Store.import_entries) and the index build
   (KnowledgeBase.refresh and the final kb.index()).
2. embed: the same phrasings (normalised and deduplicated as the import does, outside
   the timer) through each model's encode_documents in batches of 256, nothing else.
   Target: everything but embedding costs <= 20% of the import, i.e.
   import rows/s >= 0.8 x embedder texts/s / phrasings per row.
3. docs: --docs documents, half DOCX (python-docx: headings, paragraphs, a table) and
   half PDF (reportlab, STSong-Light CID font), two to three pages each, imported by
   BulkImporter; run for 1/4, 1/2 and all of them, to show peak RSS stays flat in the
   number of files.
4. quality: ../shared/bench/shop-dev/kb.jsonl imported as it is and as an XLSX written by
   kefu.kb.io.write_entries, each into its own fresh data folder through BulkImporter,
   then scored exactly as `kefu eval` scores (suggest.evaluate.load_queries/score on
   Retriever.search results); `kefu eval`'s own evaluate() runs beside them as the
   reference.

Peak RSS is VmHWM, reset (/proc/self/clear_refs) after the models are loaded, so it is the
peak during the import with the models resident; the child's whole-life peak is shown too.
Numbers only; the machine's load average is printed, since other processes on the same
cores slow every number down.

    python bench/imports.py                 # 10k rows, 100 documents, quality (about an hour on 2 cores)
    python bench/imports.py --quick         # 600 rows, 12 documents (~5 min)
    python bench/imports.py --rows 3000 --docs 40 --skip-quality --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import latency  # noqa: E402  (StageTimer)

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT.parent / "shared" / "bench" / "shop-dev"
TARGET_SHARE = 0.8  # import rows/s must reach this share of what the embedder alone allows
EMBED_BATCH = 256

# -- synthetic shop vocabulary (written for this benchmark) ---------------------------------

# (product, kind): kind picks the problems that make sense for it.
PRODUCTS = [(p, "wear") for p in """羊绒大衣 真丝衬衫 针织开衫 牛仔外套 冲锋衣 棉麻长裙 高腰阔腿裤 加绒卫裤 纯棉短袖
    法式碎花裙 西装套装 羽绒马甲 儿童背带裤 孕妇连衣裙 防晒衣 摇粒绒外套 格子衬衫 运动文胸 冰丝睡衣 毛呢半裙""".split()] \
    + [(p, "shoe") for p in "小白鞋 马丁靴 老爹鞋 乐福鞋 洞洞鞋 雪地靴 跑步鞋 帆布鞋 一脚蹬 凉拖".split()] \
    + [(p, "bag") for p in "托特包 斜挎包 帆布袋 登机箱 腰包 电脑包 零钱包".split()] \
    + [(p, "beauty") for p in "粉底液 气垫BB 卸妆油 精华液 眼霜 身体乳 洗发露 护手霜 唇釉 眉笔 防晒喷雾 面霜".split()] \
    + [(p, "device") for p in """降噪耳机 智能手环 扫地机器人 破壁机 电热水壶 挂烫机 卷发棒 移动电源 机械键盘 无线鼠标
    电动剃须刀 筋膜枪""".split()] \
    + [(p, "home") for p in "乳胶枕 蚕丝被 记忆棉床垫 真空收纳袋 香薰蜡烛 懒人沙发 遮光窗帘 浴巾套装 陶瓷餐具".split()] \
    + [(p, "food") for p in "每日坚果 挂耳咖啡 牛肉干 燕麦片 阿胶糕 和田红枣 普洱茶饼 螺蛳粉 手工月饼".split()] \
    + [(p, "baby") for p in "婴儿湿巾 学饮杯 安抚奶嘴 猫砂 冻干猫粮 宠物牵引绳 婴儿推车".split()]

VARIANTS = {
    "wear": "米白色 燕麦色 雾霾蓝 焦糖色 墨绿色 酒红色 浅灰色 藏青色 奶咖色 樱花粉 S码 M码 L码 XL码 均码 加厚款 宽松版".split(),
    "shoe": "35码 36码 37码 38码 39码 40码 41码 42码 米白色 黑色 灰粉色 增高款 加绒款 透气款".split(),
    "bag": "大号 中号 小号 黑色 焦糖色 奶白色 20寸 24寸 升级款 联名款".split(),
    "beauty": "30ml装 50ml装 旅行装 正装 套装 亮白色号 自然色号 滋润型 清爽型 限定款".split(),
    "device": "标准版 Pro版 旗舰款 青春版 白色 黑色 国行版 礼盒装 2025新款 升级款".split(),
    "home": "单人款 双人款 1.5米 1.8米 加大号 米色 灰色 四件套 两只装 家庭装".split(),
    "food": "500g装 1kg装 礼盒装 家庭装 原味 微辣 无糖款 小包装 30袋装 经典款".split(),
    "baby": "新生儿款 大童款 加厚款 10包装 2kg装 5kg装 小型犬用 中型犬用 轻便款 经典款".split(),
}

# (problem, category, kinds it applies to ("" = all), answer, question templates)
# Templates use {p} for the product as named in the row; the first is the standard question.
PROBLEMS = [
    ("选码", "售前", "wear shoe", "{p}按详情页尺码表选，拿不准可以把身高体重发给客服推荐。",
     ["{p}怎么选尺码", "{p}偏大还是偏小", "{p}平时穿M的拍哪个码", "{p}尺码准不准", "{p}胖一点的穿哪个码"]),
    ("面料", "售前", "wear home", "{p}面料成分见吊牌和详情页参数。",
     ["{p}是什么面料", "{p}含棉量多少", "{p}穿着扎不扎", "{p}透气吗", "{p}夏天穿热不热"]),
    ("起球", "售后", "wear home", "{p}轻微起球属正常现象，可用去球器处理，严重的联系客服。",
     ["{p}起球了怎么办", "{p}穿了几次就起球", "{p}会起毛吗", "{p}起球能退吗"]),
    ("洗涤", "售前", "wear home bag", "{p}建议三十度以下冷水手洗，反面晾干。",
     ["{p}可以机洗吗", "{p}怎么清洗", "{p}能用洗衣液吗", "{p}洗了会不会缩", "{p}要干洗吗"]),
    ("掉色", "售后", "wear shoe bag", "{p}首次洗涤轻微浮色正常，加盐冷水浸泡可缓解。",
     ["{p}掉色严重", "{p}洗一次就褪色了", "{p}染到别的衣服上了", "{p}颜色洗浅了"]),
    ("鞋底", "售后", "shoe", "{p}开胶断底在保修期内免费处理。",
     ["{p}开胶了", "{p}鞋底断了", "{p}穿了一个月鞋底磨平", "{p}走路有响声"]),
    ("磨脚", "售前", "shoe", "{p}新鞋稍硬，穿几天会变软，可垫后跟贴。",
     ["{p}磨脚吗", "{p}穿着硌脚", "{p}后跟磨破皮了", "{p}会不会夹脚"]),
    ("容量", "售前", "bag", "{p}容量参数见详情页实拍图。",
     ["{p}能装下电脑吗", "{p}能放几件衣服", "{p}能装A4文件吗", "{p}能带上飞机吗"]),
    ("肤质", "售前", "beauty", "{p}适合大多数肤质，敏感肌建议先在耳后试用。",
     ["{p}敏感肌能用吗", "{p}油皮适合吗", "{p}干皮用会不会拔干", "{p}孕妇可以用吗", "{p}学生党能用吗"]),
    ("色号", "售前", "beauty", "{p}色号可以参考详情页试色图，黄皮建议选自然色。",
     ["{p}黄皮选哪个色号", "{p}色号怎么选", "{p}会显黑吗", "{p}白皮用哪个颜色"]),
    ("过敏", "售后", "beauty", "{p}出现不适请立即停用，拍照联系客服办理退款。",
     ["用{p}过敏了", "{p}擦完脸发红发痒", "{p}用了长闭口", "{p}过敏了能退吗"]),
    ("保质期", "售前", "beauty food baby", "{p}保质期和生产日期印在外包装底部。",
     ["{p}保质期多久", "{p}生产日期是哪天", "{p}开封后能放多久", "{p}临期吗"]),
    ("真假", "售前", "beauty device", "{p}品牌授权正品，支持专柜验货，假一赔十。",
     ["{p}是正品吗", "{p}能验货吗", "{p}有没有防伪码", "{p}和专柜一样吗"]),
    ("续航", "售前", "device", "{p}满电续航以详情页实测数据为准。",
     ["{p}续航多久", "{p}充满电要多久", "{p}能用几天", "{p}电池耐用吗"]),
    ("连接", "售后", "device", "{p}连接不上请先恢复出厂设置再重新配对。",
     ["{p}连不上手机", "{p}蓝牙搜不到", "{p}配对失败", "{p}老是断连"]),
    ("保修", "售后", "device home", "{p}整机保修一年，寄回厂家检测维修。",
     ["{p}保修多久", "{p}坏了怎么保修", "{p}过保了还能修吗", "{p}保修要发票吗"]),
    ("噪音", "售后", "device", "{p}运行声音在标准范围内，异响请录视频给客服。",
     ["{p}声音太大", "{p}有异响", "{p}噪音正常吗", "{p}转起来咔咔响"]),
    ("电压", "售前", "device", "{p}为国行220V电压，出国需配转换器。",
     ["{p}出国能用吗", "{p}是220V的吗", "{p}插头是什么标准", "{p}香港能用吗"]),
    ("口味", "售前", "food", "{p}口味偏清淡，详情页有配料表。",
     ["{p}辣不辣", "{p}甜不甜", "{p}是什么口味", "{p}小孩能吃吗", "{p}有没有添加剂"]),
    ("储存", "售前", "food", "{p}请放阴凉干燥处，开封后尽快食用。",
     ["{p}怎么保存", "{p}要放冰箱吗", "{p}开封了能放几天", "{p}夏天会不会化"]),
    ("变质", "售后", "food", "{p}收到变质请拍照，给您补发或退款。",
     ["{p}收到发霉了", "{p}有异味是不是坏了", "{p}里面有虫", "{p}胀袋了"]),
    ("适龄", "售前", "baby", "{p}适用年龄见外包装标注。",
     ["{p}几个月能用", "{p}适合多大的宝宝", "{p}新生儿能用吗", "{p}多大的狗能用"]),
    ("尺寸", "售前", "home bag", "{p}尺寸见详情页参数图，手工测量有一到两厘米误差。",
     ["{p}尺寸多大", "{p}长宽高是多少", "{p}放得进我家吗", "{p}实际尺寸和写的一样吗"]),
    ("气味", "售后", "home wear shoe bag", "{p}新品有轻微气味，通风几天即可散去。",
     ["{p}味道很大", "{p}有股胶味", "{p}刺鼻正常吗", "{p}放了几天还有味"]),
    ("库存", "售前", "", "{p}页面能选的规格都有现货。",
     ["{p}还有货吗", "{p}什么时候补货", "{p}断货了吗", "{p}到货了能通知我吗"]),
    ("优惠", "售前", "", "{p}可领店铺满减券，活动期间叠加使用。",
     ["{p}有优惠券吗", "{p}能便宜点吗", "{p}满减怎么算", "{p}会员有折扣吗", "{p}今天有活动吗"]),
    ("价保", "售中", "", "{p}支持下单后十五天价保，降价可申请退差价。",
     ["{p}降价了退差价吗", "{p}买贵了怎么办", "{p}价保几天", "刚买的{p}就降价了"]),
    ("赠品", "售中", "", "{p}赠品随主商品一起发出，数量有限送完即止。",
     ["{p}送什么赠品", "{p}赠品没收到", "{p}赠品能换吗", "买{p}有小样吗"]),
    ("发货", "售中", "", "{p}付款后四十八小时内发货，预售按页面时间。",
     ["{p}什么时候发货", "{p}今天能发吗", "{p}几天发货", "{p}怎么还没发", "拍了{p}多久能发出"]),
    ("快递", "售中", "", "{p}默认韵达发货，补差价可发顺丰。",
     ["{p}发什么快递", "{p}能发顺丰吗", "{p}能指定快递吗", "{p}能寄到驿站吗"]),
    ("运费", "售前", "", "{p}满八十八包邮，新疆西藏需补运费。",
     ["{p}包邮吗", "{p}运费多少", "{p}偏远地区包邮吗", "{p}邮费谁出"]),
    ("改地址", "售中", "", "{p}发货前可在订单详情里修改地址。",
     ["{p}地址填错了", "{p}能改收货地址吗", "{p}想换个地址收", "{p}发出去了还能改地址吗"]),
    ("物流", "售中", "", "{p}物流几天不更新，客服帮您联系快递核实。",
     ["{p}物流不动了", "{p}快递好几天没更新", "{p}一直在路上", "{p}卡在中转站了"]),
    ("签收", "售中", "", "{p}显示签收未收到，请先问问门卫和驿站。",
     ["{p}显示签收了但没收到", "{p}被人代签了", "{p}快递放哪里了", "{p}没收到怎么就签收了"]),
    ("取消", "售中", "", "{p}未发货可直接申请退款，秒退。",
     ["{p}怎么取消订单", "{p}拍错了想取消", "{p}不想要了能退款吗", "{p}取消了钱什么时候退"]),
    ("退货", "售后", "", "{p}支持七天无理由退货，吊牌包装需完好。",
     ["{p}怎么退货", "{p}不喜欢能退吗", "{p}七天无理由吗", "{p}退货地址在哪", "{p}拆封了还能退吗"]),
    ("换货", "售后", "", "{p}可在订单页申请换货，寄回后重新发出。",
     ["{p}能换吗", "{p}怎么换货", "{p}换个规格可以吗", "{p}换货运费谁出"]),
    ("退款", "售后", "", "{p}退款审核通过后一到三个工作日原路退回。",
     ["{p}退款什么时候到账", "{p}退款怎么还没到", "{p}退款进度在哪看", "{p}退款退到哪里"]),
    ("破损", "售后", "", "{p}运输破损请拍照，给您补发或退款。",
     ["{p}收到是坏的", "{p}快递压坏了", "{p}包装破了", "{p}到手就有划痕"]),
    ("错发", "售后", "", "{p}发错由我们承担运费为您换货。",
     ["{p}发错了", "{p}颜色发错了", "{p}少发了一件", "{p}收到的不是我拍的"]),
    ("发票", "售中", "", "{p}可开电子普票，下单时填写抬头和税号。",
     ["{p}能开发票吗", "{p}发票怎么开", "{p}能开专票吗", "{p}发票抬头写错了"]),
    ("投诉", "投诉", "", "{p}给您带来不好的体验非常抱歉，主管会在二十四小时内联系您。",
     ["{p}客服不回消息", "{p}我要投诉", "{p}售后一直推", "{p}问题拖了好几天没解决"]),
    ("不符", "投诉", "", "{p}与描述不符可退货退款，来回运费由我们承担。",
     ["{p}和图片不一样", "{p}跟描述不符", "{p}实物差太多了", "{p}是不是虚假宣传"]),
    ("积分", "账户", "", "{p}确认收货后积分到账，一百积分抵一元。",
     ["买{p}有积分吗", "{p}积分什么时候到账", "{p}能用积分抵扣吗", "{p}积分怎么没加"]),
    ("评价", "账户", "", "{p}晒图评价可获得积分奖励。",
     ["{p}好评有返现吗", "{p}评价能修改吗", "{p}追评在哪写", "{p}晒图有奖励吗"]),
]
PRODUCT_FORMS = ["{v}{n}", "{n}", "这款{n}", "{v}的{n}", "刚买的{n}", "你们家的{n}", "{n}（{v}）", "那个{v}{n}"]
LEADS = ["", "", "", "亲，", "请问", "你好，", "在吗？", "客服，", "麻烦问下，", "我想问一下，"]
TAILS = ["", "", "", "？", "?", "呀", "呢", "啊", "！", "…"]


def make_rows(n: int, seed: int = 7) -> list[dict]:
    """`n` FAQ rows (question, 2 similar, answer, category, tags) with unique questions."""
    rnd = random.Random(seed)
    combos = [(pi, vi, ti) for pi, (_, kind) in enumerate(PRODUCTS) for vi in range(len(VARIANTS[kind]))
              for ti, prob in enumerate(PROBLEMS) if not prob[2] or kind in prob[2].split()]
    rnd.shuffle(combos)
    rows, seen = [], set()
    for pi, vi, ti in combos:
        if len(rows) == n:
            break
        name, kind = PRODUCTS[pi]
        var = VARIANTS[kind][vi]
        problem, category, _, answer, templates = PROBLEMS[ti]
        question = templates[0].format(p=var + name)
        if question in seen:
            continue
        seen.add(question)
        others = rnd.sample(templates[1:], 2)
        similar = [rnd.choice(LEADS) + t.format(p=rnd.choice(PRODUCT_FORMS).format(v=var, n=name))
                   + rnd.choice(TAILS) for t in others]
        days = rnd.choice(["", f"如有疑问请在{rnd.randint(2, 30)}天内联系我们。", "感谢您的支持！",
                           f"活动期间另有{rnd.randint(5, 9)}折优惠。"])
        rows.append({"question": question, "similar": similar,
                     "answer": "亲，" + answer.format(p=var + name) + days,
                     "category": category, "tags": [problem, name]})
    if len(rows) < n:
        raise SystemExit(f"at most {len(rows)} distinct synthetic rows, asked for {n}")
    return rows


def write_faq_xlsx(rows: list[dict], path: Path) -> None:
    """A shop-style export: a title line, Chinese headers, list cells one item a line."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "知识库"
    sheet.append([f"店铺知识库导出（共{len(rows)}条）"])
    sheet.append(["标准问题", "相似问法", "答案", "分类", "标签"])
    for r in rows:
        sheet.append([r["question"], "\n".join(r["similar"]), r["answer"], r["category"], "|".join(r["tags"])])
    book.save(path)


# -- synthetic documents ----------------------------------------------------------------

MATERIALS = "新疆长绒棉 桑蚕丝 澳洲美利奴羊毛 高密度涤纶 天然乳胶 食品级硅胶 航空铝材 环保PU 进口牛皮 竹纤维".split()
BRANDS = "暖阳 云织 木棉家 山野集 拾光 栖谷 青禾 南屿 小满 素里".split()
SECTIONS = {
    "产品简介": ["{b}{p}选用{m}，做工细致，适合日常使用。", "这款{p}是{b}今年的主推款，累计售出{n}万件。",
             "{p}的设计灵感来自{c}，兼顾美观与实用。", "我们对每一批{p}都做抽检，合格率保持在百分之{k}以上。",
             "{p}经过{n}道工序制作，细节经得起近看。", "相比上一代，新版{p}重量减轻了{k}克。"],
    "使用方法": ["首次使用{p}前，请先阅读本说明并检查配件是否齐全。", "使用{p}时请避免接触明火和尖锐物品。",
             "{p}每次连续使用不宜超过{n}小时，中途注意休息。", "如{p}出现异常，请立即停止使用并联系客服。",
             "儿童使用{p}时需在成人看护下进行。", "{p}在零下{n}度到四十度的环境中都能正常使用。"],
    "清洗与保养": ["{m}材质较为娇贵，{p}建议冷水手洗，不可漂白。", "{p}清洗后请平铺阴干，避免阳光直射导致变色。",
              "长期不用时，请将{p}放入防尘袋并置于干燥处。", "{p}表面有污渍时，可用软布蘸少量中性清洁剂擦拭。",
              "请勿将{p}放入烘干机，高温会让{m}变形。", "每隔{n}个月检查一次{p}的接缝和配件。"],
    "售后服务": ["{p}自签收之日起支持七天无理由退换，商品需保持完好。", "{p}质量问题{n}天内包换，运费由本店承担。",
             "退换{p}时请在包裹内附上订单号和问题说明。", "{p}的保修期为{n}个月，人为损坏不在保修范围内。",
             "客服工作时间为每天九点到二十三点，节假日照常服务。", "退款会在收到退货后{n}个工作日内原路退回。"],
    "常见问题": ["问：{p}会缩水吗？答：按说明洗涤，缩水率在百分之{k}以内。", "问：{p}有色差吗？答：实物拍摄，不同屏幕可能略有差异。",
             "问：{p}能送人吗？答：可以备注礼盒包装，不放价格单。", "问：{p}支持定制吗？答：满{n}件可定制，工期约两周。",
             "问：{p}多久能到？答：江浙沪一般次日达，其他地区{n}天左右。", "问：{p}有异味吗？答：新品轻微气味，通风后消散。"],
}
INSPIRATIONS = "江南园林 北欧森林 海边清晨 老上海弄堂 雪山日落 稻田秋收 古镇石板路 城市夜景".split()


def _paragraph(rnd: random.Random, section: str, p: str, b: str, m: str, sentences: int) -> str:
    return "".join(rnd.choice(SECTIONS[section]).format(p=p, b=b, m=m, n=rnd.randint(2, 48), k=rnd.randint(3, 99),
                                                         c=rnd.choice(INSPIRATIONS))
                   for _ in range(sentences))


def make_document(i: int, seed: int = 11) -> dict:
    """Title, sections (heading + paragraphs) and a spec table of one product manual."""
    rnd = random.Random(seed * 100_003 + i)
    name, kind = rnd.choice(PRODUCTS)
    p = rnd.choice(VARIANTS[kind]) + name
    b, m = rnd.choice(BRANDS), rnd.choice(MATERIALS)
    sections = []
    for title in SECTIONS:
        paras = [_paragraph(rnd, title, p, b, m, rnd.randint(3, 6)) for _ in range(rnd.randint(2, 4))]
        sections.append((title, paras))
    table = [["项目", "参数", "说明"], ["品牌", b, "官方授权"], ["材质", m, "详见吊牌"],
             ["规格", rnd.choice(VARIANTS[kind]), "以实物为准"], ["产地", rnd.choice(["浙江", "广东", "福建", "江苏"]), "国产"],
             ["执行标准", f"GB/T {rnd.randint(1000, 39999)}-20{rnd.randint(10, 25)}", "合格"],
             ["保修", f"{rnd.randint(3, 24)}个月", "人为损坏除外"]]
    return {"title": f"{b}{p}使用说明书（第{i + 1}版）", "sections": sections, "table": table}


def write_docx(doc: dict, path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading(doc["title"], level=1)
    for n, (title, paras) in enumerate(doc["sections"]):
        d.add_heading(title, level=2)
        for k, text in enumerate(paras):
            if k == 1 and len(paras) > 2:
                d.add_heading(f"{title}要点{k}", level=3)
            d.add_paragraph(text)
        if n == 0:
            t = d.add_table(rows=len(doc["table"]), cols=3)
            for r, cells in enumerate(doc["table"]):
                for c, value in enumerate(cells):
                    t.cell(r, c).text = value
    d.save(path)


_PDF_STYLES = None


def write_pdf(doc: dict, path: Path) -> None:
    global _PDF_STYLES
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

    if _PDF_STYLES is None:
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont

        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        _PDF_STYLES = {n: ParagraphStyle(n, fontName="STSong-Light", fontSize=s, leading=s * 1.5, wordWrap="CJK",
                                         spaceAfter=s * 0.6) for n, s in (("h1", 18), ("h2", 14), ("body", 11))}
    st = _PDF_STYLES
    story = [Paragraph(doc["title"], st["h1"])]
    for n, (title, paras) in enumerate(doc["sections"]):
        story.append(Paragraph(title, st["h2"]))
        story += [Paragraph(text, st["body"]) for text in paras]
        if n == 0:
            story += [Table(doc["table"], style=[("FONTNAME", (0, 0), (-1, -1), "STSong-Light"),
                                                 ("GRID", (0, 0), (-1, -1), 0.5, (0, 0, 0))]), Spacer(1, 12)]
    SimpleDocTemplate(str(path), pagesize=A4, title=doc["title"]).build(story)


def write_documents(n: int, folder: Path) -> dict:
    """doc-000.docx, doc-001.pdf, ...: every prefix of the sorted list is half DOCX, half PDF."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = 0
    for i in range(n):
        doc = make_document(i)
        chars += len(doc["title"]) + sum(len(t) + sum(map(len, ps)) for t, ps in doc["sections"])
        (write_docx if i % 2 == 0 else write_pdf)(doc, folder / f"doc-{i:03d}.{'docx' if i % 2 == 0 else 'pdf'}")
    return {"files": n, "chars": chars, "bytes": sum(f.stat().st_size for f in folder.iterdir())}


# -- measuring helpers ------------------------------------------------------------------

def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux clear_refs 5); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _progress(label: str):
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 10 or (done == total and stage != "rows"):
            last[0] = time.perf_counter()
            _log(f"{label}: {stage} {done}/{total}")
    return progress


class Phases(latency.StageTimer):
    """latency.StageTimer (wraps functions only inside `patched`, restored on exit), summing
    time by call path: a call made inside another wrapped call is recorded as "outer/inner"
    and also counts in outer."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []

    def wrap(self, name, fn):
        """`name` is a string, or a function of (args, kwargs) naming each call."""
        def timed(*a, **kw):
            self.stack.append(name(a, kw) if callable(name) else name)
            path = "/".join(self.stack)
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.total[path] = self.total.get(path, 0.0) + time.perf_counter() - t
                self.calls[path] = self.calls.get(path, 0) + 1
                self.stack.pop()
        return timed

    def get(self, path: str) -> float:
        return self.total.get(path, 0.0)

    def sum(self, prefix: str, leaf_start: str) -> float:
        """Total of the direct children of `prefix` whose name starts with `leaf_start`."""
        return sum(v for k, v in self.total.items()
                   if k.startswith(prefix + "/") and "/" not in k[len(prefix) + 1:]
                   and k[len(prefix) + 1:].startswith(leaf_start))


def _targets(embedders):
    """What the import is split by: kefu's own functions, wrapped in this child only."""
    import kefu.kb.base as base
    import kefu.kb.bulk as bulk
    from kefu.kb.base import KnowledgeBase
    from kefu.kb.index import Index, IndexDir
    from kefu.kb.store import Store
    from kefu.kb.text import Segmenter

    t = [(bulk, "load", "read+parse"),
         (KnowledgeBase, "import_entries", "kb.import_entries"),
         (KnowledgeBase, "_new_texts", "find changed rows"),
         (base, "normalize", "normalize"),
         (KnowledgeBase, "embed_documents", "embed_documents"),
         (Store, "cached_vectors", "cache read"),
         (Store, "save_vectors", "cache write"),
         (Store, "import_entries",  # KnowledgeBase.import_entries plans with a dry run first
          lambda a, kw: "store dry-run plan" if kw.get("dry_run") else "store write transaction"),
         (Store, "published_hash", "published_hash"),
         (KnowledgeBase, "refresh", "refresh (index build)"),
         (KnowledgeBase, "passage_index", "passage index"),
         (Segmenter, "__init__", "jieba init"),
         (Segmenter, "tokens", "segment (jieba)"),
         (Index, "add", "Index.add"),
         (Index, "refresh_lexical", "BM25 build"),
         (Index, "save", "Index.save"),
         (IndexDir, "publish", "publish")]
    t += [(e, "encode_documents", f"encode {e.id}") for e in embedders]
    return t


@contextlib.contextmanager
def _listed_iter_published():
    """Store.iter_published as a list, so its time is spent (and counted) where it is called."""
    from kefu.kb.store import Store

    orig = Store.iter_published
    Store.iter_published = lambda self: iter(list(orig(self)))
    try:
        yield
    finally:
        Store.iter_published = orig


def _tree(ph: Phases, total: float) -> list[list]:
    """[path, seconds, share of total, calls] for every timed path, in call-tree order."""
    return [[k, round(v, 3), round(v / total, 4) if total else 0.0, ph.calls[k]] for k, v in sorted(ph.total.items())]


def _load_models(spec: dict):
    from kefu.kb.embed import load_embedders

    t = time.perf_counter()
    embedders = load_embedders(spec["models"], spec.get("threads"))
    return embedders, round(time.perf_counter() - t, 2)


def _run_import(spec: dict, label: str) -> dict:
    """Load models, then BulkImporter.run(walk([path])) + kb.index() into a fresh data folder, timed."""
    from kefu.kb.base import KnowledgeBase
    from kefu.kb.bulk import BulkImporter, ImportOptions, walk

    res: dict = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    embedders, res["load_models_s"] = _load_models(spec)
    res["models"] = {e.id: e.dim for e in embedders}
    for e in embedders:  # first use pages the weights in: not part of the import
        e.encode_documents(["预热一下模型"])
    res["rss_after_models_mb"] = _status_mb("VmRSS")
    hwm_before = _status_mb("VmHWM")
    res["peak_reset"] = _reset_peak()
    home = Path(spec["home"])
    shutil.rmtree(home, ignore_errors=True)
    kb = KnowledgeBase(home, embedders, progress=_progress(label))
    files = list(walk([Path(spec["path"])]))
    importer = BulkImporter(kb, ImportOptions(author="bench"))
    per_file: list[tuple[int, float, float]] = []  # files done, VmRSS, VmHWM
    orig_import_file = importer.import_file

    def import_file(*a, **kw):
        r = orig_import_file(*a, **kw)
        per_file.append((len(per_file) + 1, _status_mb("VmRSS"), _status_mb("VmHWM")))
        return r
    importer.import_file = import_file
    ph = Phases()
    with _listed_iter_published(), ph.patched(_targets(embedders)):
        t0 = time.perf_counter()
        results = importer.run(files)
        t1 = time.perf_counter()
        kb.index()  # what `kefu import` does next: must find the index current
        t2 = time.perf_counter()
    total = t2 - t0
    failed = [r for r in results if r.status != "imported"]
    if failed:
        raise SystemExit(f"{label}: {len(failed)} file(s) failed; first: {failed[0].error}")
    entries = list(kb.store.iter_published())
    res.update({
        "files": len(files), "rows": sum(r.rows for r in results), "added": sum(r.added for r in results),
        "rejected": sum(len(r.rejected) for r in results),
        "passages": sum(r.passages.get("added", 0) + r.passages.get("updated", 0) for r in results),
        "entries": len(entries), "phrasings": sum(len(e.phrasings) for e in entries),
        "total_s": round(total, 3), "run_s": round(t1 - t0, 3), "index_after_s": round(t2 - t1, 3),
    })
    imp = "kb.import_entries"
    encode = ph.sum(f"{imp}/embed_documents", "encode ")
    parts = {
        "read+parse": ph.get("read+parse"),
        "find changed rows + normalise": ph.get(f"{imp}/find changed rows") + ph.get(f"{imp}/normalize"),
        "embedding": ph.get(f"{imp}/embed_documents"),
        "store dry-run plan": ph.get(f"{imp}/store dry-run plan"),
        "store write transaction": ph.get(f"{imp}/store write transaction"),
        "index build": ph.get("refresh (index build)") + res["index_after_s"],
    }
    parts["other"] = total - sum(parts.values())
    res["parts_s"] = {k: round(v, 3) for k, v in parts.items()}
    res["embedding_detail_s"] = {
        "model encode": round(encode, 3),
        **{n.split("/")[-1]: round(ph.get(n), 3) for n in ph.total
           if n.startswith(f"{imp}/embed_documents/") and "/encode " in n},
        "cache read": round(ph.get(f"{imp}/embed_documents/cache read"), 3),
        "cache write": round(ph.get(f"{imp}/embed_documents/cache write"), 3),
        "hashing + stacking": round(parts["embedding"] - encode - ph.get(f"{imp}/embed_documents/cache read")
                                    - ph.get(f"{imp}/embed_documents/cache write"), 3)}
    res["model_encode_s"] = round(encode, 3)
    res["encode_calls"] = {e.id: ph.calls.get(f"{imp}/embed_documents/encode {e.id}", 0) for e in embedders}
    res["tree"] = _tree(ph, total)
    res["peak_rss_mb"] = _status_mb("VmHWM")  # since the reset: the import, models resident
    res["peak_rss_process_mb"] = max(hwm_before, res["peak_rss_mb"])
    res["rss_end_mb"] = _status_mb("VmRSS")
    if per_file:
        marks = sorted({max(1, round(len(per_file) * q)) for q in (0.25, 0.5, 0.75, 1.0)})
        res["hwm_after_files_mb"] = {str(per_file[m - 1][0]): per_file[m - 1][2] for m in marks}
    res["db_mb"] = round(sum(f.stat().st_size for f in home.glob("kefu.db*")) / 2**20, 1)
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    kb.close()
    return res


def child_embed(spec: dict) -> dict:
    """The embedder alone: encode_documents on the import's texts, batches of 256."""
    from kefu.kb.text import normalize

    res: dict = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    embedders, res["load_models_s"] = _load_models(spec)
    raw = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    texts = list(dict.fromkeys(normalize(t).text for t in raw))  # as KnowledgeBase.embed_texts
    res["texts"], res["raw_texts"] = len(texts), len(raw)
    res["per_model_s"] = {}
    for e in embedders:
        e.encode_documents(texts[:8])  # warm-up, outside the timer
        t = time.perf_counter()
        for start in range(0, len(texts), EMBED_BATCH):
            e.encode_documents(texts[start:start + EMBED_BATCH])
            if start // EMBED_BATCH % 10 == 9:
                _log(f"embed: {e.id} {start + EMBED_BATCH}/{len(texts)}")
        res["per_model_s"][e.id] = round(time.perf_counter() - t, 3)
        _log(f"embed: {e.id} {len(texts) / res['per_model_s'][e.id]:.1f} texts/s")
    res["total_s"] = round(sum(res["per_model_s"].values()), 3)
    res["texts_per_s"] = round(len(texts) / res["total_s"], 2)
    res["per_model_texts_per_s"] = {k: round(len(texts) / v, 1) for k, v in res["per_model_s"].items()}
    res["peak_rss_process_mb"] = _status_mb("VmHWM")
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return res


def child_quality(spec: dict) -> dict:
    """shop-dev from kb.jsonl and from an XLSX copy, each imported by BulkImporter, scored like `kefu eval`."""
    from kefu.kb.base import KnowledgeBase
    from kefu.kb.bulk import BulkImporter, ImportOptions
    from kefu.kb.entry import Entry
    from kefu.kb.io import read_entries, write_entries
    from kefu.suggest.evaluate import evaluate, load_queries, score
    from kefu.suggest.retrieve import Retriever

    dataset, work = Path(spec["dataset"]), Path(spec["work"])
    embedders, load_s = _load_models(spec)
    entries = [Entry(**d) for d in read_entries(dataset / "kb.jsonl")]
    xlsx = work / "shop-dev-kb.xlsx"
    with open(xlsx, "wb") as fh:
        write_entries(entries, "xlsx", fh)
    queries = load_queries(dataset / "queries.jsonl")
    out: dict = {"dataset": str(dataset), "entries": len(entries), "queries": len(queries), "load_models_s": load_s}

    _log("quality: `kefu eval` reference (suggest.evaluate.evaluate)")
    ref = evaluate(dataset, embedders, progress=_progress("quality ref"), keep_results=True)
    out["reference"] = {k: ref[k] for k in ("recall@1", "recall@5", "mrr", "no_match", "gated")}
    runs = {"reference": ([r["ranked"] for r in ref["results"]], [r["no_match"] for r in ref["results"]])}
    stored = {}
    for fmt, path in (("jsonl", dataset / "kb.jsonl"), ("xlsx", xlsx)):
        _log(f"quality: import {fmt} and search {len(queries)} queries")
        home = work / f"q-{fmt}"
        shutil.rmtree(home, ignore_errors=True)
        kb = KnowledgeBase(home, embedders)
        try:
            t = time.perf_counter()
            results = BulkImporter(kb, ImportOptions(author="bench")).run([path])
            if results[0].status != "imported":
                raise SystemExit(f"quality: {fmt} import failed: {results[0].error}")
            kb.index()
            import_s = time.perf_counter() - t
            # The scoring half of suggest.evaluate.evaluate, on this data folder.
            retriever = Retriever(kb)
            retriever.warm_up()
            found = [retriever.search(q["query"]) for q in queries]
            stored[fmt] = {e.id: e.content() for e in kb.store.entries()}
        finally:
            kb.close()
        ranked = [[h.entry_id for h in r.hits] for r in found]
        flags = [r.no_match for r in found]
        runs[fmt] = (ranked, flags)
        s = score(ranked, flags, queries)
        out[fmt] = {**{k: s[k] for k in ("recall@1", "recall@5", "mrr", "no_match", "gated")},
                    "import_s": round(import_s, 2), "added": results[0].added}
    out["same_entries"] = stored["jsonl"] == stored["xlsx"]
    out["differing_entries"] = sorted(k for k in set(stored["jsonl"]) | set(stored["xlsx"])
                                      if stored["jsonl"].get(k) != stored["xlsx"].get(k))[:10]
    out["identical_rankings_xlsx_vs_jsonl"] = runs["xlsx"] == runs["jsonl"]
    out["identical_rankings_jsonl_vs_reference"] = runs["jsonl"] == runs["reference"]
    out["queries_ranked_differently"] = sum(a != b for a, b in zip(runs["xlsx"][0], runs["jsonl"][0]))
    return out


def child_main(name: str, spec_path: Path, out_path: Path) -> None:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    if name in ("xlsx", "docs"):
        res = _run_import(spec, spec.get("label", name))
    elif name == "embed":
        res = child_embed(spec)
    elif name == "quality":
        res = child_quality(spec)
    else:
        raise SystemExit(f"unknown child {name}")
    out_path.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")


# -- the parent ---------------------------------------------------------------------------

def run_child(name: str, spec: dict, root: Path, label: str) -> dict:
    spec_path, out_path = root / f"spec-{label}.json", root / f"result-{label}.json"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    out_path.unlink(missing_ok=True)
    _log(f"{label}: starting")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", name,
                           "--spec", str(spec_path), "--out", str(out_path)])
    wall = round(time.perf_counter() - t, 1)
    if proc.returncode != 0 or not out_path.exists():
        _log(f"{label}: FAILED (exit code {proc.returncode}) after {wall} s")
        return {"error": f"exit code {proc.returncode}", "child_wall_s": wall}
    res = json.loads(out_path.read_text(encoding="utf-8"))
    res["child_wall_s"] = wall
    _log(f"{label}: done in {wall} s")
    return res


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def summarise(out: dict) -> None:
    """Derived numbers: rates, the embedding-overhead target, memory flatness."""
    x, e = out.get("xlsx"), out.get("embed")
    if x and "error" not in x:
        x["rows_per_s"] = round(x["rows"] / x["total_s"], 2)
        x["texts_per_s"] = round(x["phrasings"] / x["total_s"], 2)
        x["non_encode_share"] = round(1 - x["model_encode_s"] / x["total_s"], 4)
    if x and e and "error" not in x and "error" not in e:
        per_row = x["phrasings"] / x["rows"]
        bound = e["texts_per_s"] / per_row
        # The same texts went through the same encoders inside the import: if they ran slower
        # or faster there than alone, the machine's load changed between the two runs.
        in_import = e["texts"] / x["model_encode_s"]
        out["target"] = {"phrasings_per_row": round(per_row, 3), "embedder_texts_per_s": e["texts_per_s"],
                         "embedder_bound_rows_per_s": round(bound, 2), "import_rows_per_s": x["rows_per_s"],
                         "ratio": round(x["rows_per_s"] / bound, 4), "required": TARGET_SHARE,
                         "pass": x["rows_per_s"] >= TARGET_SHARE * bound,
                         "encoder_texts_per_s_in_import": round(in_import, 2),
                         "encoder_speed_in_import_vs_alone": round(in_import / e["texts_per_s"], 4),
                         "in_run_non_encode_share": x["non_encode_share"],
                         "in_run_pass": x["non_encode_share"] <= 1 - TARGET_SHARE}
    docs = [d for d in out.get("docs", []) if "error" not in d]
    for d in docs:
        d["files_per_s"] = round(d["files"] / d["total_s"], 3)
        d["passages_per_s"] = round(d["passages"] / d["total_s"], 2)
    if len(docs) >= 2:
        lo, hi = docs[0], docs[-1]
        grow = hi["peak_rss_mb"] - lo["peak_rss_mb"]
        over_models = lo["peak_rss_mb"] - lo["rss_after_models_mb"]
        out["docs_memory"] = {"files": [d["files"] for d in docs], "peak_rss_mb": [d["peak_rss_mb"] for d in docs],
                              "growth_mb": round(grow, 1), "growth_share": round(grow / lo["peak_rss_mb"], 4),
                              "growth_per_file_mb": round(grow / (hi["files"] - lo["files"]), 3),
                              "flat": grow <= 0.10 * lo["peak_rss_mb"],
                              "import_over_models_mb": round(over_models, 1)}


def report(out: dict) -> None:
    cfg = out["config"]
    print(f"kefu bulk-import benchmark  models={cfg['models']} threads={cfg['threads'] or 'default'} "
          f"cpus={cfg['cpus']} rows={cfg['rows']} docs={cfg['docs']}")
    x = out.get("xlsx")
    if x:
        print(f"\n1. XLSX import ({cfg['rows']} rows, {out['xlsx_file']['mb']} MB; fresh data folder; "
              f"BulkImporter.run + kb.index())")
        if "error" in x:
            print(f"   FAILED: {x['error']}")
        else:
            print(f"   {x['rows']} rows, {x['phrasings']} phrasings ({x['phrasings'] / x['rows']:.2f} a row), "
                  f"{x['rejected']} rejected; wall {x['total_s']:.1f} s -> {x['rows_per_s']:.1f} rows/s, "
                  f"{x['texts_per_s']:.1f} texts/s")
            print(f"   {'phase':34s} {'s':>9s} {'share':>7s}")
            for k, v in x["parts_s"].items():
                print(f"   {k:34s} {v:9.2f} {_pct(v / x['total_s']):>7s}")
                if k == "embedding":
                    for k2, v2 in x["embedding_detail_s"].items():
                        if k2 != "model encode":
                            print(f"     {k2:32s} {v2:9.2f} {_pct(v2 / x['total_s']):>7s}")
            print(f"   everything but the models' encode: {x['total_s'] - x['model_encode_s']:.2f} s "
                  f"({_pct(x['non_encode_share'])} of the import)")
            print(f"   peak RSS {x['peak_rss_mb']:.0f} MB during the import (models alone {x['rss_after_models_mb']:.0f} MB; "
                  f"child's whole-life peak {x['peak_rss_process_mb']:.0f} MB); store {x['db_mb']} MB; "
                  f"models loaded in {x['load_models_s']} s; load {x['loadavg_start'][0]}/{x['loadavg_end'][0]}")
            print("   call tree (s, share; nested calls also count in their parent):")
            for path, s, share, calls in x["tree"]:
                if s >= 0.005:
                    depth = path.count("/")
                    print(f"     {'  ' * depth}{path.split('/')[-1]:{40 - 2 * depth}s} {s:9.2f} {_pct(share):>7s} "
                          f"{calls:>7d} calls")
    e = out.get("embed")
    if e:
        print(f"\n2. The embedder alone (encode_documents, batches of {EMBED_BATCH}, same texts)")
        if "error" in e:
            print(f"   FAILED: {e['error']}")
        else:
            per = ", ".join(f"{k} {v:.1f} texts/s ({e['per_model_s'][k]:.1f} s)" for k, v in e["per_model_texts_per_s"].items())
            print(f"   {e['texts']} texts: {e['total_s']:.1f} s for all models -> {e['texts_per_s']:.1f} texts/s ({per}); "
                  f"peak RSS {e['peak_rss_process_mb']:.0f} MB")
    t = out.get("target")
    if t:
        print(f"   target: import rows/s >= {t['required']} x embedder texts/s / phrasings per row "
              f"= {t['required']} x {t['embedder_texts_per_s']:.1f} / {t['phrasings_per_row']:.2f} "
              f"= {t['required'] * t['embedder_bound_rows_per_s']:.2f} rows/s")
        print(f"   import {t['import_rows_per_s']:.2f} rows/s vs embedder-bound {t['embedder_bound_rows_per_s']:.2f} rows/s: "
              f"ratio {t['ratio']:.3f} -> {'PASS' if t['pass'] else 'MISS'}")
        print(f"   the encoders ran at {t['encoder_texts_per_s_in_import']:.1f} texts/s inside the import, "
              f"{t['encoder_speed_in_import_vs_alone']:.2f}x their speed alone (load {x['loadavg_start'][0]}/"
              f"{x['loadavg_end'][0]} during the import, {e['loadavg_start'][0]}/{e['loadavg_end'][0]} alone)"
              + ("; far from 1: the machine's load differed, so the ratio above mostly measures that"
                 if abs(t["encoder_speed_in_import_vs_alone"] - 1) > 0.15 else ""))
        print(f"   same run, load-independent: everything but the encoders is {_pct(t['in_run_non_encode_share'])} "
              f"of the import (<= {_pct(1 - TARGET_SHARE)}) -> {'PASS' if t['in_run_pass'] else 'MISS'}")
    docs = out.get("docs")
    if docs:
        info = out["docs_files"]
        print(f"\n3. Documents ({info['files']} files, half DOCX half PDF, {info['chars']} characters, "
              f"{info['bytes'] / 2**20:.1f} MB; BulkImporter.run(walk([folder])) + kb.index())")
        print(f"   {'files':>5s} {'passages':>8s} {'wall s':>8s} {'files/s':>8s} {'passages/s':>10s} {'read s':>7s} "
              f"{'embed s':>8s} {'write s':>7s} {'index s':>7s} {'peak RSS MB':>11s} {'models MB':>9s}  HWM after n files")
        for d in docs:
            if "error" in d:
                print(f"   {'?':>5s} FAILED: {d['error']}")
                continue
            p = d["parts_s"]
            print(f"   {d['files']:>5d} {d['passages']:>8d} {d['total_s']:>8.1f} {d['files_per_s']:>8.2f} "
                  f"{d['passages_per_s']:>10.2f} {p['read+parse']:>7.2f} {p['embedding']:>8.1f} "
                  f"{p['store write transaction']:>7.2f} {p['index build']:>7.2f} {d['peak_rss_mb']:>11.0f} "
                  f"{d['rss_after_models_mb']:>9.0f}  {d.get('hwm_after_files_mb', {})}")
        m = out.get("docs_memory")
        if m:
            print(f"   peak RSS {m['peak_rss_mb']} MB for {m['files']} files: growth {m['growth_mb']:+.1f} MB "
                  f"({_pct(m['growth_share'])}, {m['growth_per_file_mb']:.2f} MB a file) -> "
                  f"{'flat' if m['flat'] else 'NOT flat'} (flat = growth <= 10%)")
    q = out.get("quality")
    if q:
        print("\n4. Retrieval quality on shop-dev: kb.jsonl vs the same entries as XLSX (kefu.kb.io.write_entries)")
        if "error" in q:
            print(f"   FAILED: {q['error']}")
        else:
            print(f"   {'source':26s} {'R@1':>6s} {'R@5':>6s} {'MRR':>6s} {'no-match F1':>12s}")
            for name, label in (("reference", "kefu eval (evaluate())"), ("jsonl", "JSONL via BulkImporter"),
                                ("xlsx", "XLSX via BulkImporter")):
                r = q[name]
                print(f"   {label:26s} {r['recall@1']:6.3f} {r['recall@5']:6.3f} {r['mrr']:6.3f} {r['no_match']['f1']:12.3f}")
            print(f"   stored entries identical: {q['same_entries']}"
                  + (f" (differ: {q['differing_entries']})" if not q["same_entries"] else ""))
            print(f"   rankings and no-match flags identical, XLSX vs JSONL: {q['identical_rankings_xlsx_vs_jsonl']} "
                  f"({q['queries_ranked_differently']} queries differ); JSONL vs kefu eval: "
                  f"{q['identical_rankings_jsonl_vs_reference']}")
            same = all(q["xlsx"][k] == q["jsonl"][k] for k in ("recall@1", "recall@5", "mrr", "no_match"))
            print(f"   -> quality {'UNCHANGED' if same else 'CHANGED'} when imported from XLSX")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000, help="FAQ rows in the XLSX (default 10000)")
    ap.add_argument("--docs", type=int, default=100, help="documents, half DOCX half PDF (default 100); "
                    "also run with a quarter and a half of them for memory")
    ap.add_argument("--models", default="use,e5", help="embedding models, as kefu --models (default use,e5)")
    ap.add_argument("--threads", type=int, help="threads of the e5 encoder (default: kefu's)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 600 rows, 12 documents (~5 min)")
    ap.add_argument("--skip-quality", action="store_true", help="skip the shop-dev XLSX/JSONL comparison")
    ap.add_argument("--skip-docs", action="store_true", help="skip the document imports")
    ap.add_argument("--dataset", default=str(DATASET), help="benchmark folder for the quality check")
    ap.add_argument("--workdir", help="keep generated files and data folders here (default: a temporary folder, removed)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    ap.add_argument("--json-out", help="also write the JSON summary to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args.child, Path(args.spec), Path(args.out))
        return
    if args.quick:
        args.rows, args.docs = min(args.rows, 600), min(args.docs, 12)
    if not args.skip_quality and not Path(args.dataset, "kb.jsonl").exists():
        sys.exit(f"no benchmark at {args.dataset} (or pass --skip-quality)")

    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kefu-imports-"))
    root.mkdir(parents=True, exist_ok=True)
    base = {"models": args.models, "threads": args.threads}
    out: dict = {"config": {"rows": args.rows, "docs": args.docs, "models": args.models, "threads": args.threads,
                            "cpus": os.cpu_count(), "python": sys.version.split()[0],
                            "started": time.strftime("%Y-%m-%dT%H:%M:%S")}}
    t_all = time.perf_counter()
    try:
        _log(f"generating {args.rows} FAQ rows")
        rows = make_rows(args.rows)
        xlsx = root / "faq.xlsx"
        t = time.perf_counter()
        write_faq_xlsx(rows, xlsx)
        out["xlsx_file"] = {"rows": len(rows), "mb": round(xlsx.stat().st_size / 2**20, 2),
                            "write_s": round(time.perf_counter() - t, 2),
                            "distinct_phrasings": len({p for r in rows for p in [r["question"], *r["similar"]]})}
        texts = root / "texts.json"
        texts.write_text(json.dumps([p for r in rows for p in [r["question"], *r["similar"]]], ensure_ascii=False),
                         encoding="utf-8")
        del rows

        out["xlsx"] = run_child("xlsx", {**base, "path": str(xlsx), "home": str(root / "kb-xlsx"),
                                         "label": "xlsx"}, root, "xlsx")
        if "error" not in out["xlsx"]:
            _log(f"xlsx: {out['xlsx']['rows'] / out['xlsx']['total_s']:.1f} rows/s, parts {out['xlsx']['parts_s']}")
        shutil.rmtree(root / "kb-xlsx", ignore_errors=True)
        out["embed"] = run_child("embed", {**base, "texts": str(texts)}, root, "embed")
        if "error" not in out["embed"]:
            _log(f"embed: {out['embed']['texts_per_s']} texts/s")

        if not args.skip_docs and args.docs > 0:
            _log(f"generating {args.docs} documents")
            t = time.perf_counter()
            all_docs = root / "docs-all"
            out["docs_files"] = write_documents(args.docs, all_docs)
            out["docs_files"]["write_s"] = round(time.perf_counter() - t, 1)
            names = sorted(p.name for p in all_docs.iterdir())
            counts = sorted({n for n in (args.docs // 4, args.docs // 2, args.docs) if n > 0})
            out["docs"] = []
            for n in counts:
                folder = root / f"docs-{n}"
                folder.mkdir(exist_ok=True)
                for name in names[:n]:
                    if not (folder / name).exists():
                        os.link(all_docs / name, folder / name)
                r = run_child("docs", {**base, "path": str(folder), "home": str(root / f"kb-docs-{n}"),
                                       "label": f"docs {n}"}, root, f"docs-{n}")
                out["docs"].append(r)
                if "error" not in r:
                    _log(f"docs {n}: {r['passages']} passages in {r['total_s']} s, peak RSS {r['peak_rss_mb']} MB")
                shutil.rmtree(root / f"kb-docs-{n}", ignore_errors=True)

        if not args.skip_quality:
            work = root / "quality"
            work.mkdir(exist_ok=True)
            out["quality"] = run_child("quality", {**base, "dataset": str(Path(args.dataset).resolve()),
                                                   "work": str(work)}, root, "quality")
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)
    out["wall_s"] = round(time.perf_counter() - t_all, 1)
    summarise(out)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        report(out)
        print(f"\ntotal wall {out['wall_s']} s")


if __name__ == "__main__":
    main()

"""Latency of Retriever.search with the real default models, its floor, and index build cost.

For each knowledge-base size (default 1k, 10k, 100k entries of 4 phrasings each) a
child process (this script with --one SIZE, so memory peaks stay separate):

1. generates synthetic shop entries (products x variants x topics; phrasings vary);
2. builds the index. Up to --real-embed-max entries the phrasings are embedded for
   real through KnowledgeBase (import_entries, then index()); above it the embedding
   cache (Store.save_vectors, keyed by text_hash of the normalised phrasing) is
   pre-filled with random unit float32 vectors, so the build encodes nothing. Either
   way kb.rebuild() is then timed with the cache full (build throughput without
   embedding), with a breakdown of where the build time goes;
3. times `Retriever.search` on --queries customer-like messages (stored phrasings
   with typos, unseen paraphrases, traditional script, long messages, chit-chat),
   after a warm-up, interleaved query by query with the *floor*: the query encodes
   the pipeline does (each embedder's encode_queries on the normalised text) plus one
   raw FAISS search per model (top candidates*4 = 120; from 10k rows 360 of a 4-bit
   copy of the vectors, as Index.dense_search asks, without its exact rescoring);
4. shows where a search's time goes, from the per-stage timings Retriever.search
   records in SearchResult.timings_ms.

Numbers only, no asserts. Queries are always encoded by the real models. Vectors in
the 10k/100k indexes are random, so what is retrieved there is meaningless; only the
cost is measured. The machine's load average is printed: other processes on the
same cores inflate every number.

    python bench/latency.py                       # 1k, 10k, 100k; readable tables
    python bench/latency.py --sizes 1000,10000 --queries 100 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SIZE = 10_000
TARGET_P95_MS = 30.0
TARGET_RATIO = 1.5

# -- synthetic shop data ------------------------------------------------------------

PRODUCTS = """连衣裙 半身裙 T恤 衬衫 卫衣 毛衣 羽绒服 风衣 牛仔裤 休闲裤 运动裤 打底裤 运动鞋 帆布鞋
高跟鞋 拖鞋 双肩包 手提包 钱包 帽子 围巾 袜子 内衣 睡衣 泳衣 蓝牙耳机 充电宝 数据线 手机壳 钢化膜
智能手表 电动牙刷 吹风机 电饭煲 空气炸锅 保温杯 床单 四件套 枕头 毛巾 收纳盒 台灯 面膜 口红 洗面奶
防晒霜 香水 洗发水 沐浴露 猫粮 狗粮 奶粉 纸尿裤 儿童玩具 积木 坚果礼盒 茶叶 咖啡豆 蜂蜜 零食大礼包
瑜伽垫 雨伞 行李箱 电热毯 加湿器""".split()

VARIANTS = """黑色 白色 红色 蓝色 粉色 灰色 米色 卡其色 藏青色 S码 M码 L码 XL码 2XL码 加厚款 薄款 夏季款
冬季款 新款 经典款 大号 小号 儿童款 情侣款 礼盒装 家庭装 旗舰版 标准版 升级版 限量版 青春版 豪华版""".split()

# topic name, answer, phrasings with {p} for the product (first = the standard question)
TOPICS = [
    ("尺码", "{p}尺码标准，参考详情页尺码表选择即可。", ["{p}尺码标准吗", "{p}偏大还是偏小", "{p}怎么选尺码", "身高160穿{p}选哪个码", "{p}有尺码表吗"]),
    ("材质", "{p}面料详见详情页参数。", ["{p}是什么材质的", "{p}面料怎么样", "{p}是纯棉的吗", "{p}会不会起球", "{p}用的什么料子"]),
    ("色差", "{p}为实物拍摄，不同屏幕会有轻微色差。", ["{p}有色差吗", "{p}实物和图片颜色一样吗", "{p}颜色会不会很暗", "{p}实拍是什么颜色"]),
    ("库存", "{p}页面能拍就是有货。", ["{p}还有货吗", "{p}什么时候补货", "{p}缺货了吗", "{p}现在能拍吗", "{p}还有库存吗"]),
    ("正品", "{p}为品牌正品，支持验货。", ["{p}是正品吗", "{p}是不是原装的", "{p}有防伪码吗", "{p}保证正品吗"]),
    ("优惠", "{p}可领店铺券，满减自动生效。", ["{p}有优惠券吗", "{p}能便宜点吗", "{p}有没有折扣", "{p}满减怎么用", "{p}还能再优惠吗"]),
    ("保价", "{p}支持15天价保，联系客服补差价。", ["{p}降价了能退差价吗", "{p}保价多少天", "买了{p}就降价了怎么办", "{p}差价怎么补"]),
    ("赠品", "{p}赠品随包裹一起发出。", ["{p}有赠品吗", "{p}送什么礼物", "买{p}送的东西在哪", "{p}赠品怎么没收到"]),
    ("用法", "{p}用法见包装内说明书。", ["{p}怎么用", "{p}使用方法是什么", "{p}有说明书吗", "第一次用{p}要注意什么"]),
    ("保质期", "{p}保质期见外包装标注。", ["{p}保质期多久", "{p}生产日期是什么时候", "{p}过期了吗", "{p}能放多久"]),
    ("人群", "{p}特殊人群请先咨询医生。", ["{p}孕妇能用吗", "{p}小孩可以用吗", "{p}适合老人吗", "{p}敏感肌能用吗"]),
    ("清洗", "{p}建议冷水手洗，勿暴晒。", ["{p}怎么洗", "{p}能机洗吗", "{p}会缩水吗", "{p}洗了会掉色吗", "{p}可以干洗吗"]),
    ("发货地", "{p}从杭州仓发货。", ["{p}从哪里发货", "{p}是哪个仓发的", "{p}发货地址在哪", "{p}是国内发货吗"]),
    ("预售", "{p}预售15天内发货，定金不退。", ["{p}是预售吗", "{p}预售多久发", "{p}定金能退吗", "{p}尾款什么时候付"]),
    ("批发", "{p}批量采购请联系客服报价。", ["{p}可以批发吗", "{p}买多有优惠吗", "{p}团购怎么算", "{p}企业采购能开票吗"]),
    ("定制", "{p}支持刻字定制，需多等3天。", ["{p}可以定制吗", "{p}能刻字吗", "{p}能印logo吗", "{p}定制要多久"]),
    ("发货时间", "{p}付款后48小时内发货。", ["{p}什么时候发货", "{p}多久能发", "{p}今天能发吗", "拍了{p}几天发货", "{p}怎么还不发货"]),
    ("快递", "{p}默认发中通，可补差价发顺丰。", ["{p}发什么快递", "{p}能发顺丰吗", "{p}可以指定快递吗", "{p}用的哪家快递"]),
    ("运费", "{p}满99包邮，偏远地区除外。", ["{p}包邮吗", "{p}运费多少", "{p}偏远地区包邮吗", "{p}邮费怎么算", "{p}新疆包邮吗"]),
    ("改地址", "{p}未发货前可在订单页改地址。", ["{p}能改地址吗", "{p}收货地址填错了", "{p}怎么修改收货地址", "下单{p}地址写错了怎么办"]),
    ("物流不动", "{p}物流延迟我们帮您催件。", ["{p}物流不更新", "{p}快递几天没动了", "{p}物流一直没变化", "{p}卡在中转站了"]),
    ("催单", "{p}已备注加急。", ["{p}能快点发吗", "{p}帮我催一下", "{p}急用能加急吗", "{p}能优先发货吗"]),
    ("拆单", "{p}多件可能分仓发出。", ["{p}怎么分开发了", "{p}只收到一个包裹", "{p}少了一件", "{p}是分几个包裹发的"]),
    ("取消", "{p}未发货可直接申请退款。", ["{p}怎么取消订单", "{p}不想要了能取消吗", "{p}拍错了能取消吗", "{p}取消后钱多久退"]),
    ("改订单", "{p}未发货可联系客服修改规格。", ["{p}能改颜色吗", "{p}拍错尺码了能改吗", "{p}下单后能换规格吗", "{p}能改数量吗"]),
    ("支付", "{p}支持花呗分期。", ["{p}能用花呗吗", "{p}支持分期吗", "{p}可以货到付款吗", "{p}付款失败怎么办"]),
    ("发票", "{p}可开电子发票，下单填抬头。", ["{p}能开发票吗", "{p}发票怎么开", "{p}能开专票吗", "{p}发票抬头写错了"]),
    ("签收", "{p}请先问问驿站和家人。", ["{p}显示签收了但没收到", "{p}被别人签收了", "{p}快递放哪了", "{p}没收到却显示已签收"]),
    ("到货", "{p}一般3到5天送达。", ["{p}几天能到", "{p}发到北京要多久", "{p}什么时候能收到", "{p}大概多久到"]),
    ("合并", "{p}同地址未发货订单可合并。", ["{p}能和别的一起发吗", "{p}能合并发货吗", "两单{p}能一起寄吗", "{p}合单运费怎么算"]),
    ("退货", "{p}支持七天无理由退货。", ["{p}怎么退货", "{p}可以退吗", "{p}七天无理由吗", "{p}不喜欢能退吗", "{p}退货流程是什么"]),
    ("换货", "{p}可在订单页申请换货。", ["{p}能换吗", "{p}怎么换货", "{p}尺码不合适能换吗", "{p}换个颜色可以吗"]),
    ("退款进度", "{p}退款1到3个工作日原路退回。", ["{p}退款什么时候到", "{p}退款多久到账", "{p}退款怎么还没到", "{p}退款进度在哪看"]),
    ("退货运费", "{p}有运费险，退货运费自动理赔。", ["{p}退货运费谁出", "{p}退回的邮费能报销吗", "{p}有运费险吗", "{p}运费险怎么赔"]),
    ("质量问题", "{p}质量问题包退换，请拍照给客服。", ["{p}有质量问题", "{p}坏了怎么办", "{p}收到是坏的", "{p}用了两天就坏了", "{p}有瑕疵"]),
    ("破损", "{p}破损请拍照，给您补发。", ["{p}收到破损了", "{p}包装压坏了", "{p}快递摔坏了", "{p}外箱破了里面也坏了"]),
    ("错发", "{p}发错给您免费换。", ["{p}发错了", "{p}颜色发错了", "{p}少发了配件", "{p}收到的不是我买的"]),
    ("保修", "{p}全国联保一年。", ["{p}保修多久", "{p}坏了能保修吗", "{p}售后在哪修", "{p}过保了还能修吗"]),
    ("维修", "{p}寄回维修7天内修好寄回。", ["{p}怎么送修", "{p}维修要多久", "{p}修好了怎么寄回", "{p}维修要钱吗"]),
    ("洗后", "{p}洗后问题请拍照联系客服。", ["{p}洗了缩水了", "{p}洗了掉色严重", "{p}洗完变形了", "{p}起球了能退吗"]),
    ("异味", "{p}新品轻微气味通风两天即散。", ["{p}有异味", "{p}味道很大", "{p}有股怪味正常吗", "{p}刺鼻味怎么去"]),
    ("过敏", "{p}过敏请停用并联系客服退款。", ["用了{p}过敏了", "{p}用完脸上起疹子", "{p}过敏能退吗", "{p}用了皮肤发红"]),
    ("拒收", "{p}拒收后退回仓库即退款。", ["{p}拒收了怎么退款", "{p}能拒收吗", "{p}拒签后多久退钱", "{p}拒收运费谁承担"]),
    ("投诉", "{p}给您带来不便非常抱歉。", ["{p}客服态度太差", "{p}问了半天没人理", "{p}我要投诉", "{p}售后一直推脱"]),
    ("不符", "{p}与描述不符可退货退款。", ["{p}和描述不符", "{p}跟宣传的不一样", "{p}图片与实物不符", "{p}是虚假宣传吧"]),
    ("赔偿", "{p}延迟发货按规则赔付。", ["{p}能赔偿吗", "{p}耽误我时间了要补偿", "{p}延迟发货有赔付吗", "{p}怎么申请赔偿"]),
    ("会员", "{p}会员享95折，积分可抵现。", ["{p}会员有折扣吗", "{p}积分怎么用", "买{p}能攒积分吗", "{p}会员价怎么算"]),
    ("用券", "{p}券需满足门槛才能用。", ["{p}优惠券用不了", "{p}券过期了能补吗", "{p}领的券在哪", "{p}为什么不能用券"]),
    ("评价", "{p}晒图好评有机会抽奖。", ["{p}好评返现吗", "{p}晒图有奖励吗", "{p}评价怎么修改", "{p}追评在哪写"]),
    ("收藏", "{p}加购后降价会有提醒。", ["{p}怎么加购物车", "{p}降价能通知我吗", "{p}收藏了找不到", "{p}加购后价格变了"]),
]
CATEGORIES = ["售前"] * 16 + ["售中"] * 14 + ["售后"] * 13 + ["投诉"] * 3 + ["账户"] * 4

PREFIXES = ["", "", "亲，", "请问", "你好，", "在吗，", "老板，", "客服，"]
SUFFIXES = ["", "", "？", "?", "呢", "啊", "呀"]
PRODUCT_FORMS = ["{v}{n}", "{v}的{n}", "这款{n}", "{n}{v}的", "你们家{n}", "{n}"]
# Typos: homophones / near-forms customers type.
HOMOPHONES = {"退": "推", "货": "或", "发": "法", "吗": "嘛", "运": "云", "费": "废", "码": "马", "换": "还",
              "款": "宽", "包": "保", "邮": "油", "在": "再", "的": "得", "快": "块", "递": "第", "么": "没",
              "色": "涩", "质": "治", "量": "亮", "到": "倒", "久": "九", "修": "休", "钱": "前", "票": "飘",
              "能": "嫩", "用": "永", "券": "劵", "收": "手", "装": "状", "号": "好"}
CHITCHAT = ["在吗", "你好", "谢谢", "今天天气怎么样", "你们老板是谁", "哈哈哈好的", "好的知道了", "你是机器人吗",
            "有人吗", "晚安", "我想静静", "推荐个电影", "你吃饭了吗", "嗯嗯", "OK", "hello", "？？？", "1",
            "明天会下雨吗", "你叫什么名字", "讲个笑话吧", "我心情不好", "周末去哪玩", "666"]
CONTEXTS = ["我上周在你们店里买了东西，一直用得还可以，但是最近遇到点问题，想咨询一下。",
            "之前也买过你们家的，这次是帮朋友问的，她不太会用手机，所以我来问问。",
            "昨天晚上下的单，付款也成功了，订单号我就不发了，你们后台应该能看到吧。",
            "不好意思打扰了，问题有点多，我先说最重要的一个，其他的等下再问。",
            "我是老顾客了，买了好几次，之前的客服都挺好的，这次想再确认一下。"]


def make_entries(n: int, seed: int = 0) -> list[dict]:
    """`n` entry dicts with ids, each a (product, variant, topic) with 4 phrasings."""
    combos = [(p, v, t) for p in range(len(PRODUCTS)) for v in range(len(VARIANTS)) for t in range(len(TOPICS))]
    if n > len(combos):
        raise SystemExit(f"at most {len(combos)} synthetic entries, asked for {n}")
    rnd = random.Random(seed)
    rnd.shuffle(combos)
    out = []
    for i, (p, v, t) in enumerate(combos[:n]):
        name, answer, cores = TOPICS[t]
        prod, var = PRODUCTS[p], VARIANTS[v]
        question = cores[0].format(p=var + prod)
        others = cores[1:]
        rnd.shuffle(others)
        similar = []
        for core in others[:3]:
            form = rnd.choice(PRODUCT_FORMS).format(v=var, n=prod)
            similar.append(rnd.choice(PREFIXES) + core.format(p=form) + rnd.choice(SUFFIXES))
        out.append({"id": f"e{i:06d}", "question": question, "similar": similar[:3],
                    "answer": "亲，" + answer.format(p=var + prod), "category": CATEGORIES[t],
                    "tags": [name, prod]})
    return out


def _typo(text: str, rnd: random.Random) -> str:
    chars = list(text)
    for _ in range(rnd.choice([1, 1, 2])):
        op = rnd.random()
        spots = [i for i, c in enumerate(chars) if c in HOMOPHONES]
        if op < 0.5 and spots:
            i = rnd.choice(spots)
            chars[i] = HOMOPHONES[chars[i]]
        elif op < 0.7 and len(chars) > 4:
            del chars[rnd.randrange(len(chars))]
        elif op < 0.85 and len(chars) > 3:
            i = rnd.randrange(len(chars) - 1)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:
            chars.insert(rnd.randrange(len(chars) + 1), rnd.choice(["啊", " ", "，", "那个"]))
    return "".join(chars)


def make_queries(entries: list[dict], n: int, seed: int = 1) -> list[tuple[str, str]]:
    """(kind, message) pairs: typos of stored phrasings, paraphrases, traditional, long, chit-chat."""
    from kefu.kb.text import to_traditional

    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        r = rnd.random()
        e = rnd.choice(entries)
        prod = e["tags"][1]
        topic = next(t for t in TOPICS if t[0] == e["tags"][0])
        if r < 0.35:
            out.append(("typo", _typo(rnd.choice([e["question"], *e["similar"]]), rnd)))
        elif r < 0.65:
            lead = rnd.choice(["我买的{n}", "昨天拍的{n}", "刚收到的{n}", "{n}", "想买{n}，"]).format(n=prod)
            core = rnd.choice(topic[2]).format(p="")
            out.append(("paraphrase", rnd.choice(PREFIXES) + lead + core + rnd.choice(SUFFIXES)))
        elif r < 0.75:
            out.append(("traditional", to_traditional(rnd.choice([e["question"], *e["similar"]]))))
        elif r < 0.85:
            ctx = "".join(rnd.sample(CONTEXTS, rnd.choice([1, 2, 3])))
            out.append(("long", ctx + rnd.choice(topic[2]).format(p="这个" + prod) + "？"))
        else:
            out.append(("chitchat", rnd.choice(PREFIXES[:4]) + rnd.choice(CHITCHAT) + rnd.choice(SUFFIXES)))
    return out


# -- measuring helpers ---------------------------------------------------------------

def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _summary(seconds: list[float]) -> dict:
    ms = [x * 1000 for x in seconds]
    return {"p50_ms": round(_pct(ms, 0.5), 2), "p95_ms": round(_pct(ms, 0.95), 2),
            "mean_ms": round(sum(ms) / len(ms), 2) if ms else float("nan"),
            "max_ms": round(max(ms), 2) if ms else float("nan"), "n": len(ms)}


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class StageTimer:
    """Wraps functions (at class/module level, only inside `patched`) and sums their time."""

    def __init__(self):
        self.total: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, name, fn):
        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.total[name] = self.total.get(name, 0.0) + time.perf_counter() - t
                self.calls[name] = self.calls.get(name, 0) + 1
        return timed

    @contextlib.contextmanager
    def patched(self, targets):
        """targets: (owner, attribute, stage name); the originals come back on exit."""
        saved = []
        try:
            for owner, attr, name in targets:
                orig = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
                saved.append((owner, attr, orig))
                setattr(owner, attr, self.wrap(name, orig))
            yield self
        finally:
            for owner, attr, orig in reversed(saved):
                setattr(owner, attr, orig)


def timed_rebuild(kb, how: str = "rebuild") -> tuple[float, dict]:
    """kb.rebuild() (or kb.index()) with its parts timed; nested parts also count in their parent."""
    import kefu.kb.base as base
    from kefu.kb.index import Index, IndexDir
    from kefu.kb.store import Store
    from kefu.kb.text import Segmenter

    st = StageTimer()
    orig_iter = Store.iter_published

    def iter_list(self):
        return iter(list(orig_iter(self)))

    targets = [(Store, "published_hash", "store.published_hash"),
               (base, "normalize", "normalize phrasings"),
               (base.KnowledgeBase, "embed_documents", "embed_documents (cache read/encode)"),
               (Segmenter, "tokens", "segment (jieba)"),
               (Index, "add", "Index.add (faiss+rows)"),
               (Index, "refresh_lexical", "BM25 build"),
               (Index, "save", "Index.save (json/npz/faiss+fsync)"),
               (IndexDir, "publish", "publish (+delete old version)")]
    Store.iter_published = iter_list
    try:
        with st.patched(targets + [(Store, "iter_published", "read entries (sqlite)")]):
            t = time.perf_counter()
            getattr(kb, how)()
            total = time.perf_counter() - t
    finally:
        Store.iter_published = orig_iter
    parts = {k: round(v, 3) for k, v in st.total.items()}
    parts["other"] = round(total - sum(st.total.values()), 3)
    return total, parts


# -- one size (child process) ----------------------------------------------------------

def run_one(size: int, n_queries: int, warmup: int, real_embed_max: int,
            home: Path, out: Path) -> None:
    import numpy as np

    res: dict = {"size": size, "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                 "e5_threads": os.environ.get("KEFU_BENCH_THREADS") or "default"}
    t_all = time.perf_counter()

    t = time.perf_counter()
    from kefu.kb.base import KnowledgeBase
    from kefu.kb.embed import cache_key, load_embedders
    from kefu.kb.index import SHORTLIST
    from kefu.kb.store import text_hash
    from kefu.kb.text import normalize
    from kefu.suggest.retrieve import Retriever

    threads = os.environ.get("KEFU_BENCH_THREADS")
    embedders = load_embedders("use,e5", threads=int(threads) if threads else None)
    res["models"] = {e.id: e.dim for e in embedders}
    res["load_models_s"] = round(time.perf_counter() - t, 2)
    res["rss_after_models_mb"] = _rss_mb()

    # count document encodes: the cached builds must encode nothing
    encoded = {e.id: 0 for e in embedders}
    for e in embedders:
        orig = e.encode_documents

        def counting(texts, _orig=orig, _id=e.id):
            encoded[_id] += len(texts)
            return _orig(texts)
        e.encode_documents = counting

    last = [0.0]

    def progress(stage, done, total):
        if time.perf_counter() - last[0] > 15 or done == total:
            last[0] = time.perf_counter()
            _log(f"{size}: {stage} {done}/{total}")

    # Every search encodes its message, as a first search of it does: none is remembered.
    kb = KnowledgeBase(home, embedders, progress=progress, remember_queries=0)
    retriever = Retriever(kb)

    t = time.perf_counter()
    items = make_entries(size)
    res["generate_entries_s"] = round(time.perf_counter() - t, 2)
    if size > real_embed_max:
        # An import embeds its new text before writing: fill the cache first so that
        # nothing is encoded for real.
        _log(f"{size}: pre-filling the embedding cache with random unit vectors")
        t = time.perf_counter()
        texts = [normalize(x).text for e in items for x in [e["question"], *e["similar"]]]
        hashes = list(dict.fromkeys(text_hash(x) for x in texts))
        del texts
        rng = np.random.default_rng(0)
        for e in embedders:
            for start in range(0, len(hashes), 20_000):
                chunk = hashes[start:start + 20_000]
                v = rng.standard_normal((len(chunk), e.dim), dtype=np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                kb.store.save_vectors(cache_key(e), dict(zip(chunk, v)))
        res["prefill_s"] = round(time.perf_counter() - t, 2)
        res["build_mode"] = "cache pre-filled with random vectors"
        del hashes
    else:
        _log(f"{size}: importing with real embedding")
        res["build_mode"] = "real embedding, then cached rebuild"
    t = time.perf_counter()
    kb.import_entries(items)  # with ids: see the report about imports without ids
    res["import_s"] = round(time.perf_counter() - t, 2)
    del items
    _log(f"{size}: imported in {res['import_s']} s")

    entries = list(kb.store.iter_published())
    res["entries"] = len(entries)
    res["phrasings"] = sum(len(e.phrasings) for e in entries)

    if size <= real_embed_max:
        t = time.perf_counter()
        _, parts = timed_rebuild(kb, "index")
        s = res["import_s"] + time.perf_counter() - t  # the import embedded, index() built
        res["build_real"] = {"seconds": round(s, 2), "entries_per_s": round(size / s, 1),
                             "encoded": dict(encoded), "parts_s": parts}
    del entries
    res["peak_rss_before_build_mb"] = _peak_rss_mb()

    _log(f"{size}: timing kb.rebuild() with the cache full")
    before = dict(encoded)
    s, parts = timed_rebuild(kb)
    res["build_cached"] = {"seconds": round(s, 2), "entries_per_s": round(size / s, 1),
                           "phrasings_per_s": round(res["phrasings"] / s, 1),
                           "encoded": {k: encoded[k] - before[k] for k in encoded}, "parts_s": parts}
    res["peak_rss_after_build_mb"] = _peak_rss_mb()
    index = kb.index()
    res["index_vectors"] = {m: int(ix.ntotal) for m, ix in index.dense.items()}
    res["index_disk_mb"] = round(sum(f.stat().st_size for f in kb.index_dir.current().iterdir()) / 2**20, 1)
    res["db_disk_mb"] = round(sum(f.stat().st_size for f in home.glob("kefu.db*")) / 2**20, 1)

    # -- queries ---------------------------------------------------------------------
    pool = [dict(id=e.id, question=e.question, similar=e.similar, tags=e.tags)
            for e in kb.store.get_many([f"e{i:06d}" for i in random.Random(2).sample(range(size), min(size, 2000))]).values()]
    queries = make_queries(pool, n_queries + warmup)
    warm, measured = queries[:warmup], queries[warmup:]
    k = retriever.candidates * 4

    def floor(norm_text):
        t0 = time.perf_counter()
        vecs = [(m.id, m.encode_queries([norm_text])[0]) for m in kb.embedders]
        t1 = time.perf_counter()
        for model, q in vecs:
            ix = index.searcher(model)  # the FAISS index the pipeline searches, as deep
            depth = k if ix is index.dense[model] else k * SHORTLIST
            ix.search(np.ascontiguousarray(q.reshape(1, -1), dtype=np.float32), min(depth, ix.ntotal))
        t2 = time.perf_counter()
        return t2 - t0, t1 - t0, t2 - t1

    _log(f"{size}: warm-up ({warmup} queries)")
    for _, msg in warm:
        retriever.search(msg)
        floor(normalize(msg).text)

    _log(f"{size}: measuring {len(measured)} queries (search and floor interleaved)")
    s_wall, s_cpu, f_wall, f_enc, f_faiss = [], [], [], [], []
    by_kind: dict[str, list[float]] = {}
    no_match = 0
    stages: dict[str, list[float]] = {}  # Retriever.search's own per-stage timings
    for i, (kind, msg) in enumerate(measured):
        norm_text = normalize(msg).text  # the floor's input, prepared outside its timer

        def do_search():
            c0, t0 = time.process_time(), time.perf_counter()
            r = retriever.search(msg)
            s_wall.append(time.perf_counter() - t0)
            s_cpu.append(time.process_time() - c0)
            by_kind.setdefault(kind, []).append(s_wall[-1])
            return r

        def do_floor():
            w, e, f = floor(norm_text)
            f_wall.append(w); f_enc.append(e); f_faiss.append(f)

        if i % 2 == 0:  # alternate the order so neither side always runs cache-warm
            r = do_search(); do_floor()
        else:
            do_floor(); r = do_search()
        no_match += r.no_match
        for name, ms in r.timings_ms.items():
            stages.setdefault(name, []).append(ms)
    res["search"] = _summary(s_wall)
    res["search"]["cpu_p50_ms"] = round(_pct(s_cpu, 0.5) * 1000, 2)
    res["search"]["no_match_share"] = round(no_match / max(len(measured), 1), 3)
    res["search_by_kind_p50_ms"] = {k2: round(_pct(v, 0.5) * 1000, 2) for k2, v in sorted(by_kind.items())}
    res["floor"] = _summary(f_wall)
    res["floor"]["encode_p50_ms"] = round(_pct(f_enc, 0.5) * 1000, 2)
    res["floor"]["faiss_p50_ms"] = round(_pct(f_faiss, 0.5) * 1000, 2)
    res["ratio_p50"] = round(res["search"]["p50_ms"] / res["floor"]["p50_ms"], 3)
    res["ratio_p95"] = round(res["search"]["p95_ms"] / res["floor"]["p95_ms"], 3)
    res["overhead_p50_ms"] = round(res["search"]["p50_ms"] - res["floor"]["p50_ms"], 2)

    # -- where a search's time goes (as recorded by Retriever.search) ----------------
    res["stages_mean_ms"] = {n: round(sum(v) / len(v), 3) for n, v in stages.items()}
    res["stages_p50_ms"] = {n: round(_pct(v, 0.5), 3) for n, v in stages.items()}
    res["stages_sum_mean_ms"] = round(sum(res["stages_mean_ms"].values()), 2)

    res["peak_rss_mb"] = _peak_rss_mb()
    res["rss_end_mb"] = _rss_mb()
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["child_wall_s"] = round(time.perf_counter() - t_all, 1)
    kb.close()
    out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")


# -- the parent: one child per size, then the tables ----------------------------------

def _fmt(v, spec=".1f"):
    return "-" if v is None else format(v, spec)


def report(results: list[dict]) -> None:
    print("\nSearch latency (Retriever.search, real use-m3 + e5-small-q4 query encoders), ms")
    print(f"{'entries':>8} {'rows':>7} {'p50':>8} {'p95':>8} {'mean':>8} {'max':>8} {'cpu p50':>8} "
          f"{'no_match':>8} {'load start/end':>15}")
    for r in results:
        s = r["search"]
        print(f"{r['size']:>8} {r['phrasings']:>7} {s['p50_ms']:>8.1f} {s['p95_ms']:>8.1f} {s['mean_ms']:>8.1f} "
              f"{s['max_ms']:>8.1f} {s['cpu_p50_ms']:>8.1f} {s['no_match_share']:>8.2f} "
              f"{r['loadavg_start'][0]:>7.2f}/{r['loadavg_end'][0]:<7.2f}")

    print("\nFloor (query encodes + one raw FAISS search per model, same queries, interleaved), ms")
    print(f"{'entries':>8} {'p50':>8} {'p95':>8} {'encode p50':>11} {'faiss p50':>10} {'search/floor p50':>17} "
          f"{'search/floor p95':>17} {'overhead p50':>13}")
    for r in results:
        f = r["floor"]
        print(f"{r['size']:>8} {f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f} {f['encode_p50_ms']:>11.1f} "
              f"{f['faiss_p50_ms']:>10.1f} {r['ratio_p50']:>17.2f} {r['ratio_p95']:>17.2f} {r['overhead_p50_ms']:>13.1f}")
    for r in results:
        if r["size"] == TARGET_SIZE:
            p95, ratio = r["search"]["p95_ms"], r["ratio_p95"]
            print(f"  target at {TARGET_SIZE}: p95 <= {TARGET_P95_MS:.0f} ms -> {p95:.1f} ms "
                  f"({'met' if p95 <= TARGET_P95_MS else 'MISSED'}); p95 <= {TARGET_RATIO}x floor -> "
                  f"{ratio:.2f}x ({'met' if ratio <= TARGET_RATIO else 'MISSED'}); "
                  f"floor p95 alone is {r['floor']['p95_ms']:.1f} ms")

    print("\nIndex build (kb.rebuild(); 'cached' = embedding cache full, nothing encoded)")
    print(f"{'entries':>8} {'cached s':>9} {'entries/s':>10} {'rows/s':>9} {'real-embed s':>13} {'entries/s':>10} "
          f"{'peak RSS MB':>12} {'RSS end MB':>11} {'index MB':>9} {'db MB':>8}")
    for r in results:
        b, real = r["build_cached"], r.get("build_real")
        print(f"{r['size']:>8} {b['seconds']:>9.2f} {b['entries_per_s']:>10.0f} {b['phrasings_per_s']:>9.0f} "
              f"{_fmt(real and real['seconds'], '.1f'):>13} {_fmt(real and real['entries_per_s'], '.1f'):>10} "
              f"{r['peak_rss_mb']:>12.0f} {r['rss_end_mb']:>11.0f} {r['index_disk_mb']:>9.0f} {r['db_disk_mb']:>8.0f}")
    for r in results:
        for label, b in (("cached", r["build_cached"]), ("real-embed", r.get("build_real"))):
            if b:
                parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(b["parts_s"].items(), key=lambda kv: -kv[1]))
                print(f"  {r['size']} {label} build parts (s; nested parts also count in their parent): {parts}")
                if any(b["encoded"].values()) and label == "cached":
                    print(f"  !! {r['size']} cached build encoded {b['encoded']} documents")

    print("\nWhere a search's time goes (mean ms per stage, replayed on a subset of the queries)")
    names = []
    for r in results:
        names += [n for n in r["stages_mean_ms"] if n not in names]
    print(f"{'stage':<32}" + "".join(f"{r['size']:>10}" for r in results))
    for n in names:
        print(f"{n:<32}" + "".join(f"{r['stages_mean_ms'].get(n, 0):>10.2f}" for r in results))
    print(f"{'sum of stages':<32}" + "".join(f"{r['stages_sum_mean_ms']:>10.2f}" for r in results))

    print("\nSetup and wall time (s)")
    for r in results:
        bits = [f"models {r['load_models_s']}", f"generate {r['generate_entries_s']}", f"import {r['import_s']}"]
        if "prefill_s" in r:
            bits.append(f"prefill cache {r['prefill_s']}")
        print(f"  {r['size']}: " + ", ".join(bits) + f"; child total {r['child_wall_s']}, "
              f"run incl. start-up {r.get('run_wall_s', '-')}; search p50 by kind: {r['search_by_kind_p50_ms']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000", help="entry counts, comma-separated")
    ap.add_argument("--queries", type=int, default=200, help="measured queries per size")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up queries per size (not measured)")
    ap.add_argument("--real-embed-max", type=int, default=1000,
                    help="sizes up to this are embedded for real; larger ones use a pre-filled cache")
    ap.add_argument("--workdir", help="where the data folders go (default: a temporary folder, removed)")
    ap.add_argument("--threads", type=int, help="threads of the e5 encoder (default: kefu's)")
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.one is not None:
        run_one(args.one, args.queries, args.warmup, args.real_embed_max,
                Path(args.workdir), Path(args.out))
        return

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    root = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kefu-latency-"))
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.threads:
        env["KEFU_BENCH_THREADS"] = str(args.threads)
    results = []
    try:
        for size in sizes:
            home = root / f"kb-{size}"
            shutil.rmtree(home, ignore_errors=True)
            out = root / f"result-{size}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(size), "--queries", str(args.queries),
                   "--warmup", str(args.warmup),
                   "--real-embed-max", str(args.real_embed_max), "--workdir", str(home), "--out", str(out)]
            _log(f"size {size}: starting")
            t = time.perf_counter()
            proc = subprocess.run(cmd, env=env)
            wall = round(time.perf_counter() - t, 1)
            if proc.returncode != 0:
                _log(f"size {size}: child failed with exit code {proc.returncode} after {wall} s")
                results.append({"size": size, "error": f"exit code {proc.returncode}", "run_wall_s": wall})
                continue
            r = json.loads(out.read_text(encoding="utf-8"))
            r["run_wall_s"] = wall
            results.append(r)
            _log(f"size {size}: done in {wall} s (search p50 {r['search']['p50_ms']} ms, "
                 f"p95 {r['search']['p95_ms']} ms; floor p95 {r['floor']['p95_ms']} ms)")
            shutil.rmtree(home, ignore_errors=True)
    finally:
        if not args.workdir:
            shutil.rmtree(root, ignore_errors=True)

    ok = [r for r in results if "error" not in r]
    if ok:
        report(ok)
    for r in results:
        if "error" in r:
            print(f"\nsize {r['size']}: FAILED ({r['error']}) after {r['run_wall_s']} s")
    if args.json:
        print(json.dumps({"sizes": results, "queries": args.queries, "warmup": args.warmup,
                          "cpus": os.cpu_count(), "python": sys.version.split()[0]}, ensure_ascii=False))


if __name__ == "__main__":
    main()

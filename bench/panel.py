"""Keystroke-to-suggestions-rendered latency of the agent panel, in headless Chromium.

The shipped corpus with the real embedded models behind a local server (127.0.0.1,
one process, as `kefu serve --workers 1` would run it); Playwright types customer
messages key by key into the panel and reads the panel's own measurement
(window.kefuLastTiming: from the last input event to the drafts in the DOM, so the
debounce is included), next to the request time and the render time. Target: p95
<= 150 ms on the shipped corpus.

    python bench/panel.py [--messages 60] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import latency  # noqa: E402  (percentiles)

MESSAGES = ["运费怎么算", "包邮吗？", "衣服洗了缩水还能退吗", "快递三天没动静了", "請問寄到台灣運費怎麼算",
            "买了两天就降价了，可以退差价吗", "发票可以开公司抬头吗", "怎么申请退货", "尺码怎么选",
            "收到的杯子有裂缝", "你们客服太慢了我要投诉", "可以改地址吗", "什么时候发货", "优惠券怎么用",
            "能用花呗吗", "会员积分怎么用", "颜色和图片不一样", "退款多久到账", "可以换个颜色吗", "你好"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import logging

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from kefu.corpus import ENTRIES, TERMS
    from kefu.kb.io import read_entries
    from kefu.suggest.workspace import Workspace
    from kefu.web import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    home = Path(tempfile.mkdtemp(prefix="kefu-panel-bench-"))
    ws = Workspace(home, "use,e5", threads=1)
    ws.kb().add_terms(TERMS.read_text(encoding="utf-8").split())
    ws.kb().import_entries(read_entries(ENTRIES))
    ws.users().add("bench", "bench-password", "agent")
    app = create_app({"SECRET_KEY": "bench"}, workspace=ws)
    with app.app_context():
        from kefu.web.state import assistant

        assistant().retriever.warm_up()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    rnd = random.Random(0)
    messages = [rnd.choice(MESSAGES) + rnd.choice(["", "？", "呢", " 亲"]) for _ in range(args.messages)]
    timings = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 400, "height": 900})
            page.goto(url + "/login")
            page.fill("input[name=name]", "bench")
            page.fill("input[name=password]", "bench-password")
            page.click("button[type=submit]")
            page.wait_for_selector("#kp-message")
            box = page.locator("#kp-message")
            for text in messages:
                box.fill("")
                box.press_sequentially(text, delay=30)  # an agent's typing pace
                page.wait_for_function("t => window.kefuPanel.lastMessage === t", arg=text)
                timings.append(page.evaluate("window.kefuLastTiming"))
            browser.close()
    finally:
        server.shutdown()
        ws.close()
    total = [t["total"] / 1000 for t in timings]
    fetch = [t["fetch"] / 1000 for t in timings]
    render = [t["render"] / 1000 for t in timings]
    res = {"messages": len(timings), "keystroke_to_render": latency._summary(total),
           "request": latency._summary(fetch), "render": latency._summary(render),
           "target": "p95 <= 150 ms: " + ("PASS" if latency._pct([x * 1000 for x in total], .95) <= 150 else "MISS")}
    if args.json:
        print(json.dumps(res, indent=2))
        return
    k, f, r = res["keystroke_to_render"], res["request"], res["render"]
    print(f"panel, shipped corpus, real models, {res['messages']} typed messages")
    print(f"  keystroke -> rendered  p50 {k['p50_ms']:6.1f}  p95 {k['p95_ms']:6.1f} ms  ({res['target']})")
    print(f"  of which request       p50 {f['p50_ms']:6.1f}  p95 {f['p95_ms']:6.1f} ms")
    print(f"  of which render        p50 {r['p50_ms']:6.1f}  p95 {r['p95_ms']:6.1f} ms")
    print(f"  (median render share {statistics.median(render) / statistics.median(total):.1%})")


if __name__ == "__main__":
    main()

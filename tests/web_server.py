"""A live kefu web server for browser tests: a seeded workspace over the FakeEmbedder,
served on 127.0.0.1 from a daemon thread, and a tiny static server for test pages.

    with LiveServer(app) as server:  # server.url == "http://127.0.0.1:<port>"
        ...

Run it by hand to try the panel in a browser (agent / agent-pass-1, editor / editor-pass-1):

    .venv/bin/python tests/web_server.py [port]
"""

from __future__ import annotations

import mimetypes
import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fakes import FakeEmbedder  # noqa: E402

from kefu.suggest.retrieve import Fusion  # noqa: E402
from kefu.suggest.workspace import Workspace  # noqa: E402

PAGES = TESTS / "web_pages"
USERS = {"agent": ("agent-pass-1", "agent"), "editor": ("editor-pass-1", "editor")}
# The default Fusion is tuned for the real models; the FakeEmbedder's scores are lower
# (the same curve as tests/test_assistant.py).
FAKE_FUSION = Fusion(weights={"fake": 1.0, "bm25": 0.1}, slope=10.0, midpoint=0.85, per_word=0.66)

ENTRIES = [
    dict(id="slow", question="客服太慢了，订单一直没发货，我要投诉",
         answer="非常抱歉让您久等了，我们已加急处理订单{订单号}，今天内为您发出。",
         similar=["我要投诉", "客服回复太慢", "订单一直没发货"], category="投诉", tags=["发货"]),
    dict(id="coupon", question="优惠券怎么用",
         answer="下单时勾选优惠券即可抵扣。如果页面显示<script>alert(1)</script>，请刷新后重试；订单{订单号}的优惠已生效。",
         similar=["优惠券在哪里用", "怎么使用优惠券"], category="售前", tags=["优惠"]),
    dict(id="ship", question="运费怎么算", answer="满99元包邮，不满收10元运费。",
         similar=["邮费多少钱", "包邮吗"], category="售前", tags=["物流"]),
    dict(id="return", question="怎么申请退货", answer="订单页点申请售后，选择退货退款，我们的价格全网最低。",
         similar=["我要退货", "可以退吗"], category="售后", tags=["退货"]),
    dict(id="invoice", question="能开发票吗", answer="可以开电子发票，下单时填写抬头。",
         similar=["发票怎么开"], category="售中", tags=["发票"]),
]


class FakeModelWorkspace(Workspace):
    """A Workspace over the FakeEmbedder whose assistant uses a curve fitted to it."""

    def assistant(self):
        assistant = super().assistant()
        assistant.retriever.fusion = FAKE_FUSION
        return assistant


def seeded_workspace(home: Path) -> tuple[Workspace, str]:
    """A workspace with ENTRIES, one document passage, users agent/editor and an agent
    API token (returned)."""
    from kefu.kb.importers.records import Passage

    ws = FakeModelWorkspace(Path(home), embedders=[FakeEmbedder()])
    passages = [Passage("退货政策.pdf", 0, "自签收之日起七天内，商品完好可申请无理由退货，退货运费由买家承担。",
                        "售后服务 > 退货", 3)]
    ws.kb().import_entries([dict(e) for e in ENTRIES], passages=passages, source="退货政策.pdf")
    users = ws.users()
    for name, (password, role) in USERS.items():
        users.add(name, password, role)
    token = users.add_token("chatwoot", "agent")
    return ws, token


class LiveServer:
    """Serve a WSGI app on 127.0.0.1 (a free port) from a daemon thread until stop()."""

    def __init__(self, app, host: str = "127.0.0.1"):
        self.server = make_server(host, 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       name=f"live-server-{self.port}", daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def pages_app(folder: Path = PAGES):
    """A WSGI app serving the files of `folder` (GET only, no listing, no '..')."""
    root = folder.resolve()

    def app(environ, start_response):
        request = Request(environ)
        name = request.path.lstrip("/") or "index.html"
        path = (root / name).resolve()
        if request.method != "GET" or root not in path.parents or not path.is_file():
            return Response("not found", status=404)(environ, start_response)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/"):
            kind += "; charset=utf-8"
        return Response(path.read_bytes(), content_type=kind)(environ, start_response)
    return app


def main() -> None:  # pragma: no cover - manual use
    from kefu.web import create_app

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    pages = LiveServer(pages_app()).start()
    ws, token = seeded_workspace(Path(tempfile.mkdtemp(prefix="kefu-web-")))
    app = create_app({"SECRET_KEY": "dev", "KEFU_ALLOWED_ORIGINS": [pages.url]}, workspace=ws)
    print(f"panel:   http://127.0.0.1:{port}/  (agent / {USERS['agent'][0]})")
    print(f"chatwoot parent page: {pages.url}/chatwoot_parent.html?embed="
          f"http://127.0.0.1:{port}/embed%23token%3D{token}")
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()

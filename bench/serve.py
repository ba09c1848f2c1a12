"""Round trip of POST /api/suggest against `kefu serve`, beside in-process `suggest`.

1. builds a data folder of --entries synthetic entries (bench/latency.py's generator;
   the embedding cache is pre-filled with random unit vectors, so the build encodes
   nothing; queries are encoded by the real models, so every search costs what it
   costs in production), an API token, and starts `kefu serve` (gunicorn, --workers
   processes of --threads threads, e5 with one thread) on 127.0.0.1;
2. times Assistant.suggest in this process on the same messages (the baseline);
3. open loop at --rate requests/s for --seconds: requests are sent on a fixed
   schedule whatever the answers do, and latency counts from the scheduled time, so
   a slow server cannot hide its queue (no coordinated omission);
4. the highest rate (stepping up) whose open-loop p95 stays <= 100 ms;
5. closed loop: --clients threads each sending its next request when the last
   one is answered;
and prints p50/p95, errors and the ratio to in-process p95. Target: p95 at 20
requests/s <= 1.5 x in-process suggest p95, 0 errors.

    python bench/serve.py                  # 10k entries, readable
    python bench/serve.py --entries 1000 --seconds 10 --json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import latency  # noqa: E402  (the synthetic shop data and percentile helpers)

TARGET_RATIO = 1.5
RATE_P95_MS = 100.0


def log(msg: str) -> None:
    print(f"[serve-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def build(home: Path, n: int) -> str:
    """A data folder of `n` entries over random cached vectors; returns an API token."""
    import numpy as np

    from kefu.kb.embed import cache_key
    from kefu.kb.store import text_hash
    from kefu.kb.text import normalize
    from kefu.suggest.workspace import Workspace

    ws = Workspace(home, "use,e5", threads=1)
    kb = ws.kb()
    items = latency.make_entries(n)
    hashes = list(dict.fromkeys(text_hash(normalize(x).text) for e in items for x in [e["question"], *e["similar"]]))
    rng = np.random.default_rng(0)
    for e in kb.embedders:
        v = rng.standard_normal((len(hashes), e.dim), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        kb.store.save_vectors(cache_key(e), dict(zip(hashes, v)))
    kb.import_entries(items)
    kb.index()
    (home / "config.json").write_text(json.dumps({"models": "use,e5"}), encoding="utf-8")
    token = ws.users().add_token("bench", "agent")
    ws.close()
    return token


def in_process(home: Path, messages: list[str]) -> list[float]:
    """Seconds per Assistant.suggest in this process (after a warm-up)."""
    from kefu.suggest.workspace import Workspace

    ws = Workspace(home, threads=1)
    assistant = ws.assistant()
    assistant.retriever.warm_up()
    for m in messages[:10]:
        assistant.suggest(m)
    out = []
    for m in messages:
        t = time.perf_counter()
        assistant.suggest(m)
        out.append(time.perf_counter() - t)
    ws.close()
    return out


class Client:
    """One keep-alive HTTP connection per thread."""

    def __init__(self, port: int, token: str):
        self.port, self.token = port, token
        self.local = threading.local()

    def suggest(self, message: str, retry: bool = True) -> int:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps({"message": message}, ensure_ascii=False).encode()
        try:
            conn.request("POST", "/api/suggest", body, {"Content-Type": "application/json",
                                                        "Authorization": f"Bearer {self.token}"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                log(f"HTTP {resp.status}")
            return resp.status
        except (OSError, http.client.HTTPException) as exc:
            # The server may close an idle keep-alive connection: reconnect once.
            self.local.conn = None
            conn.close()
            if retry:
                return self.suggest(message, retry=False)
            log(f"connection error: {exc!r}")
            return 599


def open_loop(client: Client, messages: list[str], rate: float, seconds: float) -> dict:
    n = int(rate * seconds)
    start = time.perf_counter() + 0.2
    lat, errors = [], 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        status = client.suggest(messages[i % len(messages)])
        took = time.perf_counter() - due
        with lock:
            lat.append(took)
            errors += status != 200

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(one, range(n)))
    return {"rate": rate, **latency._summary(lat), "errors": errors}


def closed_loop(client: Client, messages: list[str], clients: int, seconds: float) -> dict:
    lat, errors = [], 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(k: int) -> None:
        nonlocal errors
        rnd = random.Random(k)
        while time.perf_counter() < stop:
            t = time.perf_counter()
            status = client.suggest(rnd.choice(messages))
            with lock:
                lat.append(time.perf_counter() - t)
                errors += status != 200

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"clients": clients, **latency._summary(lat), "errors": errors,
            "throughput_rps": round(len(lat) / (time.perf_counter() - t0), 1)}


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"kefu serve exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit("kefu serve did not come up")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    res: dict = {"entries": args.entries, "workers": args.workers, "threads": args.threads,
                 "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="kefu-serve-bench-") as tmp:
        home = Path(tmp) / "home"
        log(f"building {args.entries} entries")
        token = build(home, args.entries)
        messages = [m for _, m in latency.make_queries(latency.make_entries(args.entries), args.messages)]

        log("in-process suggest")
        base = in_process(home, messages)
        res["in_process"] = latency._summary(base)

        port = free_port()
        env = {**os.environ, "KEFU_HOME": str(home), "KEFU_THREADS": "1"}
        kefu = Path(sys.executable).with_name("kefu")
        proc = subprocess.Popen([str(kefu), "serve", "--port", str(port), "--workers", str(args.workers),
                                 "--threads", str(args.threads)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            log(f"waiting for kefu serve on 127.0.0.1:{port}")
            wait_ready(port, proc)
            client = Client(port, token)
            for m in messages[:40]:  # warm both workers
                client.suggest(m)
            log(f"open loop at {args.rate}/s for {args.seconds:.0f} s")
            res["open_loop"] = open_loop(client, messages, args.rate, args.seconds)
            res["ratio_p95"] = round(res["open_loop"]["p95_ms"] / res["in_process"]["p95_ms"], 2)
            res["target"] = (f"p95 <= {TARGET_RATIO} x in-process p95 and 0 errors: " +
                             ("PASS" if res["ratio_p95"] <= TARGET_RATIO and res["open_loop"]["errors"] == 0 else "MISS"))
            steps = []
            for rate in (10, 20, 30, 40, 50, 60, 80):
                log(f"step: {rate}/s")
                r = open_loop(client, messages, rate, max(10.0, args.seconds / 2))
                steps.append(r)
                if r["p95_ms"] > RATE_P95_MS or r["errors"]:
                    break
            res["rate_steps"] = steps
            ok = [s["rate"] for s in steps if s["p95_ms"] <= RATE_P95_MS and not s["errors"]]
            res["max_rate_p95_le_100ms"] = max(ok) if ok else None
            log(f"closed loop, {args.clients} clients")
            res["closed_loop"] = closed_loop(client, messages, args.clients, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    res["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(res, ensure_ascii=False, indent=2))
        return
    ip, ol, cl = res["in_process"], res["open_loop"], res["closed_loop"]
    print(f"kefu serve, {res['entries']} entries, {res['workers']} workers x {res['threads']} threads "
          f"(load {res['loadavg_start']} -> {res['loadavg_end']})")
    print(f"  in-process suggest        p50 {ip['p50_ms']:7.1f}  p95 {ip['p95_ms']:7.1f} ms  (n={ip['n']})")
    print(f"  open loop {ol['rate']:>4.0f}/s          p50 {ol['p50_ms']:7.1f}  p95 {ol['p95_ms']:7.1f} ms  "
          f"errors {ol['errors']}  ratio p95 {res['ratio_p95']}  -> {res['target']}")
    for s in res["rate_steps"]:
        print(f"    step {s['rate']:>3}/s              p50 {s['p50_ms']:7.1f}  p95 {s['p95_ms']:7.1f} ms  errors {s['errors']}")
    print(f"  highest rate with p95 <= {RATE_P95_MS:.0f} ms: {res['max_rate_p95_le_100ms']}/s")
    print(f"  closed loop {cl['clients']} clients     p50 {cl['p50_ms']:7.1f}  p95 {cl['p95_ms']:7.1f} ms  "
          f"errors {cl['errors']}  {cl['throughput_rps']} req/s")


if __name__ == "__main__":
    main()

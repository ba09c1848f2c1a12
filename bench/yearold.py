"""The console's 统计 and 缺口 pages, `kefu stats --json` and `kefu learn gaps` on a year-old store.

    python bench/yearold.py [--home /tmp/kefu-yearold] [--days 365] [--per-day 300] [--loads 5] [--json]

1. Builds (once: an existing --home is reused) a data folder of the shipped corpus with a
   year of use: --per-day suggestions a day for --days days (~10% flagged no-match, a few
   greetings), six agents accepting, editing and rejecting drafts and reporting no match.
   Logging ~100,000 suggestions through the real assistant would take hours on two cores,
   so the assistant (real models) drafts each distinct *base* message once, through
   `Assistant.suggest` and the feedback log; the year's rows are copies of those rows with
   the message varied (a greeting before it, a particle after it) and the time set, inserted
   directly into the `suggestions` and `feedback` tables with the columns the log writes.
   Learning events go through `LearnStore.record` (kefu's own path) with their time given.
   The messages' gap vectors are then encoded ahead (`encode_pending`), as a store in use
   for a year has them after the pages' first loads.
2. Times, in this one process (the console through Flask's test client, logged in as an
   editor): --loads loads of /console/stats and /console/gaps (median and p95) beside
   /console/ (the entry list: a page that mines nothing, the floor); then one load of each
   after a new logged suggestion (answered; --loads times), a new no-match message, a new
   edit and a purge that deleted rows (the oldest ones, as a logged suggestion runs it;
   --loads times), and the statistics alone counted after such a purge; and the panel's /api/suggest (p50, p95, max) alone, while another thread
   loads 统计 in a loop, and while another reports a new message unanswered and loads 缺口 in
   a loop. And `kefu stats --json` and `kefu learn gaps`
   as subprocesses (models loaded each time), beside `kefu search` (loads the models and
   searches once: the floor).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

PASSWORD = "bench-password"
AGENTS = [f"agent{i}" for i in range(1, 7)]
PREFIXES = ["", "亲，", "你好，", "请问", "在吗？", "麻烦问下"]
SUFFIXES = ["", "？", "呀", "，谢谢", "呢"]
# Questions the shipped corpus does not answer (what the gaps page should find), three
# phrasings each.
UNANSWERED = [
    ["可以定制logo吗", "能印公司标志吗", "支持定制图案吗"],
    ["有没有实体店", "线下门店在哪里", "可以去店里看看吗"],
    ["招不招代理", "怎么做你们的代理", "可以加盟吗"],
    ["能寄到美国吗", "国外可以发货吗", "支持海外直邮吗"],
    ["学生党有折扣吗", "学生证能打折吗", "学生买有优惠吗"],
    ["可以刻字吗", "杯子上能刻名字吗", "支持刻字服务吗"],
    ["直播间几点开播", "今天有直播吗", "主播什么时候上线"],
    ["有试用装吗", "能先寄小样吗", "可以申请试用吗"],
    ["宠物能用吗", "猫咪可以用这个吗", "狗狗用安全吗"],
    ["可以批发吗", "买一百个有批发价吗", "大量采购怎么算"],
    ["能开专票吗", "增值税专用发票可以开吗", "要专票怎么弄"],
    ["有没有礼盒包装", "送人可以包装一下吗", "能帮忙礼品包装吗"],
]
GREETINGS = ["你好", "在吗", "谢谢", "好的谢谢"]


def log(msg: str) -> None:
    print(f"[yearold {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def templates(ws) -> tuple[list[dict], list[dict], list[dict]]:
    """Logged suggestions for the base messages (answered, unanswered, greetings) as the
    real assistant drafts them, read back from the log and deleted from it."""
    from kefu.corpus import ENTRIES
    from kefu.kb.io import read_entries

    rnd = random.Random(1)
    answered = [p for e in read_entries(ENTRIES) for p in [e["question"], *e["similar"]]]
    answered = rnd.sample(answered, min(300, len(answered)))
    assistant, db = ws.assistant(), ws.kb().store.db
    out: dict[str, list[dict]] = {"answered": [], "unanswered": [], "greeting": []}
    for kind, texts in (("answered", answered), ("unanswered", [t for ts in UNANSWERED for t in ts]),
                        ("greeting", GREETINGS)):
        for text in texts:
            sid = assistant.suggest(text).suggestion_id
            row = db.execute("select message, context, script, intent, no_match, hits, drafts, top_entry"
                             " from suggestions where id = ?", [sid]).fetchone()
            out[kind].append(dict(zip(("message", "context", "script", "intent", "no_match", "hits", "drafts",
                                       "top_entry"), row)))
    with db.conn:
        db.execute("delete from suggestions")
    # What the assistant flags is what counts: a base message it answers is no gap.
    pool = out["answered"] + out["unanswered"]
    return ([t for t in pool if not t["no_match"]], [t for t in pool if t["no_match"]], out["greeting"])


def build(home: Path, days: int, per_day: int) -> None:
    from kefu.corpus import ENTRIES, TERMS
    from kefu.kb.feedback import draft_answers
    from kefu.kb.io import read_entries
    from kefu.kb.learned import Event, LearnStore
    from kefu.suggest.gaps import encode_pending, gap_messages
    from kefu.suggest.workspace import Workspace

    ws = Workspace(home, "use,e5", threads=1)
    ws.update_config(lambda c: {**c, "retention_days": 400})
    ws.kb().add_terms(TERMS.read_text(encoding="utf-8").split())
    ws.kb().import_entries(read_entries(ENTRIES))
    ws.users().add("ed", PASSWORD, "editor")
    start = time.perf_counter()
    answered, unanswered, greetings = templates(ws)
    log(f"{len(answered)} answered, {len(unanswered)} unanswered base messages drafted"
        f" ({time.perf_counter() - start:.0f} s)")

    rnd = random.Random(0)
    db = ws.kb().store.db
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    suggestions, feedback, events = [], [], []
    for day in range(days, 0, -1):
        base = today - timedelta(days=day)
        for _ in range(max(0, int(rnd.gauss(per_day, per_day / 10)))):
            at = (base + timedelta(seconds=rnd.randrange(9 * 3600, 23 * 3600))).isoformat(timespec="seconds")
            r = rnd.random()
            t = rnd.choice(greetings if r < 0.03 else unanswered if r < 0.13 else answered)
            message = rnd.choice(PREFIXES) + t["message"] + rnd.choice(SUFFIXES)
            sid = uuid.uuid4().hex[:12]
            suggestions.append([sid, at, message, t["context"], t["script"], t["intent"], t["no_match"],
                                t["hits"], t["drafts"], t["top_entry"]])
            agent = rnd.choice(AGENTS)
            later = (datetime.fromisoformat(at) + timedelta(seconds=rnd.randrange(5, 90))).isoformat()
            drafts = json.loads(t["drafts"])
            if t["no_match"]:
                if rnd.random() < 0.3:
                    feedback.append([sid, later, "no_match", None, None, None, agent])
                    events.append(Event(message, "no_match", None, agent, f"feedback:{sid}/no_match/", "panel",
                                        None, sid, later))
                continue
            r = rnd.random()
            action = "accept" if r < 0.45 else "edit" if r < 0.55 else "reject" if r < 0.63 else None
            if action is None or not drafts:
                continue
            draft = 1 if rnd.random() < 0.8 or len(drafts) < 2 else 2
            ids = draft_answers(drafts[draft - 1])
            entry_id = ids[0] if len(ids) == 1 else None
            text = None
            if action == "edit":
                text = drafts[draft - 1]["text"] + rnd.choice(["有问题随时联系哦～", "祝您购物愉快！", ""]) + "亲"
            feedback.append([sid, later, action, draft, entry_id, text, agent])
            if entry_id:
                side = "use" if action in ("accept", "edit") else action
                events.append(Event(message, action, entry_id, agent, f"feedback:{sid}/{side}/{entry_id}", "panel",
                                    text, sid, later))
    with db.conn:
        # The entries were written before the year began: agents' edits since count as drift.
        db.execute("update history set at = ?", [(today - timedelta(days=days + 1)).isoformat(timespec="seconds")])
        db.conn.executemany("insert into suggestions (id, at, message, context, script, intent, no_match, hits,"
                            " drafts, top_entry) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", suggestions)
        db.conn.executemany("insert into feedback (suggestion_id, at, action, draft, entry_id, text, agent)"
                            " values (?, ?, ?, ?, ?, ?, ?)", feedback)
    log(f"{len(suggestions)} suggestions, {len(feedback)} feedback rows inserted")
    start = time.perf_counter()
    LearnStore(ws.kb().store).record(events)
    ws.kb().build_index()
    log(f"{len(events)} learning events recorded ({time.perf_counter() - start:.0f} s)")
    start = time.perf_counter()
    done, total = encode_pending(ws.kb(), gap_messages(db), 10 ** 6)
    log(f"{done}/{total} gap texts encoded ({time.perf_counter() - start:.0f} s)")
    ws.close()


def time_pages(home: Path, loads: int) -> dict:
    from kefu.suggest.workspace import Workspace
    from kefu.web import create_app

    ws = Workspace(home, threads=1)
    app = create_app({"SECRET_KEY": "bench"}, workspace=ws)
    client = app.test_client()
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"name": "ed", "password": PASSWORD, "csrf_token": token}).status_code == 302
    out: dict = {}

    def get(url: str) -> float:
        start = time.perf_counter()
        resp = client.get(url)
        took = time.perf_counter() - start
        assert resp.status_code == 200, (url, resp.status_code)
        assert "正在计算" not in resp.text, f"{url} still pending"
        return took

    get("/console/")  # models loaded, index read
    for url in ("/console/", "/console/stats", "/console/gaps"):
        times = [get(url) for _ in range(loads)]
        out[url] = {"first": round(times[0], 3), "median": round(statistics.median(times), 3),
                    "p95": round(pct(times, 95), 3)}
        log(f"{url}: {out[url]}")
    db = ws.kb().store.db

    def newest() -> str:
        return db.execute("select id from suggestions order by rowid desc limit 1").fetchone()[0]

    def after(what: str, times: int, change) -> None:
        """Loads of both pages right after `change`, `times` times; the median of each."""
        took: dict[str, list[float]] = {"/console/stats": [], "/console/gaps": []}
        for _ in range(times):
            change()
            for url in took:
                took[url].append(get(url))
        for url, values in took.items():
            out[url][what] = round(statistics.median(values), 3)
            log(f"{url} {what}: median {statistics.median(values):.3f} s of {values}")

    # A new logged suggestion (answered): only the last days are counted again.
    after("after_new_suggestion", loads, lambda: ws.assistant().suggest("运费怎么算"))

    def no_match() -> None:  # a new no-match message arrives: the gaps are mined again
        ws.assistant().suggest("你们周末发货吗？我在新疆")
        with db.conn:
            db.execute("update suggestions set no_match = 1 where id = ?", [newest()])

    after("after_new_message", 1, no_match)

    def edit() -> None:  # a new edit: the drift is aligned again
        ws.assistant().suggest("运费怎么算")
        ws.feedback_log().record_feedback(newest(), "edit", 1, "您好，满99包邮哦～亲", "agent1")

    after("after_new_edit", 1, edit)

    def purge() -> None:  # retention's purge, run by a logged suggestion, deletes the oldest rows
        oldest = datetime.fromisoformat(db.execute("select min(at) from suggestions").fetchone()[0])
        assistant = ws.assistant()
        assistant.log.retention_days = (datetime.now(timezone.utc) - oldest).days  # what is older than the first day
        assistant.log._last_purge = float("-inf")  # as after ten minutes
        assistant.suggest("运费怎么算")

    after("after_purge", loads, purge)

    def counted_after_purge() -> float:
        """`kept_usage` alone after a purge: the 统计 page also mines the gaps again (the
        purge deletes those kept, which quote the messages)."""
        from kefu.kb.store import Store
        from kefu.suggest.stats import kept_usage

        purge()
        store = Store.open(home / "kefu.db")
        try:
            start = time.perf_counter()
            kept_usage(store)
            return time.perf_counter() - start
        finally:
            store.close()

    times = [counted_after_purge() for _ in range(loads)]
    out["kept_usage after a purge"] = {"median": round(statistics.median(times), 3), "p95": round(pct(times, 95), 3)}
    log(f"kept_usage after a purge: {out['kept_usage after a purge']} of {times}")
    out["/api/suggest"] = time_suggest(app, client, loads * 4)
    ws.close()
    return out


def time_suggest(app, console, n: int) -> dict:
    """The panel's /api/suggest in the same process, alone and while another thread loads
    统计 in a loop (each suggestion logged makes the next load count again)."""
    import threading

    page = console.get("/console/").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    messages = ["运费怎么算", "什么时候发货", "可以退货吗", "有优惠券吗", "怎么开发票"]

    def suggest_times() -> list[float]:
        times = []
        for i in range(n):
            start = time.perf_counter()
            resp = console.post("/api/suggest", json={"message": messages[i % len(messages)]},
                                headers={"X-CSRFToken": token})
            times.append(time.perf_counter() - start)
            assert resp.status_code == 200, resp.text[:300]
        return times

    out = {}
    alone = suggest_times()
    other = app.test_client()
    page = other.get("/login").text
    login = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert other.post("/login", data={"name": "ed", "password": PASSWORD, "csrf_token": login}).status_code == 302
    stop, loads = threading.Event(), []

    def load_stats() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            assert other.get("/console/stats").status_code == 200
            loads.append(time.perf_counter() - start)

    loader = threading.Thread(target=load_stats)
    loader.start()
    try:
        busy = suggest_times()
    finally:
        stop.set()
        loader.join()
    stats_loads, loads = loads, []
    other_token = other.get("/console/").text.split('name="csrf_token" value="')[1].split('"')[0]

    def load_gaps() -> None:  # an agent reports a new message unanswered, and 缺口 is loaded
        n = 0
        while not stop.is_set():
            n += 1
            resp = other.post("/api/suggest", json={"message": f"{UNANSWERED[n % len(UNANSWERED)][n % 3]}，第{n}次问"},
                              headers={"X-CSRFToken": other_token})
            assert resp.status_code == 200, resp.text[:300]
            resp = other.post("/api/feedback", json={"suggestion_id": resp.get_json()["suggestion_id"],
                                                     "action": "no_match", "agent": "agent1"},
                              headers={"X-CSRFToken": other_token})
            assert resp.status_code == 201, resp.text[:300]
            start = time.perf_counter()
            assert other.get("/console/gaps").status_code == 200
            loads.append(time.perf_counter() - start)

    stop.clear()
    loader = threading.Thread(target=load_gaps)
    loader.start()
    busy_gaps: list[float] = []
    try:
        deadline = time.perf_counter() + 300
        while len(loads) < 3 and time.perf_counter() < deadline:  # beside three loads at least
            busy_gaps += suggest_times()
    finally:
        stop.set()
        loader.join()
    for name, times in (("alone", alone), ("while_stats_loads", busy), ("while_gaps_loads", busy_gaps)):
        out[name] = {"p50": round(statistics.median(times), 3), "p95": round(pct(times, 95), 3),
                     "max": round(max(times), 3)}
    out["stats_loads_meanwhile"] = {"n": len(stats_loads),
                                    "median": round(statistics.median(stats_loads), 3) if stats_loads else None}
    out["gaps_loads_meanwhile"] = {"n": len(loads), "median": round(statistics.median(loads), 3) if loads else None}
    log(f"/api/suggest: {out}")
    return out


def time_cli(home: Path, runs: int) -> dict:
    env = {**os.environ, "KEFU_HOME": str(home)}
    out = {}
    for name, args in (("kefu search (floor)", ["search", "运费怎么算", "--json"]),
                       ("kefu stats --json", ["stats", "--json"]), ("kefu learn gaps", ["learn", "gaps"])):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "kefu", "--threads", "1", *args], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        out[name] = {"median": round(statistics.median(times), 2), "p95": round(pct(times, 95), 2)}
        log(f"{name}: {out[name]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, default=Path("/tmp/kefu-yearold"))
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=300)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--cli-runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (args.home / "kefu.db").exists():
        build(args.home, args.days, args.per_day)
    report = {"pages": time_pages(args.home, args.loads),
              "cli": time_cli(args.home, args.cli_runs) if args.cli_runs else {}}
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()

"""The JSON API and the permission rules of every route (iterating the URL map, so a new
route cannot escape them), CSRF, error shapes, and two processes over one data folder."""

from __future__ import annotations

import functools
import io
import re
import shutil
from pathlib import Path

import pytest
from fakes import FakeEmbedder
from helpers import SHOP, patch_jieba

from kefu.suggest.stats import usage
from kefu.suggest.workspace import Workspace
from kefu.web import create_app
from kefu.web.openapi import SPEC

PASSWORD = "correct-horse"
# Routes anyone may call: the login form, the help-desk iframe shell (it holds no data
# and authenticates its API calls with a token), the API description, static files.
PUBLIC = {"auth.login", "auth.logout", "panel.embed", "api.openapi", "static"}


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory):
    """A data folder with the small shop and three users, made once: password hashing is
    slow on purpose, and each test copies the folder instead (as test_web_console.py)."""
    home = tmp_path_factory.mktemp("seed") / "home"
    with pytest.MonkeyPatch.context() as mp:
        patch_jieba(mp)
        w = Workspace(home, embedders=[FakeEmbedder()])
        w.kb().import_entries(SHOP)
        for name, role in (("agent1", "agent"), ("editor1", "editor"), ("admin1", "admin")):
            w.users().add(name, PASSWORD, role)
        w.close()
    return home


@pytest.fixture
def ws(seeded_home, tmp_path, monkeypatch):
    patch_jieba(monkeypatch)
    home = tmp_path / "home"
    shutil.copytree(seeded_home, home)
    w = Workspace(home, embedders=[FakeEmbedder()])
    w.kb()  # loaded, as it was when this fixture imported the entries itself
    yield w
    w.close()


@pytest.fixture
def app(ws):
    return create_app({"TESTING": True, "SECRET_KEY": "test"}, workspace=ws)


def login(app, name: str | None):
    """A test client logged in as `name` (None: anonymous) and its CSRF token."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    if name is None:
        return client, token
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    # Logging in starts a new session, so the page token is fetched again.
    page = client.get("/login").get_data(as_text=True)
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _rules(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule) -> str:
    # Real ids where a route takes one, so a sufficient role reaches the view itself.
    values = {arg: 1 if type(rule._converters[arg]).__name__ == "IntegerConverter" else "ship"
              for arg in rule.arguments}
    return rule.build(values)[1]


def _call(client, token, rule, method):
    url = _url(rule)
    if url.startswith("/api/"):
        return client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
    return client.open(url, method=method, data={"csrf_token": token})


def test_every_route_is_public_on_purpose_or_names_its_role(app):
    for rule, _ in _rules(app):
        if rule.endpoint in PUBLIC:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "required_role", None) in ("agent", "editor", "admin"), \
            f"{rule} ({rule.endpoint}) has no @requires(role) and is not listed as public"


def test_anonymous_users_are_refused_everywhere_but_public_routes(app):
    client, token = login(app, None)
    for rule, method in _rules(app):
        if rule.endpoint in PUBLIC:
            continue
        r = _call(client, token, rule, method)
        if rule.rule.startswith("/api/"):
            assert r.status_code == 401, f"{method} {rule}: {r.status_code}"
            assert r.get_json()["error"]["code"] == "unauthorized"
        else:
            assert r.status_code == 302 and "/login" in r.headers["Location"], f"{method} {rule}: {r.status_code}"


@pytest.mark.parametrize("user,role", [("agent1", "agent"), ("editor1", "editor"), ("admin1", "admin")])
def test_lower_roles_get_403_and_sufficient_roles_get_through(app, user, role):
    client, token = login(app, user)
    order = ("agent", "editor", "admin")
    for rule, method in _rules(app):
        if rule.endpoint in PUBLIC or rule.endpoint == "auth.logout":
            continue
        needed = app.view_functions[rule.endpoint].required_role
        r = _call(client, token, rule, method)
        if order.index(role) < order.index(needed):
            assert r.status_code == 403, f"{user}: {method} {rule} gave {r.status_code}"
        else:
            assert r.status_code not in (401, 403), f"{user}: {method} {rule} gave {r.status_code}"


@pytest.mark.parametrize("sent", [None, "forged"])
def test_every_session_write_needs_the_csrf_token(app, sent):
    client, _ = login(app, "admin1")  # a role that reaches every view
    writes = [(rule, method) for rule, method in _rules(app) if method in ("POST", "PUT", "PATCH", "DELETE")]
    assert len(writes) > 20
    for rule, method in writes:
        url = _url(rule)
        if url.startswith("/api/"):
            r = client.open(url, method=method, json={}, headers={"X-CSRFToken": sent} if sent else {})
            assert r.status_code == 400 and "CSRF" in r.get_json()["error"]["message"], f"{method} {rule}"
        else:
            r = client.open(url, method=method, data={"csrf_token": sent} if sent else {})
            text = r.get_data(as_text=True)
            # Refused, and said in the pages' language (not Flask-WTF's English reason).
            assert r.status_code == 400 and re.search("登录已过期|页面已过期|安全令牌", text), f"{method} {rule}"
            assert "The CSRF" not in text, f"{method} {rule}"


def test_token_auth_needs_no_csrf_and_respects_the_token_role(app, ws):
    agent = ws.users().add_token("bot", "agent")
    editor = ws.users().add_token("sync", "editor")
    client = app.test_client()
    r = client.post("/api/suggest", json={"message": "包邮吗"}, headers={"Authorization": f"Bearer {agent}"})
    assert r.status_code == 200 and r.get_json()["hits"][0]["id"] == "ship"
    body = {"question": "可以用花呗吗", "answer": "支持花呗分期。"}
    r = client.post("/api/entries", json=body, headers={"Authorization": f"Bearer {agent}"})
    assert r.status_code == 403
    r = client.post("/api/entries", json=body, headers={"Authorization": f"Bearer {editor}"})
    assert r.status_code == 201 and r.get_json()["author"] == "token:sync"
    r = client.get("/api/entries", headers={"Authorization": "Bearer kefu_not-a-token"})
    assert r.status_code == 401


def test_an_agent_reads_entries_as_the_readme_says_and_writes_none(app, ws):
    """The README listed GET /api/entries among the editors' calls; an agent's token reads
    them (a help desk looks an entry up), and the README now says so."""
    agent = {"Authorization": f"Bearer {ws.users().add_token('bot', 'agent')}"}
    client = app.test_client()
    r = client.get("/api/entries", headers=agent)
    assert r.status_code == 200 and "ship" in [e["id"] for e in r.get_json()]
    assert client.get("/api/entries/ship", headers=agent).get_json()["id"] == "ship"
    assert client.put("/api/entries/ship", json={"answer": "x"}, headers=agent).status_code == 403
    assert client.get("/api/entries/ship/history", headers=agent).status_code == 403
    said = " ".join((Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8").split())
    assert "for the two reads, `GET /api/entries` and `GET /api/entries/<id>`, which agents may use too" in said


def test_a_config_json_broken_while_serving_is_the_servers_error_not_the_request(app, ws, caplog):
    """A config.json edited by hand into a bad value while kefu serve runs answered every
    request 400 invalid_field, naming a field (retention_days) no request has: the panel
    told the agent the request was wrong and to reload the page, integrations took it for
    their own mistake and nothing reached the server's log. It is the server's state: 503,
    code misconfigured, logged for the admin; the console says so in Chinese."""
    import logging

    agent = ws.users().add_token("bot", "agent")
    client = app.test_client()
    for config in ('{"retention_days": 0}', '{"retention_days": 30,'):
        (ws.home / "config.json").write_text(config, encoding="utf-8")
        with caplog.at_level(logging.ERROR):
            r = client.post("/api/suggest", json={"message": "包邮吗"}, headers={"Authorization": f"Bearer {agent}"})
        assert r.status_code == 503, r.get_json()
        error = r.get_json()["error"]
        assert error["code"] == "misconfigured" and error["field"] is None and "config.json" in error["message"]
        assert any("config.json" in record.getMessage() for record in caplog.records)
        caplog.clear()
    admin, _ = login(app, "admin1")
    page = admin.get("/console/settings")
    assert page.status_code == 503 and "服务器的配置有误" in page.get_data(as_text=True)


def test_a_huashu_or_word_file_broken_by_hand_is_the_servers_error_not_the_request(app, ws, caplog):
    """An editor who edits the data folder's 话术 or word list by hand (kefu reloads them by
    modification time) and leaves a bad line got every agent's suggestion answered 400
    invalid: the panel told the agent the request was wrong and to reload the page, and
    nothing reached the server's log. As a broken config.json: 503 misconfigured, the file
    and line named, logged for the admin."""
    import logging

    from kefu import corpus

    agent = ws.users().add_token("bot", "agent")
    client = app.test_client()
    lines = corpus.HUASHU.read_text(encoding="utf-8").splitlines()
    broken = {"huashu.jsonl": "\n".join(lines[:3] + ['{"id": "h900", "kind": "closing", "text": "少了括号"'] + lines[3:]),
              "sensitive_words.txt": "最\t极限词\n".encode() + b"\x80\xff\n"}
    for name, text in broken.items():
        path = ws.home / name
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text, encoding="utf-8")
        with caplog.at_level(logging.ERROR):
            r = client.post("/api/suggest", json={"message": "包邮吗"}, headers={"Authorization": f"Bearer {agent}"})
        assert r.status_code == 503, r.get_json()
        error = r.get_json()["error"]
        assert error["code"] == "misconfigured" and name in error["message"], error
        assert name != "huashu.jsonl" or "line 4" in error["message"]
        assert any(name in record.getMessage() for record in caplog.records)
        caplog.clear()
        path.unlink()
    r = client.post("/api/suggest", json={"message": "包邮吗"}, headers={"Authorization": f"Bearer {agent}"})
    assert r.status_code == 200
    # The console's pages of those files say it in Chinese, with the line.
    (ws.home / "huashu.jsonl").write_text(broken["huashu.jsonl"], encoding="utf-8")
    editor, _ = login(app, "editor1")
    page = editor.get("/console/huashu")
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and "服务器的配置有误" in text and "huashu.jsonl，第 4 行：JSON 格式有误" in text, text


def test_a_huashu_file_no_encoding_reads_names_no_command_option_in_the_servers_log(app, ws, caplog):
    """The console's 话术 page read the file with the import's advice, so the admin's log said
    "name it with --encoding", an option neither kefu serve nor the console has."""
    import logging

    (ws.home / "huashu.jsonl").write_bytes(b'{"id": "h1", "kind": "no_match", "text": "\x80\x80\xff\xfe\xff"}\n')
    editor, _ = login(app, "editor1")
    with caplog.at_level(logging.ERROR):
        page = editor.get("/console/huashu")
    assert page.status_code == 503
    assert "另存为 UTF-8" in page.text and "再导入" not in page.text  # a 话术 file is not imported
    logged = " ".join(record.getMessage() for record in caplog.records if "huashu.jsonl" in record.getMessage())
    assert "fits none of UTF-8" in logged and "--encoding" not in logged, logged


def test_a_huashu_file_the_system_cannot_read_is_named_in_chinese_on_the_console(app, ws):
    """A 话术 path that is a folder (or a file kefu may not read) showed the system's English
    reason on the console's 话术 page: 无法读取：Is a directory."""
    from kefu.web.messages import problem_zh

    (ws.home / "huashu.jsonl").mkdir()
    editor, _ = login(app, "editor1")
    page = editor.get("/console/huashu")
    assert page.status_code == 503 and "服务器的配置有误" in page.text
    assert "huashu.jsonl：无法读取：这是一个文件夹，不是文件" in page.text and "Is a directory" not in page.text, page.text
    assert problem_zh("/srv/kefu/sensitive_words.txt: cannot read: Permission denied") == \
        "/srv/kefu/sensitive_words.txt：无法读取：没有读取这个文件的权限"
    # one the table lacks: the system's words, marked as its
    assert problem_zh("a.txt: cannot read: Stale file handle") == "a.txt：无法读取（系统提示：Stale file handle）"


def test_a_file_the_system_does_not_permit_reading_is_named_in_chinese():
    """EPERM (a file locked by the system or by a security policy, not by its permissions)
    showed the system's English words: 无法读取（系统提示：Operation not permitted）."""
    from kefu.web.messages import problem_zh

    assert problem_zh("/srv/kefu/huashu.jsonl: cannot read: Operation not permitted") == \
        "/srv/kefu/huashu.jsonl：无法读取：系统不允许读取这个文件"


def test_a_store_another_kefu_keeps_locked_is_503_busy_not_a_500(app, ws, api):
    """Another kefu holding the store's write lock past the wait (30 s; 50 ms here) is the
    CLI's `busy`: nothing wrong with the request, which may be sent again."""
    import sqlite3

    login_page = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.get("/login").get_data(as_text=True)).group(1)
    ws.store().db.conn.execute("pragma busy_timeout = 50")
    other = sqlite3.connect(ws.home / "kefu.db", isolation_level=None)
    other.execute("begin immediate")
    try:
        r = api("POST", "/api/suggest", json={"message": "多久能发货？"})  # logging it writes
        assert r.status_code == 503 and r.get_json()["error"]["code"] == "busy", r.get_data(as_text=True)
        assert "try again" in r.get_json()["error"]["message"] and int(r.headers["Retry-After"]) > 0
        r = login_page.post("/login", data={"name": "editor1", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 503 and "知识库正忙" in r.get_data(as_text=True)  # a page says so in Chinese
    finally:
        other.execute("rollback")
        other.close()
    assert api("POST", "/api/suggest", json={"message": "多久能发货？"}).status_code == 200


def test_unknown_tokens_from_one_address_are_refused_for_a_while(ws):
    now = [1_800_000_000.0]
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "KEFU_LOGIN_ATTEMPTS_PER_ADDRESS": 3,
                      "KEFU_LOGIN_WINDOW_MINUTES": 1}, workspace=ws, clock=lambda: now[0])
    good = ws.users().add_token("bot", "agent")
    client = app.test_client()

    def get(token, address="10.0.0.1"):
        return client.get("/api/entries", headers={"Authorization": f"Bearer {token}"},
                          environ_base={"REMOTE_ADDR": address})

    for n in range(3):
        assert get(f"kefu_guess{n}").status_code == 401
    r = get("kefu_guess3")
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    assert r.get_json()["error"]["code"] == "too_many_requests"
    # A valid token is always accepted, from that address too, and not counted.
    assert get(good).status_code == 200
    assert get(good, address="10.0.0.2").status_code == 200
    # Apart from logins: people behind that address can still log in.
    page = client.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.1"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"name": "agent1", "password": PASSWORD, "csrf_token": token},
                    environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert r.status_code == 302
    now[0] += 60
    assert get(good).status_code == 200


def test_worker_processes_counting_at_once_let_no_unknown_token_past_the_limit(ws, monkeypatch):
    """Two apps over one data folder, as two `kefu serve` workers: each checked the
    address's unknown tokens before either counted its own, so both were let through."""
    import threading

    from kefu.kb.throttle import LoginThrottle

    other = Workspace(ws.home, embedders=[FakeEmbedder()])
    config = {"TESTING": True, "SECRET_KEY": "test", "KEFU_LOGIN_ATTEMPTS_PER_ADDRESS": 1}
    apps = [create_app(config, workspace=ws), create_app(config, workspace=other)]
    together, codes = threading.Barrier(2, timeout=2), []
    wait = LoginThrottle.wait

    def both_at_once(self, *args, **kwargs):
        try:
            together.wait()  # both workers checking at once, if both got there
        except threading.BrokenBarrierError:
            pass
        return wait(self, *args, **kwargs)

    monkeypatch.setattr(LoginThrottle, "wait", both_at_once)

    def guess(app, n):
        r = app.test_client().get("/api/entries", headers={"Authorization": f"Bearer kefu_guess{n}"},
                                  environ_base={"REMOTE_ADDR": "10.0.0.1"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(a, n)) for n, a in enumerate(apps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert sorted(codes) == [401, 429]


def test_worker_processes_starting_at_once_make_one_secret_key(tmp_path):
    """The first `kefu serve` of a data folder: every worker made the session key at once,
    through one shared temporary file, and one could fail to boot (its file moved away),
    read an empty key, or keep a key of its own (a login made on it ended on the others)."""
    import threading

    for n in range(20):
        home, keys = tmp_path / f"home{n}", []
        together = threading.Barrier(4)

        def start():
            together.wait()
            try:
                keys.append(create_app({"TESTING": True}, workspace=Workspace(home))
                            .config["SECRET_KEY"])
            except OSError as exc:
                keys.append(exc)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(keys)) == 1 and len(keys[0]) == 64, keys
        assert sorted(p.name for p in home.iterdir()) == ["secret_key"]


def test_a_revoked_token_gets_401_every_time_not_429(ws):
    """A client whose token was revoked got "too many unknown API tokens" (429) after
    --login-attempts-per-address requests: every repeat of its one token was counted as a
    guess. Each unknown token now counts once, so the client keeps getting a 401 that says
    the token is not valid, while guessing many different tokens is still refused."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "KEFU_LOGIN_ATTEMPTS_PER_ADDRESS": 3},
                     workspace=ws)
    revoked = ws.users().add_token("bot", "agent")
    client = app.test_client()

    def get(token):
        return client.get("/api/entries", headers={"Authorization": f"Bearer {token}"},
                          environ_base={"REMOTE_ADDR": "10.0.0.1"})

    assert get(revoked).status_code == 200
    ws.users().revoke_tokens("bot")
    for _ in range(10):
        r = get(revoked)
        assert r.status_code == 401, r.get_json()
        assert "revoked" in r.get_json()["error"]["message"]
    # Different tokens are guesses: the third unknown one fills the limit, the fourth is refused.
    assert [get(f"kefu_guess{n}").status_code for n in range(3)] == [401, 401, 429]
    # The revoked token, already counted, still gets its 401 from the refused address.
    assert get(revoked).status_code == 401
    # No token at all is still the plain "login required".
    r = client.get("/api/entries")
    assert r.status_code == 401 and "revoked" not in r.get_json()["error"]["message"]


def test_session_writes_need_the_csrf_header(app):
    client, token = login(app, "editor1")
    body = {"question": "可以用花呗吗", "answer": "支持花呗分期。"}
    r = client.post("/api/entries", json=body)
    assert r.status_code == 400 and "CSRF" in r.get_json()["error"]["message"]
    assert r.get_json()["error"]["code"] == "csrf_failed"  # the panel asks to log in again
    assert "X-CSRFToken" in r.get_json()["error"]["message"]  # a script is told what it left out
    r = client.post("/api/entries", json=body, headers={"X-CSRFToken": "forged"})
    assert r.status_code == 400
    # The token the README points a script to: the meta tag of a page of its session.
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/api/entries", json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 201


def test_html_forms_without_csrf_token_are_refused(app):
    client, _ = login(app, "editor1")
    assert client.post("/logout").status_code == 400


def test_login_rejects_wrong_password_and_open_redirects(app):
    client, token = login(app, None)
    r = client.post("/login", data={"name": "agent1", "password": "wrong", "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码不正确" in r.get_data(as_text=True)
    r = client.post("/login?next=//evil.example/x", data={"name": "agent1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example/phish", "/\n/evil.example", "/\\evil.example",
                                    "https://evil.example/", "javascript:alert(1)"])
def test_login_follows_only_paths_of_this_site(app, target):
    """Browsers drop a tab or newline from a URL and read a backslash as a slash: "/\t/x"
    passed a startswith("//") check and Chromium then opened //evil.example."""
    client, token = login(app, None)
    r = client.post("/login", query_string={"next": target},
                    data={"name": "agent1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers["Location"]
    client, token = login(app, None)
    r = client.post("/login", query_string={"next": "/console/try?q=发票"},
                    data={"name": "editor1", "password": PASSWORD, "csrf_token": token})
    assert r.headers["Location"] == "/console/try?q=%E5%8F%91%E7%A5%A8"


def test_a_login_hashes_its_password_without_holding_the_knowledge_base(app, ws, monkeypatch):
    """The password was hashed (a tenth of a second) under the lock every search and
    suggestion of the process waits for: a stream of logins, wrong or with names that do
    not exist, held the panel's suggestions for as long as it lasted."""
    import threading

    import werkzeug.security

    lock, free, real = app.extensions["kefu_lock"], [], werkzeug.security.check_password_hash

    def check(password_hash, password):
        def probe():  # another request's thread
            if lock.acquire(blocking=False):
                lock.release()
                free.append(True)
            else:
                free.append(False)
        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()
        return real(password_hash, password)

    monkeypatch.setattr(werkzeug.security, "check_password_hash", check)
    client, token = login(app, None)
    for name, password in (("agent1", "wrong"), ("nobody", "wrong"), ("agent1", PASSWORD)):
        client.post("/login", data={"name": name, "password": password, "csrf_token": token})
    assert free == [True, True, True]
    assert client.get("/").status_code == 200  # the right password still logged in


def test_a_password_changed_while_the_login_was_checked_logs_nobody_in(app, ws, monkeypatch):
    """The hash is checked outside the lock, so the store may change meanwhile: a login with
    the old password must not start a session after `kefu user passwd` ended them all."""
    import werkzeug.security

    real = werkzeug.security.check_password_hash

    def check(password_hash, password):
        ok = real(password_hash, password)
        ws.users().set_password("agent1", "another-horse")  # at that moment, from the CLI
        return ok

    monkeypatch.setattr(werkzeug.security, "check_password_hash", check)
    client, token = login(app, None)
    r = client.post("/login", data={"name": "agent1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码不正确" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def _stolen(app, client):
    """A second client holding a copy of `client`'s session cookie."""
    other = app.test_client()
    cookie = client.get_cookie("session")
    other.set_cookie(cookie.key, cookie.value)
    return other


def test_logout_ends_the_session_even_for_a_copied_cookie(app):
    client, token = login(app, "agent1")
    copy = _stolen(app, client)
    assert copy.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert copy.get("/").status_code == 302  # to the login page
    assert copy.post("/api/suggest", json={"message": "发票怎么开"}, headers={"X-CSRFToken": token}).status_code in (400, 401)


def test_logging_out_after_the_login_ended_lands_on_the_login_page(app):
    """退出 on a page whose login expired posts a token of a dead session: no error page."""
    client, token = login(app, "agent1")
    copy = _stolen(app, client)
    assert copy.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302  # the ended login is noticed and dropped
    r = client.post("/logout", data={"csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/login"
    assert "已退出登录" in client.get("/login").get_data(as_text=True)
    # A live login still needs the token (test_html_forms_without_csrf_token_are_refused).


def test_a_new_password_or_removing_the_user_ends_their_sessions(app, ws):
    client, token = login(app, "agent1")
    other, _ = login(app, "editor1")
    ws.users().set_password("agent1", "another-horse")
    assert client.get("/").status_code == 302
    assert other.get("/").status_code == 200  # someone else's login is untouched
    client, _ = login(app, "editor1")
    ws.users().remove("editor1")
    ws.users().add("editor1", PASSWORD, "editor")  # the same name again is a new user
    assert client.get("/console/").status_code == 302


def test_a_login_ends_31_days_after_it_began_even_with_a_fresh_cookie(app, ws):
    """Flask limits a cookie's age, counted from when it was last signed, and it signs the
    cookie again whenever the session changes (any flash message): a login in use, or a
    copied cookie used now and then, lasted past its 31 days for as long as nobody logged in
    (only a login purged the old rows)."""
    from datetime import datetime, timedelta, timezone

    client, token = login(app, "agent1")
    copy = _stolen(app, client)
    began = (datetime.now(timezone.utc) - timedelta(days=30)).isoformat(timespec="seconds")
    with ws.users().db.conn:
        ws.users().db.execute("update web_sessions set created_at = ?", [began])
    assert client.get("/").status_code == 200  # within its days
    began = (datetime.now(timezone.utc) - timedelta(days=32)).isoformat(timespec="seconds")
    with ws.users().db.conn:
        ws.users().db.execute("update web_sessions set created_at = ?", [began])
    assert copy.get("/").status_code == 302  # to the login page
    assert client.post("/api/suggest", json={"message": "包邮吗"}, headers={"X-CSRFToken": token}).status_code == 401


def test_session_cookie_is_httponly_and_samesite(app):
    client, token = login(app, None)
    r = client.post("/login", data={"name": "agent1", "password": PASSWORD, "csrf_token": token})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://127.0.0.1 must keep working


def test_session_cookie_can_be_marked_secure_behind_https(ws):
    """The session cookie had no way to be marked Secure, so behind an HTTPS proxy a
    browser could still send the login over plain http; KEFU_SECURE_COOKIES (`kefu serve
    --secure-cookies`) marks it, on login and on every later Set-Cookie."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "KEFU_SECURE_COOKIES": True}, workspace=ws)
    client = app.test_client()
    page = client.get("/login", base_url="https://kefu.example")
    assert "; Secure" in page.headers["Set-Cookie"]  # the CSRF token lives in the session
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    r = client.post("/login", data={"name": "agent1", "password": PASSWORD, "csrf_token": token},
                    base_url="https://kefu.example", headers={"Referer": "https://kefu.example/login"})
    assert r.status_code == 302, r.get_data(as_text=True)
    cookie = r.headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# -- API behaviour ----------------------------------------------------------------------------

@pytest.fixture
def api(app, ws):
    token = ws.users().add_token("test", "editor")
    client = app.test_client()

    def call(method, url, **kwargs):
        return client.open(url, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    return call


@pytest.fixture
def confident_api(confident_app):
    """`api` on an app whose fake models carry the real models' ids: the stored question
    "多久能发货？" is a confident match there, whatever the calibration of a lone fake model
    (fitted on five entries, it put that exact question at confidence 0.49-0.5, and a
    re-measured anchor tipped it under 0.5: a no-match draft first, nothing learned)."""
    app, ws = confident_app
    token = ws.users().add_token("test", "editor")
    client = app.test_client()

    def call(method, url, **kwargs):
        return client.open(url, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    return call, ws


def test_suggest_feedback_round_trip(confident_api):
    api, ws = confident_api
    s = api("POST", "/api/suggest", json={"message": "多久能发货？", "values": {"订单号": "123"}}).get_json()
    assert s["hits"][0]["id"] == "delivery" and not s["no_match"] and s["drafts"] and s["suggestion_id"]
    r = api("POST", "/api/feedback", json={"suggestion_id": s["suggestion_id"], "action": "accept", "draft": 1})
    assert r.status_code == 201
    log = ws.feedback_log().suggestion(s["suggestion_id"])
    assert [f["action"] for f in log["feedback"]] == ["accept"] and log["feedback"][0]["agent"] == "token:test"
    # The accepted draft answers from "delivery", and the message is its stored question:
    # learned as "known" (nothing new to index), counted once.
    (learned,) = ws.learner().store.rows()
    assert (learned.entry_id, learned.status, learned.accepts) == ("delivery", "known", 1)
    # "not helpful" on the whole list counts against the top hit, just used: refused
    r = api("POST", "/api/feedback", json={"suggestion_id": s["suggestion_id"], "action": "reject"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    (learned,) = ws.learner().store.rows()
    assert (learned.accepts, learned.rejects) == (1, 0)
    again = api("POST", "/api/suggest", json={"message": "多久能发货？"}).get_json()
    r = api("POST", "/api/feedback", json={"suggestion_id": again["suggestion_id"], "action": "reject"})
    assert r.status_code == 201
    (learned,) = ws.learner().store.rows()  # "not helpful" rejects the top hit, once
    assert (learned.entry_id, learned.rejects, learned.rejecters) == ("delivery", 1, ["token:test"])


def test_feedback_says_when_learning_counts_it_for_nothing(confident_api):
    """A second agent's accept was recorded (201) with nothing saying it counts for nothing.
    A missing answer reported after a draft was used is recorded (the draft sent may have
    been the wrong entry's)."""
    api, ws = confident_api
    sid = api("POST", "/api/suggest", json={"message": "多久能发货？"}).get_json()["suggestion_id"]

    def say(agent, action, draft=None):
        return api("POST", "/api/feedback", json={"suggestion_id": sid, "action": action, "draft": draft,
                                                   "agent": agent})

    assert say("alice", "accept", 1).get_json()["note"] is None
    r = say("bob", "accept", 1)
    assert r.status_code == 201 and r.get_json()["note"] == (
        "learning already counts token:test/alice's accept of entry delivery for this suggestion;"
        " token:test/bob's is kept in the log only (one say per customer message)")
    assert say("carol", "no_match").status_code == 201
    assert "note" in SPEC["components"]["schemas"]["FeedbackRecorded"]["properties"]


def test_suggest_adds_what_the_panel_shows_in_chinese(api):
    """The CLI's shape plus `panel`: the notes and explanation lines in Chinese, line for
    line (the panel's own table of them had drifted from what the assistant says), the
    entry the drafts answer and the hits' questions in the customer's script."""
    s = api("POST", "/api/suggest", json={"message": "運費怎麼算？還有怎麼申請退貨"}).get_json()
    panel = s.pop("panel")
    assert set(panel) == {"notes", "explanations", "questions", "matched", "entry", "small_talk", "blanks"}
    assert len(panel["notes"]) == len(s["notes"]) and "一条消息问了两件事：草稿依次回答" in panel["notes"]
    assert [len(z) for z in panel["explanations"]] == [len(d["explanation"]) for d in s["drafts"]]
    for english, chinese in zip(s["drafts"][0]["explanation"], panel["explanations"][0]):
        assert english != chinese and not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", chinese), (english, chinese)
    assert panel["entry"] == s["hits"][0]["id"] and panel["entry"] in s["drafts"][0]["entry_ids"]
    assert panel["small_talk"] is False  # a question, not a greeting
    assert panel["questions"]["ship"] == "運費怎麼算" and panel["questions"]["return"] == "怎麼申請退貨"
    assert set(panel["matched"]) == {h["id"] for h in s["hits"]} and panel["matched"]["ship"] == "運費怎麼算"
    assert "panel" in SPEC["components"]["schemas"]["Suggestion"]["properties"]


def test_a_suggestion_asked_again_as_the_message_is_typed_supersedes_the_earlier_one(api, ws):
    first = api("POST", "/api/suggest", json={"message": "多久能"}).get_json()["suggestion_id"]
    second = api("POST", "/api/suggest", json={"message": "多久能发货？", "replaces": first}).get_json()
    standing = dict(ws.feedback_log().db.execute("select id, message from suggestions where superseded_by is null"))
    assert standing == {second["suggestion_id"]: "多久能发货？"}
    assert usage(ws.feedback_log().db).shown == 1
    # a click on the first one's draft, sent while the second was on its way, still counts
    r = api("POST", "/api/feedback", json={"suggestion_id": first, "action": "reject"})
    assert r.status_code == 201 and usage(ws.feedback_log().db).shown == 2


def test_replaces_never_supersedes_another_agents_suggestion(app, ws):
    """Agent 2 typing on from their own "在" must not hide agent 1's "在吗" logged meanwhile."""
    calls = {}
    for name in ("one", "two"):
        token = ws.users().add_token(name, "agent")
        calls[name] = functools.partial(app.test_client().post, "/api/suggest",
                                        headers={"Authorization": f"Bearer {token}"})
    sa = calls["two"](json={"message": "在"}).get_json()["suggestion_id"]
    sb = calls["one"](json={"message": "在吗"}).get_json()["suggestion_id"]
    calls["two"](json={"message": "在吗我的快递到哪了", "replaces": sa})
    superseded = dict(ws.feedback_log().db.execute("select id, superseded_by from suggestions"))
    assert superseded[sa] is not None and superseded[sb] is None


@pytest.fixture
def confident_app(tmp_path):
    """An app whose fake models carry the real models' ids, so their fusion weights apply
    and a close paraphrase is a confident match with drafts for its entry."""
    w = Workspace(tmp_path / "confident", embedders=[FakeEmbedder("use-m3"), FakeEmbedder("e5-small-q4")])
    w.kb().import_entries(SHOP)
    yield create_app({"TESTING": True, "SECRET_KEY": "test"}, workspace=w), w
    w.close()


def test_one_token_names_each_help_desk_agent(confident_app):
    """A Chatwoot team shares one token: `agent` makes its accepts count as different agents."""
    app, ws = confident_app
    headers = {"Authorization": f"Bearer {ws.users().add_token('desk', 'agent')}"}
    client = app.test_client()

    def accept(agent=None):
        # a phrasing the entry lacks ("请问多久能发货" is its own 多久能发货: known, never trusted)
        s = client.post("/api/suggest", json={"message": "一般多久能发货"}, headers=headers).get_json()
        assert not s["no_match"] and s["drafts"][0]["entry_ids"] == ["delivery"]
        body = {"suggestion_id": s["suggestion_id"], "action": "accept", "draft": 1}
        r = client.post("/api/feedback", json={**body, **({"agent": agent} if agent else {})}, headers=headers)
        assert r.status_code == 201
        return r.get_json()["agent"]

    assert accept("7") == "token:desk/7"
    (row,) = ws.learner().store.rows(entry_id="delivery")
    assert row.agents == ["token:desk/7"] and not row.trusted  # one agent: not yet (min agents 2)
    assert accept(" 7 ") == "token:desk/7"  # the same agent again still counts once
    assert accept("8") == "token:desk/8"
    (row,) = ws.learner().store.rows(entry_id="delivery")
    assert row.accepts == 3 and row.agents == ["token:desk/7", "token:desk/8"] and row.trusted
    assert accept() == "token:desk"  # without `agent`: the token's user, as before


@pytest.mark.parametrize("shared", [False, True])
def test_only_a_shared_login_names_help_desk_agents(confident_app, shared):
    """One person with a personal login naming agents x and y would pass the two-agent
    trust rule alone: their feedback stays theirs. A login the team shares names each."""
    app, ws = confident_app
    ws.users().add("desk", PASSWORD, "agent", shared=shared)
    client, token = login(app, "desk")
    headers = {"X-CSRFToken": token}
    for agent in ("x", "y"):
        s = client.post("/api/suggest", json={"message": "一般多久能发货"}, headers=headers).get_json()
        r = client.post("/api/feedback", json={"suggestion_id": s["suggestion_id"], "action": "accept", "draft": 1,
                                               "agent": agent}, headers=headers)
        assert r.status_code == 201 and r.get_json()["agent"] == (f"desk/{agent}" if shared else "desk")
    (row,) = ws.learner().store.rows(entry_id="delivery")
    assert row.trusted == shared and len(row.agents) == (2 if shared else 1)


@pytest.mark.parametrize("agent", [7, "", "  ", "a/b", "x" * 65, "a\nb"])
def test_a_bad_agent_is_400_naming_the_field(api, agent):
    sid = api("POST", "/api/suggest", json={"message": "多久能发货？"}).get_json()["suggestion_id"]
    r = api("POST", "/api/feedback", json={"suggestion_id": sid, "action": "reject", "agent": agent})
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, "agent")
    assert r.get_json()["error"]["code"] == "invalid_field"


def test_feedback_for_an_archived_entry_is_refused_and_stores_nothing(confident_api):
    api, ws = confident_api
    s = api("POST", "/api/suggest", json={"message": "多久能发货？"}).get_json()
    assert not s["no_match"] and s["drafts"][0]["entry_ids"] == ["delivery"]
    ws.kb().archive("delivery")
    r = api("POST", "/api/feedback", json={"suggestion_id": s["suggestion_id"], "action": "reject"})
    error = r.get_json()["error"]
    assert r.status_code == 400 and "archived" in error["message"]
    # Not helpful on the whole list counts against its top hit: no draft was sent to name.
    assert (error["code"], error["field"]) == ("invalid", None)
    r = api("POST", "/api/feedback", json={"suggestion_id": s["suggestion_id"], "action": "reject", "draft": 1})
    error = r.get_json()["error"]
    assert r.status_code == 400 and "archived" in error["message"]
    assert (error["code"], error["field"]) == ("invalid_field", "draft")  # like every error naming a field
    assert ws.feedback_log().suggestion(s["suggestion_id"])["feedback"] == []
    assert ws.learner().store.rows() == []


def test_feedback_errors_name_their_field(api):
    sid = api("POST", "/api/suggest", json={"message": "多久能发货？"}).get_json()["suggestion_id"]
    cases = [({"suggestion_id": "nope", "action": "accept"}, 404, "suggestion_id"),
             ({"suggestion_id": sid, "action": "love"}, 400, "action"),
             ({"suggestion_id": sid, "action": "accept", "draft": 9}, 400, "draft"),
             ({"suggestion_id": sid, "action": "edit", "draft": 1}, 400, "text")]
    for body, status, field in cases:
        r = api("POST", "/api/feedback", json=body)
        assert (r.status_code, r.get_json()["error"]["field"]) == (status, field), body
    r = api("GET", "/api/search?q=%20")
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, "q")


def test_feedback_errors_name_the_api_fields_not_the_cli_options(api):
    """An accept without `draft` was told to give --draft, an edit without `text` --text:
    options of `kefu feedback`, which an integration calling the API has not."""
    sid = api("POST", "/api/suggest", json={"message": "多久能发货？"}).get_json()["suggestion_id"]
    accept = api("POST", "/api/feedback", json={"suggestion_id": sid, "action": "accept"}).get_json()["error"]
    edit = api("POST", "/api/feedback", json={"suggestion_id": sid, "action": "edit", "draft": 1}).get_json()["error"]
    assert (accept["field"], edit["field"]) == ("draft", "text")
    assert accept["message"].startswith("an accept needs draft, the number of the draft the agent used (1-")
    assert edit["message"] == "an edit needs text, the edited text the agent sent"
    assert "--" not in accept["message"] + edit["message"]


@pytest.mark.parametrize("body,field", [
    ({}, "message"), ({"message": "  "}, "message"), ({"message": 5}, "message"),
    ({"message": "包邮吗", "context": "x"}, "context"), ({"message": "包邮吗", "values": {"a": 1}}, "values"),
    ({"message": "包邮吗", "context": [{"role": "bot", "text": "您好"}]}, "context"),
    ({"message": "包邮吗", "context": [{"role": "customer", "text": 123}]}, "context"),
    ({"message": "包邮吗", "context": ["你好"]}, "context"),
    ({"message": "包邮吗", "context": [{"role": "customer", "content": "我想退货"}]}, "context"),  # no "text"
    ({"message": "包邮吗", "context": [{"role": "customer"}]}, "context"),
    ({"message": "包邮吗", "context": {}}, "context"), ({"message": "包邮吗", "context": 0}, "context"),
    ({"message": "包邮吗", "context": ""}, "context"), ({"message": "包邮吗", "values": []}, "values"),
    ({"message": "包邮吗", "replaces": 5}, "replaces")])
def test_suggest_bad_fields_are_named(api, body, field):
    r = api("POST", "/api/suggest", json=body)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == field


def test_malformed_json_is_400_with_error_shape(api):
    r = api("POST", "/api/suggest", data="{not json", content_type="application/json")
    err = r.get_json()["error"]
    assert r.status_code == 400 and err["code"] == "invalid_json" and set(err) == {"code", "message", "field"}


def test_50kb_message_is_answered_and_longer_is_413(api):
    r = api("POST", "/api/suggest", json={"message": "啊" * 50_000 + "包邮吗"})
    assert r.status_code == 200 and r.get_json()["drafts"]
    assert any("longer than" in n for n in r.get_json()["notes"])  # only its end was matched
    r = api("POST", "/api/suggest", json={"message": "啊" * 100_001})
    assert r.status_code == 413 and r.get_json()["error"]["field"] == "message"


def test_any_field_over_100000_characters_is_413_naming_it(api):
    """The README's promise, for every field of every body: one check, not one per route."""
    long = "啊" * 100_001
    for method, url, body, field in [
            ("POST", "/api/entries", {"question": "能开发票吗", "answer": long}, "answer"),
            ("POST", "/api/entries", {"question": "能开发票吗", "answer": "能", "similar": [long]}, "similar"),
            ("PUT", "/api/entries/ship", {"answer": long}, "answer"),
            ("POST", "/api/suggest", {"message": "单号多少", "values": {"订单号": long}}, "values"),
            ("POST", "/api/feedback", {"suggestion_id": "x", "action": "accept", "text": long}, "text")]:
        r = api(method, url, json=body)
        assert (r.status_code, r.get_json()["error"]["code"], r.get_json()["error"]["field"]) == \
            (413, "too_long", field), (url, field)
    assert api("GET", "/api/entries/ship").get_json()["answer"] != long


@pytest.mark.parametrize("field, value", [("similar", "甲问法|乙问法\n丙问法"), ("tags", "标签一,标签二"),
                                          ("similar", ["甲问法", 3]), ("tags", None), ("similar", {"a": "b"})])
def test_similar_and_tags_that_are_not_arrays_of_strings_are_400_naming_them(api, field, value):
    """A string was stored as one item (imports read a cell that way); the spec says array."""
    for method, url in (("POST", "/api/entries"), ("PUT", "/api/entries/ship")):
        r = api(method, url, json={"question": "火星能发货吗", "answer": "能", field: value})
        assert (r.status_code, r.get_json()["error"]["code"], r.get_json()["error"]["field"]) == \
            (400, "invalid_field", field), (method, field, value)
    assert api("GET", "/api/entries", query_string={"q": "火星"}).get_json() == []


def test_a_malformed_id_is_400_not_413(api):
    """Ids are short: a long one is no id (400); only a field over 100,000 characters is too long."""
    sid = api("POST", "/api/suggest", json={"message": "多久能发货？"}).get_json()["suggestion_id"]
    for url, body, field in [("/api/feedback", {"suggestion_id": "a" * 65, "action": "accept"}, "suggestion_id"),
                             ("/api/suggest", {"message": "包邮吗", "replaces": "a" * 65}, "replaces"),
                             ("/api/feedback", {"suggestion_id": sid, "action": "a" * 17}, "action")]:
        r = api("POST", url, json=body)
        assert (r.status_code, r.get_json()["error"]["code"], r.get_json()["error"]["field"]) == \
            (400, "invalid_field", field), body


def test_entries_crud_and_errors(api):
    body = {"id": "huabei", "question": "可以用花呗吗", "answer": "<script>alert(1)</script>支持。", "similar": ["花呗能用吗"]}
    assert api("POST", "/api/entries", json=body).status_code == 201
    assert api("POST", "/api/entries", json=body).get_json()["error"]["code"] == "conflict"
    got = api("GET", "/api/entries/huabei").get_json()
    assert got["answer"].startswith("<script>")  # JSON carries the text; pages escape it
    r = api("PUT", "/api/entries/huabei", json={"answer": "支持花呗分期。"})
    assert r.status_code == 200 and r.get_json()["version"] == 2
    r = api("PUT", "/api/entries/huabei", json={"status": "live"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "status"
    r = api("POST", "/api/entries", json={"question": "x", "answer": "y", "colour": "red"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "colour"
    assert api("DELETE", "/api/entries/huabei").get_json()["status"] == "archived"
    r = api("GET", "/api/entries/nope")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    listed = api("GET", "/api/entries?status=published&limit=2").get_json()
    assert [e["id"] for e in listed] == ["delivery", "invoice"]
    assert api("GET", "/api/entries?limit=0").status_code == 400


def test_a_put_cannot_change_the_id_and_says_so(api):
    """A PUT naming another id used to answer 200 with the old id, as if renamed."""
    for given in ("ship2", 5):
        r = api("PUT", "/api/entries/ship", json={"id": given, "answer": "全场包邮。"})
        assert (r.status_code, r.get_json()["error"]["field"]) == (400, "id"), given
        assert "ship" in r.get_json()["error"]["message"]
    assert api("GET", "/api/entries/ship").get_json()["answer"] != "全场包邮。"
    assert api("GET", "/api/entries/ship2").status_code == 404
    for same in ("ship", " ｓｈｉｐ"):  # the entry's own id, as GET gives it or as the store reads it
        r = api("PUT", "/api/entries/ship", json={"id": same, "answer": "全场包邮。"})
        assert r.status_code == 200 and r.get_json()["id"] == "ship", same


def test_a_delete_made_on_an_older_version_is_a_conflict(api, ws):
    """DELETE archives; with `?version=N` it is refused (409) when the entry changed since."""
    seen = api("GET", "/api/entries/ship").get_json()["version"]
    ws.kb().update("ship", {"answer": "编辑刚改的答案。"}, author="ed")
    r = api("DELETE", f"/api/entries/ship?version={seen}")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert ws.kb().store.get("ship").status == "published"
    assert api("DELETE", "/api/entries/ship?version=x").status_code == 400
    r = api("DELETE", f"/api/entries/ship?version={seen + 1}")
    assert r.status_code == 200 and r.get_json()["status"] == "archived"


def test_put_and_delete_say_whether_anything_changed_as_the_cli_does(api, ws):
    """`kefu edit --json` and `kefu archive --json` say `changed` (false: the entry had that
    content, no version recorded); PUT and DELETE gave no way to tell but comparing versions,
    though the README promises the CLI's shapes."""
    r = api("PUT", "/api/entries/ship", json={"answer": "全场包邮哦。"})
    assert (r.status_code, r.get_json()["changed"], r.get_json()["version"]) == (200, True, 2)
    r = api("PUT", "/api/entries/ship", json={"answer": "全场包邮哦。"})
    assert (r.status_code, r.get_json()["changed"], r.get_json()["version"]) == (200, False, 2)
    assert api("DELETE", "/api/entries/ship").get_json()["changed"] is True
    r = api("DELETE", "/api/entries/ship")
    assert (r.get_json()["changed"], r.get_json()["status"], r.get_json()["version"]) == (False, "archived", 3)
    assert "changed" not in api("GET", "/api/entries/ship").get_json()
    assert SPEC["paths"]["/api/entries/{entry_id}"]["put"]["responses"]["200"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/EntrySaved"}


def test_a_put_made_on_an_older_version_is_a_conflict(api, ws):
    """PUT refused a `version` field, so an integration could not guard against
    overwriting an editor's change: it is optional, and 409 when stale, as in the console."""
    seen = api("GET", "/api/entries/ship").get_json()["version"]
    ws.kb().update("ship", {"answer": "编辑刚改的答案。"}, author="ed")
    r = api("PUT", "/api/entries/ship", json={"answer": "集成写的答案。", "version": seen})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert r.get_json()["error"]["field"] == "version" and "version 2 now" in r.get_json()["error"]["message"]
    assert ws.kb().store.get("ship").answer == "编辑刚改的答案。"
    r = api("PUT", "/api/entries/ship", json={"answer": "集成写的答案。", "version": seen + 1})
    assert r.status_code == 200 and r.get_json()["version"] == seen + 2
    for bad in ("2", 2.5, True, -1):
        r = api("PUT", "/api/entries/ship", json={"answer": "别的。", "version": bad})
        assert (r.status_code, r.get_json()["error"]["field"]) == (400, "version"), bad
    assert "version" in SPEC["components"]["schemas"]["EntryChanges"]["properties"]


def test_history_and_revert_through_the_api_as_in_the_console_and_the_cli(api, ws):
    """The console and the CLI show an entry's history and revert it; the API had neither,
    though DELETE's answer says an archived entry "can be reverted": an integration that
    archived or changed an entry by mistake could not see who changed what, nor go back."""
    api("PUT", "/api/entries/ship", json={"answer": "满59元包邮。"})
    history = api("GET", "/api/entries/ship/history").get_json()
    assert [(h["version"], h["action"]) for h in history] == [(1, "import"), (2, "edit")]
    assert history[1]["before"]["answer"] != history[1]["after"]["answer"] == "满59元包邮。"
    assert history[1]["author"] == "token:test"
    # The revert's `version` is the one it was decided on: 409 when the entry changed since.
    ws.kb().update("ship", {"answer": "编辑刚改的答案。"}, author="ed")
    r = api("POST", "/api/entries/ship/revert", json={"to": 1, "version": 2})
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "version"
    assert ws.kb().store.get("ship").answer == "编辑刚改的答案。"
    r = api("POST", "/api/entries/ship/revert", json={"to": 1, "version": 3})
    assert r.status_code == 200 and r.get_json()["changed"] is True and r.get_json()["version"] == 4
    assert ws.kb().store.get("ship").answer == history[0]["after"]["answer"]
    assert api("GET", "/api/entries/ship/history").get_json()[-1]["action"] == "revert to v1"
    assert api("POST", "/api/entries/ship/revert", json={"to": 1}).get_json()["changed"] is False
    r = api("POST", "/api/entries/ship/revert", json={"to": 99})
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    for bad in ({}, {"to": "1"}, {"to": 1, "version": "x"}):
        r = api("POST", "/api/entries/ship/revert", json=bad)
        assert r.status_code == 400 and r.get_json()["error"]["field"] in ("to", "version"), bad
    assert api("GET", "/api/entries/nope/history").status_code == 404
    assert {"/api/entries/{entry_id}/history", "/api/entries/{entry_id}/revert"} <= set(SPEC["paths"])


def test_the_revert_takes_the_numbers_its_openapi_document_says_it_takes(api, ws):
    """The document gave `to` a minimum of 1 where the API, as `kefu revert --to 0` and the
    console, takes 0 and answers that the entry has no such version (404): a client checking
    requests against the document and one reading the answers learned different rules."""
    schema = SPEC["paths"]["/api/entries/{entry_id}/revert"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    numbers = {name: spec for name, spec in schema["properties"].items() if spec.get("type") == "integer"}
    assert set(numbers) == {"to", "version"}
    for name, spec in numbers.items():
        least = spec["minimum"]
        body = {"to": 1, name: least - 1}
        r = api("POST", "/api/entries/ship/revert", json=body)
        assert r.status_code == 400 and r.get_json()["error"]["field"] == name, body
        r = api("POST", "/api/entries/ship/revert", json={"to": 1, name: least})
        assert r.status_code != 400, (name, r.get_json())
    r = api("POST", "/api/entries/ship/revert", json={"to": 0})
    assert r.status_code == 404 and "has no version 0" in r.get_json()["error"]["message"]


def test_a_version_number_that_came_again_with_other_content_is_a_conflict(api, ws, tmp_path):
    """After a restore of an older backup an entry's version number comes again with other
    content: an integration that read version 2 and sent `version: 2` wrote over another
    editor's new version 2. The entry carries its `content_hash`, which PUT, DELETE and
    revert take back and compare with the version, as the console's form does."""
    from kefu.kb.store import backup, restore

    backup(ws.home / "kefu.db", tmp_path / "old.db")
    api("PUT", "/api/entries/ship", json={"answer": "集成读到的答案。"})
    seen = api("GET", "/api/entries/ship").get_json()
    assert seen["version"] == 2 and seen["content_hash"] == ws.kb().store.get("ship").content_hash()
    ws.close()
    restore(tmp_path / "old.db", ws.home / "kefu.db")
    ws.kb().update("ship", {"answer": "编辑的新答案。"}, author="ed")  # version 2 again, other content
    stale = {"version": 2, "content_hash": seen["content_hash"]}
    for r in (api("PUT", "/api/entries/ship", json={"answer": "集成的改动。", **stale}),
              api("DELETE", "/api/entries/ship", query_string=stale),
              api("POST", "/api/entries/ship/revert", json={"to": 1, **stale})):
        assert r.status_code == 409 and r.get_json()["error"]["field"] == "version"
        assert "its version 2 has other content than the hash given" in r.get_json()["error"]["message"]
    assert ws.kb().store.get("ship").answer == "编辑的新答案。"
    now = api("GET", "/api/entries/ship").get_json()
    r = api("PUT", "/api/entries/ship", json={"answer": "集成的改动。", "version": 2,
                                              "content_hash": now["content_hash"]})
    assert r.status_code == 200 and r.get_json()["content_hash"] == ws.kb().store.get("ship").content_hash()
    for bad in ({"content_hash": now["content_hash"]}, {"version": 3, "content_hash": 5}):
        r = api("PUT", "/api/entries/ship", json={"answer": "别的。", **bad})
        assert (r.status_code, r.get_json()["error"]["field"]) == (400, "content_hash"), bad
    assert "content_hash" in SPEC["components"]["schemas"]["EntryChanges"]["properties"]
    assert "content_hash" in SPEC["components"]["schemas"]["Entry"]["properties"]


def test_a_content_hash_of_another_form_is_refused_as_the_cli_refuses_it(api, ws):
    """A mistyped content_hash was compared, and answered 409 "its version 1 now has other
    content: a restore took it back", though no restore happened; `kefu --if-hash` took an
    empty one the API refused. One check, at both edges: 400 naming content_hash."""
    for bad in ("abc", "0123456789ABCDEF", "0123456789abcdef0", " " * 16):
        stale = {"version": 1, "content_hash": bad}
        for r in (api("PUT", "/api/entries/ship", json={"answer": "集成的改动。", **stale}),
                  api("DELETE", "/api/entries/ship", query_string=stale),
                  api("POST", "/api/entries/ship/revert", json={"to": 1, **stale})):
            assert (r.status_code, r.get_json()["error"]["field"]) == (400, "content_hash"), bad
            assert "restore" not in r.get_json()["error"]["message"]
    assert ws.kb().store.get("ship").version == 1


def test_un_archiving_an_entry_whose_question_another_live_entry_has_is_a_conflict(api, ws):
    ws.kb().archive("ship")
    api("POST", "/api/entries", json={"id": "ship2", "question": "运费怎么算？", "answer": "全场包邮。"})
    r = api("PUT", "/api/entries/ship", json={"status": "published"})
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "question"
    assert ws.kb().store.get("ship").status == "archived"


def test_a_second_entry_with_a_standard_question_is_a_conflict_as_in_the_cli(api):
    """It was 400 invalid_field, where `kefu add --json` said conflict: the question is
    fine in itself, it is taken by another entry, as a taken id is (409)."""
    body = {"question": "可以用花呗吗", "answer": "支持。"}
    assert api("POST", "/api/entries", json=body).status_code == 201
    r = api("POST", "/api/entries", json={**body, "question": "可以用花唄嗎？"})
    error = r.get_json()["error"]
    assert (r.status_code, error["code"], error["field"]) == (409, "conflict", "question")
    assert "is already the standard question of entry" in error["message"]


def test_the_api_and_the_cli_give_each_error_one_code():
    """The CLI's --json said invalid_field for an unknown suggestion (the API: 404
    not_found) and for contradicting feedback (409 conflict), conflict for a taken
    question (the API: 400 invalid_field): each edge had its own mapping."""
    from flask import Flask

    from kefu.cli import KefuClickError, error_json
    from kefu.kb.errors import (DuplicateEntry, DuplicateQuestion, EntryNotFound, ImportFileError, InvalidEntry,
                                KefuError, SourceNotFound, VersionNotFound)
    from kefu.kb.feedback import BadFeedback, ContradictingFeedback, UnknownSuggestion
    from kefu.kb.learned import LearnError
    from kefu.web.api import register_errors

    errors = [(EntryNotFound("k1"), 404, "not_found"), (VersionNotFound("k1", 9), 404, "not_found"),
              (UnknownSuggestion("3f2a"), 404, "not_found"), (SourceNotFound(["a.docx"]), 404, "not_found"),
              (DuplicateEntry("k1"), 409, "conflict"), (DuplicateQuestion("k1", "运费多少"), 409, "conflict"),
              (ContradictingFeedback("draft 1 was already rejected"), 409, "conflict"),
              (InvalidEntry("answer", "missing"), 400, "invalid_field"), (BadFeedback("draft", "x"), 400, "invalid_field"),
              (LearnError("entry archived", "draft"), 400, "invalid_field"),
              (ImportFileError("f.csv", 2, "answer", "empty"), 400, "invalid_field"), (KefuError("x"), 400, "invalid")]
    app = Flask(__name__)
    register_errors(app)

    def boom(n: int):
        raise errors[n][0]
    app.add_url_rule("/api/boom/<int:n>", view_func=boom)
    client = app.test_client()
    for n, (error, status, code) in enumerate(errors):
        r = client.get(f"/api/boom/{n}")
        assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), error
        assert error_json(KefuClickError(error))["error"]["code"] == code, error


def test_search_sees_an_entry_added_through_the_api(api):
    api("POST", "/api/entries", json={"question": "可以用花呗吗", "answer": "支持。", "similar": ["花呗能用吗"]})
    hits = api("GET", "/api/search?q=花呗能用吗").get_json()["hits"]
    assert hits[0]["question"] == "可以用花呗吗" and hits[0]["entry_id"].startswith("k")
    assert api("GET", "/api/search?q=x&k=abc").get_json()["error"]["field"] == "k"


def test_search_takes_every_k_it_declares(api):
    # k up to 50 is valid; more hits than the retriever's 30 candidates once gave a 500
    r = api("GET", "/api/search?q=退货&k=50")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert 0 < len(r.get_json()["hits"]) <= 50


def test_search_takes_a_long_message_in_a_json_body(api):
    """`kefu serve` takes request lines of 8 KB, some 900 Chinese characters of ?q=; a
    longer message goes in POST /api/search's body, answered as GET answers it."""
    message = "退货运费谁出？" * 300
    r = api("POST", "/api/search", json={"q": message, "k": 3})
    assert r.status_code == 200, r.get_data(as_text=True)
    hits = r.get_json()["hits"]
    assert 0 < len(hits) <= 3
    assert hits == api("GET", "/api/search", query_string={"q": message, "k": 3}).get_json()["hits"]
    for body, field in (({"q": 5}, "q"), ({"q": " "}, "q"), ({"q": "退货", "k": 0}, "k"),
                        ({"q": "退货", "k": "3"}, "k"), ({"q": "退货", "k": True}, "k")):
        r = api("POST", "/api/search", json=body)
        assert (r.status_code, r.get_json()["error"]["field"]) == (400, field), body


def test_unknown_api_route_is_json_404(api):
    r = api("GET", "/api/nothing-here")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_the_api_base_url_itself_is_json_404_too(api):
    """A client given the base URL, without the slash, gets the API's JSON, not a page."""
    r = api("GET", "/api")
    assert r.status_code == 404 and r.mimetype == "application/json"
    assert r.get_json()["error"]["code"] == "not_found"


def test_a_wrong_method_is_405_saying_which_methods_the_route_takes(api, app):
    """HTTP requires a 405's Allow header; the message names the methods too."""
    for method, url, allowed in (("GET", "/api/suggest", {"POST"}), ("PUT", "/api/search", {"GET", "POST"}),
                                 ("PATCH", "/api/entries/ship", {"GET", "PUT", "DELETE"})):
        r = api(method, url)
        assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed", url
        assert allowed <= set(r.headers["Allow"].replace(" ", "").split(",")), url
        assert all(m in r.get_json()["error"]["message"] for m in allowed), r.get_json()
    r = app.test_client().get("/logout")  # a page's 405 keeps the header as well
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_a_401_names_the_bearer_scheme_as_http_requires(app):
    for headers in ({}, {"Authorization": "Bearer kefu_not-a-token"}):
        r = app.test_client().post("/api/suggest", json={"message": "包邮吗"}, headers=headers)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer"), headers


def test_kefu_serve_takes_a_search_query_only_percent_encoded_as_the_readme_says():
    """`curl 'http://…/api/search?q=运费'` sends the UTF-8 bytes as they are: gunicorn
    refuses that request line (HTML 400) before the API sees it, which the README says,
    with the way to encode it. Encoded, the same message arrives whole."""
    from pathlib import Path
    from urllib.parse import parse_qs, quote

    from gunicorn.config import Config
    from gunicorn.http.errors import InvalidRequestLine
    from gunicorn.http.parser import RequestParser

    from kefu.web import server

    cfg = Config()
    for key, value in server.options("127.0.0.1", 8000, 1, 1).items():
        cfg.set(key, value)

    def parse(query: str):
        raw = f"GET /api/search?q={query} HTTP/1.1\r\nHost: kefu\r\n\r\n".encode()
        return next(RequestParser(cfg, iter([raw]), ("127.0.0.1", 50000)))
    assert parse_qs(parse(quote("退货运费")).query)["q"] == ["退货运费"]
    with pytest.raises(InvalidRequestLine):
        parse("退货运费")
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "percent-encoded" in readme and "--data-urlencode" in readme


def test_openapi_documents_every_api_route(app):
    assert app.test_client().get("/api/openapi.json").get_json()["openapi"].startswith("3.")
    for rule, method in _rules(app):
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        assert path in SPEC["paths"], f"{rule} is not in the OpenAPI document"
        assert method.lower() in SPEC["paths"][path], f"{method} {rule} is not in the OpenAPI document"


def test_openapi_describes_a_drafts_slots_as_the_api_returns_them():
    """A client filling values into an edited draft reads its slots from the document:
    each field of suggest/draft.py's Slot, `fallback` among them, is described there."""
    from dataclasses import fields

    from kefu.suggest.draft import Slot

    said = SPEC["components"]["schemas"]["Draft"]["properties"]["slots"]
    assert set(said["items"]["properties"]) == {f.name for f in fields(Slot)}
    assert said["items"]["properties"]["fallback"]["type"] == ["string", "null"] and "fallback" in said["description"]


def test_openapi_describes_validity_bounds_as_the_api_returns_them(api):
    """valid_from and valid_to were declared `format: date-time` (RFC 3339: a time and an
    offset), but a bound is stored as a date (2026-11-11) or a local time without offset
    (2026-11-11T20:00:00): a client validating against the document refused them. The
    schema gives the stored forms, and every form the API returns fits it."""
    for given in ("2026-11-11", "2026-11-11T20:00", "2026-11-11T20:00+08:00", "2026-11-11T20:00:00.5Z"):
        r = api("PUT", "/api/entries/ship", json={"valid_from": given, "valid_to": given})
        assert r.status_code == 200, r.get_json()
        entry = api("GET", "/api/entries/ship").get_json()
        for name in ("valid_from", "valid_to"):
            schema = SPEC["components"]["schemas"]["Entry"]["properties"][name]
            assert schema.get("format") != "date-time"
            assert re.fullmatch(schema["pattern"].strip("^$"), entry[name]), (schema, entry[name])


def test_the_api_reads_dates_as_an_import_does(api):
    """An import read 2026/11/11 20:00, 2026.11.11 and 2026年11月11日; the API refused them."""
    r = api("PUT", "/api/entries/ship", json={"valid_from": "2026/11/11 20:00", "valid_to": "2026年11月12日"})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["valid_from"], r.get_json()["valid_to"]) == ("2026-11-11T20:00:00", "2026-11-12")
    r = api("PUT", "/api/entries/ship", json={"valid_to": "11.12"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "valid_to"
    assert "has no year: '11.12'" in r.get_json()["error"]["message"]


def test_adding_the_question_of_an_expired_entry_names_it_and_its_state(api, ws):
    ws.kb().update("ship", {"valid_to": "2020-01-01"}, author="t")
    question = ws.kb().store.get("ship").question
    r = api("POST", "/api/entries", json={"question": question, "answer": "包邮。"})
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "question"
    assert "entry 'ship', which has expired (valid_to 2020-01-01): renew it with a later valid_to" \
        in r.get_json()["error"]["message"]


def test_an_edit_through_one_process_is_seen_by_another(tmp_path, ws):
    """Two workers = two apps over one data folder: the second sees the first's edit."""
    other = Workspace(ws.home, embedders=[FakeEmbedder()])
    try:
        token = ws.users().add_token("t", "editor")
        headers = {"Authorization": f"Bearer {token}"}
        first = create_app({"TESTING": True, "SECRET_KEY": "t"}, workspace=ws).test_client()
        second = create_app({"TESTING": True, "SECRET_KEY": "t"}, workspace=other).test_client()
        assert second.get("/api/search?q=花呗能用吗", headers=headers).get_json()["hits"][0]["entry_id"] != "huabei"
        first.post("/api/entries", json={"id": "huabei", "question": "可以用花呗吗", "answer": "支持。",
                                         "similar": ["花呗能用吗"]}, headers=headers)
        assert second.get("/api/search?q=花呗能用吗", headers=headers).get_json()["hits"][0]["entry_id"] == "huabei"
    finally:
        other.close()


def test_a_reject_of_an_entry_already_used_for_the_suggestion_is_409(confident_app):
    app, ws = confident_app
    headers = {"Authorization": f"Bearer {ws.users().add_token('desk', 'agent')}"}
    client = app.test_client()
    s = client.post("/api/suggest", json={"message": "请问多久能发货"}, headers=headers).get_json()
    same = [n for n, d in enumerate(s["drafts"], 1) if d["entry_ids"] == ["delivery"] and d["style"] != "clarify"]
    assert len(same) >= 2, s["drafts"]  # the warm and the concise wording of one entry
    body = {"suggestion_id": s["suggestion_id"]}
    assert client.post("/api/feedback", json={**body, "action": "accept", "draft": same[0]},
                       headers=headers).status_code == 201
    r = client.post("/api/feedback", json={**body, "action": "reject", "draft": same[1]}, headers=headers)
    assert (r.status_code, r.get_json()["error"]["code"], r.get_json()["error"]["field"]) == (409, "conflict", "draft")
    assert [f["action"] for f in ws.feedback_log().suggestion(s["suggestion_id"])["feedback"]] == ["accept"]
    (row,) = ws.learner().store.rows(entry_id="delivery")
    assert (row.accepts, row.rejects) == (1, 0)


def test_api_tokens_do_not_open_the_html_pages(ws):
    """Tokens are for integrations calling /api; the console and the panel page need a
    login (with CSRF off too, so only the token is what is refused)."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False}, workspace=ws)
    headers = {"Authorization": f"Bearer {ws.users().add_token('sync', 'admin')}"}
    client = app.test_client()
    for rule, method in _rules(app):
        if method != "GET" or rule.endpoint in PUBLIC or rule.rule.startswith("/api/"):
            continue
        r = client.get(_url(rule), headers=headers)
        assert r.status_code == 302 and "/login" in r.headers["Location"], f"{rule}: {r.status_code}"
    before = ws.kb().store.count()
    r = client.post("/console/entries/new", data={"question": "令牌建的", "answer": "不应保存"}, headers=headers)
    assert r.status_code == 302 and ws.kb().store.count() == before
    assert client.get("/api/entries/ship", headers=headers).status_code == 200  # still fine for /api



@pytest.mark.parametrize("url,field", [
    ("/api/search?q=x&k=²", "k"), ("/api/search?q=x&k=0", "k"), ("/api/entries?limit=²", "limit"),
    ("/api/entries?offset=²", "offset"), ("/api/entries?offset=-1", "offset"), ("/api/entries?status=foo", "status"),
    # Too big for SQLite's INTEGER (was a 500), or for int() to read at all.
    ("/api/entries?offset=99999999999999999999", "offset"), ("/api/entries?limit=99999999999999999999", "limit"),
    (f"/api/entries?offset={'9' * 5000}", "offset"), (f"/api/search?q=x&k={'9' * 5000}", "k")])
def test_bad_query_arguments_are_400_naming_them(api, url, field):
    # "²".isdigit() is true, yet int("²") fails: this was a 500.
    r = api("GET", url)
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, field)
    assert api("GET", "/api/entries?status=published&limit=2&offset=1").status_code == 200


@pytest.mark.parametrize("raw,field", [
    ('{"message": "\\ud800退货"}', "message"),
    ('{"message": "退货", "context": [{"role": "customer", "text": "\\udfff"}]}', "context"),
    ('{"message": "退货", "values": {"\\ud800": "x"}}', "values")])
def test_a_lone_surrogate_is_400_naming_its_field(api, raw, field):
    r = api("POST", "/api/suggest", data=raw, content_type="application/json")
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, field)


def test_a_body_nested_deeper_than_json_parses_is_invalid_json(api):
    raw = '{"message": "退货", "context": ' + "[" * 100_000 + "]" * 100_000 + "}"
    r = api("POST", "/api/suggest", data=raw, content_type="application/json")
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, "invalid_json")


def test_a_body_over_the_size_limit_is_413_not_invalid_json(ws):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "MAX_CONTENT_LENGTH": 10_000}, workspace=ws)
    headers = {"Authorization": f"Bearer {ws.users().add_token('big', 'agent')}"}
    client = app.test_client()
    # Without a JSON content type (as `requests.post(data=...)` sends it) the body was never
    # read, and its size went unnoticed: 400 invalid_json.
    for kwargs in ({"data": b'{"message": "' + b"a" * 20_000 + b'"}'}, {"json": {"message": "啊" * 10_000}}):
        r = client.post("/api/suggest", headers=headers, **kwargs)
        assert r.status_code == 413 and r.get_json()["error"]["field"] is None
    # Sent chunked, without a Content-Length: the size shows only while reading.
    body = io.BytesIO(b'{"message": "' + b"a" * 20_000 + b'"}')
    r = client.post("/api/suggest", headers={**headers, "Transfer-Encoding": "chunked"}, input_stream=body,
                    environ_overrides={"wsgi.input_terminated": True},  # as a server sets it for chunked
                    content_type="application/json")
    assert (r.status_code, r.get_json()["error"]["code"]) == (413, "too_large")


def test_every_entry_output_says_where_it_stands_to_its_window(api, ws):
    """`window` (expired, not_yet or null) was in `kefu list --json` only: `kefu show
    --json` and the API's entries lacked it, so a script or integration reading one entry
    could not tell an expired promotion from a live one. Entry.to_output() gives it, so
    every output of an entry has it, and the OpenAPI Entry schema documents it."""
    from kefu.web.openapi import SPEC

    ws.kb().update("delivery", {"valid_to": "2020-01-01"}, author="t")
    assert api("GET", "/api/entries/delivery").get_json()["window"] == "expired"
    listed = {e["id"]: e["window"] for e in api("GET", "/api/entries").get_json()}
    assert listed["delivery"] == "expired" and set(listed.values()) == {"expired", None}
    saved = api("PUT", "/api/entries/delivery", json={"valid_to": "2999-01-01", "valid_from": "2998-01-01"})
    assert saved.status_code == 200 and saved.get_json()["window"] == "not_yet"
    said = SPEC["components"]["schemas"]["Entry"]["properties"]["window"]
    assert said["enum"] == ["expired", "not_yet", "unreadable", None] and "suggested" in said["description"]


def test_an_entry_whose_stored_bound_is_no_date_is_not_suggested_and_breaks_nothing(api, ws, tmp_path):
    """A bound no date parser reads (valid_to='2020-13-45': written into the store by hand,
    or one m020 left for an editor to fix) made every suggestion whose candidates held
    that entry fail with a ValueError (500). kefu cannot tell whether it still holds: it
    is not suggested, the others are, and its output says its window is unreadable."""
    import sqlite3

    from kefu.kb.entry import in_window

    assert in_window(None, "2020-13-45") is False and in_window("2020-13-45", None) is False
    ws.kb().update("delivery", {"valid_to": "2999-01-01"}, author="t")
    with sqlite3.connect(tmp_path / "home" / "kefu.db") as db:
        db.execute("update entries set valid_to = '2020-13-45' where id = 'delivery'")
    db.close()
    ws.kb().rebuild()
    r = api("POST", "/api/suggest", json={"message": "多久能发货？"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert "delivery" not in [h["id"] for h in r.get_json()["hits"]]
    assert api("GET", "/api/entries/delivery").get_json()["window"] == "unreadable"

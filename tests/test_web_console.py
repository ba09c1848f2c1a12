"""The editor console through Flask's test client, logged in through the real login form,
with CSRF protection on: every POST here carries the token its page rendered."""

from __future__ import annotations

import io
import json
import re
import shutil
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest
from fakes import FakeEmbedder
from helpers import SHOP, patch_jieba

from kefu.suggest.workspace import Workspace
from kefu.web import create_app

PASSWORD = "password1"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory):
    """A data folder with the small shop and two users, made once: password hashing is
    slow on purpose, and each test copies the folder instead."""
    home = tmp_path_factory.mktemp("seed") / "home"
    with pytest.MonkeyPatch.context() as mp:
        patch_jieba(mp)
        w = Workspace(home, embedders=[FakeEmbedder()])
        for e in SHOP:
            w.kb().add(dict(e), author="seed")
        w.users().add("ed", PASSWORD, "editor")
        w.users().add("boss", PASSWORD, "admin")
        w.close()
    return home


@pytest.fixture
def ws(seeded_home, tmp_path, monkeypatch):
    patch_jieba(monkeypatch)
    home = tmp_path / "home"
    shutil.copytree(seeded_home, home)
    embedder = FakeEmbedder()
    w = Workspace(home, embedders=[embedder])
    w.embedder = embedder  # tests check what was embedded
    yield w
    w.close()


@pytest.fixture
def app(ws):
    return create_app({"TESTING": True, "SECRET_KEY": "t"}, workspace=ws)


class Browser:
    """A test client that logs in through /login and posts forms with the token of the
    page it last loaded, as a browser would."""

    def __init__(self, app, name: str):
        self.client = app.test_client()
        self.token = None
        page = self.get("/login")
        resp = self.client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": self.token})
        assert resp.status_code == 302, page

    def get(self, url: str, status: int = 200) -> str:
        resp = self.client.get(url)
        assert resp.status_code == status, (url, resp.status_code, resp.text[:500])
        if m := TOKEN.search(resp.text):
            self.token = m.group(1)
        return resp.text

    def post(self, url: str, data: dict | None = None, status: int | None = None, follow: bool = True, **kw):
        resp = self.client.post(url, data={"csrf_token": self.token, **(data or {})},
                                follow_redirects=follow, **kw)
        if status is not None:
            assert resp.status_code == status, (url, resp.status_code, resp.text[:1500])
        if m := TOKEN.search(resp.text):
            self.token = m.group(1)
        return resp

    def api(self, method: str, url: str, **kw):
        return self.client.open(url, method=method, headers={"X-CSRFToken": self.token}, **kw)


@pytest.fixture
def editor(app):
    b = Browser(app, "ed")
    b.get("/console/")
    return b


@pytest.fixture
def admin(app):
    b = Browser(app, "boss")
    b.get("/console/")
    return b


def entry_form(**fields) -> dict:
    data = {"question": "", "similar": [], "answer": "", "category": "其他", "category_new": "",
            "tags": "", "status": "published", "valid_from": "", "valid_to": ""}
    data.update(fields)
    return data


def rows(html: str) -> list[str]:
    """Entry ids of the list page's rows, in order."""
    return re.findall(r'<tr class="status-\w+">\s*<td class="mono"><a href="/console/entries/([^"]+)"', html)


def search_ids(browser: Browser, q: str) -> list[str]:
    resp = browser.client.get("/api/search", query_string={"q": q})
    assert resp.status_code == 200, resp.text
    return [h["entry_id"] for h in resp.get_json()["hits"]]


def store_dump(ws) -> dict:
    db = ws.kb().store.db
    return {t: db.execute(f"select * from {t} order by 1, 2").fetchall()
            for t in ("entries", "history", "passages", "entry_sources")}


# -- login, layout, CSRF ----------------------------------------------------------------------

def test_login_lands_on_console_with_nav_user_and_logout(app):
    b = Browser(app, "ed")
    html = b.get("/console/")
    for label in ("条目", "试一试", "话术", "敏感词", "导入", "审核队列", "缺失答案", "统计"):
        assert label in html
    for path in ("/console/learn", "/console/gaps", "/console/stats"):
        assert f'href="{path}"' in html
    assert "即将推出" not in html
    assert "/console/users" not in html  # an editor gets no users link
    assert 'class="who">ed' in html
    logout = re.search(r'<form method="post" action="/logout".*?</form>', html, re.S).group(0)
    assert 'name="csrf_token"' in logout
    b.post("/logout", status=200)
    resp = b.client.get("/console/")
    assert resp.status_code == 302 and "/login" in resp.location


def test_roles_are_named_in_chinese_everywhere(editor, admin, ws):
    """The header showed `ed (editor)`, a new user was flashed as 已添加用户 newed（editor）
    and the users page's help spoke of agent, editor and admin."""
    html = editor.get("/console/")
    assert '<span class="who">ed <small>（编辑）</small></span>' in html and "(editor)" not in html
    assert "（管理员）" in admin.get("/console/stats")
    html = admin.post("/console/users/add", {"name": "newed", "password": PASSWORD, "role": "editor"},
                      status=200).text
    assert "已添加用户 newed（编辑）" in html and "newed（editor）" not in html
    help_text = re.search(r'<p class="muted">([^<]*只能用客服助手[^<]*)</p>', html).group(1)
    assert help_text.startswith("客服只能用客服助手；编辑还能编辑知识库；管理员还能管理用户和设置。")
    assert not re.search(r"agent|editor|admin", help_text)
    html = admin.post("/console/users/add", {"name": "boss2", "password": PASSWORD, "role": "boss"}, status=400).text
    assert "角色只能是「客服」「编辑」「管理员」之一" in html


def test_every_page_names_an_icon_so_browsers_ask_for_no_missing_favicon(app, editor):
    for html in (editor.get("/console/"), editor.get("/"), app.test_client().get("/login").text):
        href = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
        icon = app.test_client().get(href)
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


def test_admin_sees_users_link(admin):
    assert 'href="/console/users"' in admin.get("/console/")


def test_anonymous_is_sent_to_login(app):
    resp = app.test_client().get("/console/try")
    assert resp.status_code == 302 and resp.location.startswith("/login")


class Clock:
    """The login throttle's time, moved by hand."""

    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def throttled(ws, clock):
    """3 failed logins per name, 5 per address, within 10 minutes."""
    return create_app({"TESTING": True, "SECRET_KEY": "t", "KEFU_LOGIN_ATTEMPTS": 3,
                       "KEFU_LOGIN_ATTEMPTS_PER_ADDRESS": 5, "KEFU_LOGIN_WINDOW_MINUTES": 10}, workspace=ws, clock=clock)


def attempt(app, name: str, password: str, address: str = "10.0.0.1"):
    client = app.test_client()
    token = TOKEN.search(client.get("/login").text).group(1)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def assert_refused(resp, retry_after: int | None = None) -> None:
    assert resp.status_code == 429, resp.text[:300]
    assert "登录失败次数过多" in resp.text and "分钟后再试" in resp.text
    assert int(resp.headers["Retry-After"]) > 0
    if retry_after is not None:
        assert resp.headers["Retry-After"] == str(retry_after)


def test_five_failed_logins_refuse_the_next_even_with_the_right_password(app, monkeypatch):
    for _ in range(5):
        resp = attempt(app, "ed", "wrong-password")
        assert resp.status_code == 401 and "用户名或密码不正确" in resp.text
    # Refused before the password is looked at.
    from kefu.kb import users

    checked = []
    monkeypatch.setattr(users, "verify", lambda *a: checked.append(a))
    resp = attempt(app, "ed", PASSWORD, address="10.0.0.2")
    assert_refused(resp, retry_after=None)
    assert int(resp.headers["Retry-After"]) <= 15 * 60 and "请 15 分钟后再试" in resp.text
    assert checked == [] and "session" not in resp.headers.get("Set-Cookie", "")
    monkeypatch.undo()
    # A name that does not exist: the same answers, so they tell nothing about it.
    for _ in range(5):
        assert attempt(app, "nobody", "wrong-password", address="10.0.0.3").status_code == 401
    assert_refused(attempt(app, "nobody", PASSWORD, address="10.0.0.4"))


def test_a_failed_login_keeps_the_name_typed_and_asks_for_the_password(throttled):
    resp = attempt(throttled, "ed", "wrong-password")
    assert resp.status_code == 401
    assert re.search(r'<input name="name" value="ed"[^>]*>', resp.text)
    assert re.search(r'<input name="password"[^>]* autofocus>', resp.text)
    assert "wrong-password" not in resp.text
    # As typed, escaped; also when the name is refused for too many failures.
    resp = attempt(throttled, '"><b>王', "wrong-password")
    assert 'value="&#34;&gt;&lt;b&gt;王"' in resp.text and "<b>王" not in resp.text
    for _ in range(2):
        attempt(throttled, "ed", "wrong-password")
    resp = attempt(throttled, "ed", PASSWORD)
    assert resp.status_code == 429 and re.search(r'<input name="name" value="ed"', resp.text)


def test_a_refusal_ends_when_the_failures_leave_the_window(throttled, clock):
    start = clock.now
    for minute in (0, 1, 2):
        clock.now = start + minute * 60
        assert attempt(throttled, "ed", "wrong-password").status_code == 401
    clock.now = start + 130
    assert_refused(attempt(throttled, "ed", PASSWORD), retry_after=600 - 130)
    clock.now = start + 599
    assert_refused(attempt(throttled, "ed", PASSWORD), retry_after=1)
    clock.now = start + 600  # the first failure is 10 minutes old: two are left
    assert attempt(throttled, "ed", PASSWORD).status_code == 302


def test_a_successful_login_clears_the_names_failures(throttled):
    for _ in range(2):
        assert attempt(throttled, "ed", "wrong-password").status_code == 401
    assert attempt(throttled, "ed", PASSWORD).status_code == 302
    for _ in range(2):
        assert attempt(throttled, "ed", "wrong-password").status_code == 401
    assert attempt(throttled, "ed", PASSWORD).status_code == 302  # 4 failures, but not 3 since the login
    for _ in range(3):
        assert attempt(throttled, "ed", "wrong-password").status_code == 401
    assert_refused(attempt(throttled, "ed", PASSWORD))


def test_worker_processes_checking_at_once_try_no_password_past_the_limit(ws, monkeypatch):
    """Two apps over one data folder, as two `kefu serve` workers: each let its attempt
    through before either counted it, so 3 workers checked 7 passwords against a limit of 5."""
    import threading

    from kefu.kb import users

    other = Workspace(ws.home, embedders=[FakeEmbedder()])
    config = {"TESTING": True, "SECRET_KEY": "t", "KEFU_LOGIN_ATTEMPTS": 1}
    apps = [create_app(config, workspace=ws), create_app(config, workspace=other)]
    together, checked, codes = threading.Barrier(2, timeout=2), [], []
    verify = users.verify

    def slow_verify(credentials, password):  # the password hash takes a while
        checked.append(credentials[0].name if credentials else None)
        try:
            together.wait()  # both workers inside the check at once, if both got there
        except threading.BrokenBarrierError:
            pass
        return verify(credentials, password)

    monkeypatch.setattr(users, "verify", slow_verify)
    threads = [threading.Thread(target=lambda a=a: codes.append(attempt(a, "ed", "wrong-password").status_code))
               for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert len(checked) == 1 and sorted(codes) == [401, 429]


def test_a_name_typed_in_full_width_letters_is_the_same_user(throttled, ws):
    """A Chinese input method in full-width mode types ｅｄ for ed: that login failed as
    an unknown name. It is the same user, and its failures count against that name."""
    assert attempt(throttled, "ｅｄ", PASSWORD).status_code == 302
    for _ in range(3):
        assert attempt(throttled, "ｅｄ ", "wrong-password").status_code == 401
    assert_refused(attempt(throttled, "ed", PASSWORD, address="10.0.0.9"))
    assert ws.users().add("ｌｉｈｕａ", PASSWORD, "agent").name == "lihua"
    assert attempt(throttled, "lihua", PASSWORD).status_code == 302
    # One added with full-width letters before names were normalized still logs in so.
    ws.users().add("wang", PASSWORD, "agent")
    with ws.users().db.conn:
        ws.users().db.execute("update users set name = 'ｗａｎｇ' where name = 'wang'")
    assert attempt(throttled, "ｗａｎｇ", PASSWORD).status_code == 302


def test_one_names_failures_leave_others_alone_but_one_address_is_limited(throttled):
    for _ in range(3):
        assert attempt(throttled, "ed", "wrong-password", address="10.0.0.1").status_code == 401
    assert_refused(attempt(throttled, "ed", PASSWORD, address="10.0.0.9"))  # the name, from anywhere
    assert attempt(throttled, "boss", PASSWORD, address="10.0.0.1").status_code == 302
    # One address trying many names: 5 failures in all, then nothing is checked from it.
    for name in ("guess0", "guess1", "guess2", "guess3", "boss"):
        assert attempt(throttled, name, "wrong-password", address="10.0.0.5").status_code == 401
    assert_refused(attempt(throttled, "boss", PASSWORD, address="10.0.0.5"))
    assert_refused(attempt(throttled, "guess4", "wrong-password", address="10.0.0.5"))
    assert attempt(throttled, "boss", PASSWORD, address="10.0.0.6").status_code == 302


def test_one_address_cannot_keep_a_name_locked_by_asking_again_and_again(throttled, clock):
    # An attacker guesses every 20 seconds: its refusals count against its address, which
    # is soon refused itself, and no longer renews the name's failures.
    start = clock.now
    logged_in_at = None
    for step in range(3 * 60):  # an hour
        clock.now = start + step * 20
        attempt(throttled, "ed", "wrong-password", address="6.6.6.6")
        if step % 15 == 7 and logged_in_at is None:  # the user, every 5 minutes
            if attempt(throttled, "ed", PASSWORD, address="10.0.0.9").status_code == 302:
                logged_in_at = clock.now - start
    assert logged_in_at is not None and logged_in_at <= 15 * 60
    assert_refused(attempt(throttled, "boss", PASSWORD, address="6.6.6.6"))


def test_a_new_password_or_an_unlock_lifts_a_names_lock(throttled, ws):
    for _ in range(3):
        assert attempt(throttled, "ed", "wrong-password").status_code == 401
    assert_refused(attempt(throttled, "ed", PASSWORD, address="10.0.0.9"))
    ws.users().set_password("ed", "another-password")
    assert attempt(throttled, "ed", "another-password", address="10.0.0.9").status_code == 302
    for _ in range(3):
        assert attempt(throttled, "ed", "wrong-password", address="10.0.0.2").status_code == 401
    assert_refused(attempt(throttled, "ed", "another-password", address="10.0.0.9"))
    assert ws.users().unlock("ed") == 3
    assert attempt(throttled, "ed", "another-password", address="10.0.0.9").status_code == 302


def test_login_limits_are_checked_when_the_app_is_made(ws):
    with pytest.raises(ValueError, match="per_name"):
        create_app({"TESTING": True, "SECRET_KEY": "t", "KEFU_LOGIN_ATTEMPTS": -1}, workspace=ws)
    with pytest.raises(ValueError, match="window_minutes"):
        create_app({"TESTING": True, "SECRET_KEY": "t", "KEFU_LOGIN_WINDOW_MINUTES": 0}, workspace=ws)
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "KEFU_LOGIN_ATTEMPTS": 0,
                      "KEFU_LOGIN_ATTEMPTS_PER_ADDRESS": 0}, workspace=ws)  # 0: no limit
    for _ in range(6):
        assert attempt(app, "ed", "wrong-password").status_code == 401
    assert attempt(app, "ed", PASSWORD).status_code == 302


def test_post_without_csrf_token_is_refused(editor, ws):
    before = ws.kb().store.count()
    resp = editor.client.post("/console/entries/new", data=entry_form(question="没有令牌", answer="不会保存"))
    assert resp.status_code == 400
    resp = editor.client.post("/console/entries/ship/archive", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    assert ws.kb().store.count() == before
    assert ws.kb().store.get("ship").status == "published"


def test_agent_cannot_open_console(app, ws):
    ws.users().add("ag", PASSWORD, "agent")
    b = Browser(app, "ag")
    assert "需要编辑权限" in b.get("/console/", status=403)


def test_the_panel_and_an_error_page_link_to_the_console_for_those_who_may_use_it(app, ws, editor, admin):
    """The agent panel had no link to the console, and the 403 page an editor got on an
    admin-only page offered only 回到助手: the way back was typing /console. An editor or
    admin sees 编辑后台 in the panel's bar and 回到后台 on an error page; an agent neither."""
    link = '<a class="kp-console" href="/console/">编辑后台</a>'
    assert link in editor.get("/") and link in admin.get("/")
    assert link not in app.test_client().get("/embed").text  # the help desk's iframe: no login, no link
    html = editor.get("/console/users", status=403)
    assert '<a href="/">回到助手</a> · <a href="/console/">回到后台</a>' in html
    assert '<a href="/console/">回到后台</a>' in editor.get("/console/entries/no-such-entry", status=404)
    ws.users().add("ag", PASSWORD, "agent")
    agent = Browser(app, "ag")
    assert "kp-console" not in agent.get("/") and "编辑后台" not in agent.get("/")
    html = agent.get("/console/", status=403)
    assert "回到助手" in html and "回到后台" not in html


# -- entries list -------------------------------------------------------------------------------

def test_list_filters_by_text_category_status_tag(editor, ws):
    kb = ws.kb()
    kb.add({"id": "draft1", "question": "能用花呗吗", "answer": "支持花呗分期。", "status": "draft",
            "category": "售前", "tags": ["支付"]})
    assert set(rows(editor.get("/console/"))) == {e["id"] for e in SHOP} | {"draft1"}
    assert rows(editor.get("/console/?q=发票")) == ["invoice"]
    assert rows(editor.get("/console/?q=包邮")) == ["ship"]  # similar questions and answers count
    assert set(rows(editor.get("/console/?category=售前"))) == {"ship", "draft1"}
    assert rows(editor.get("/console/?status=draft")) == ["draft1"]
    assert rows(editor.get("/console/?tag=物流")) == ["ship"]
    assert rows(editor.get("/console/?category=售前&tag=支付")) == ["draft1"]
    html = editor.get("/console/?q=nothing-like-this")
    assert rows(html) == [] and "没有符合条件的条目" in html


def test_a_shops_own_category_in_either_script_is_one_filter_choice(editor, ws):
    """A cosmetics shop's own category typed once in traditional script (過敏 beside 过敏)
    was two choices of the entry list's filter, each listing the same entries, and a link
    with 過敏 showed 全部分类 selected while the list was filtered."""
    kb = ws.kb()
    for i, category in enumerate(["过敏", "过敏", "過敏"]):
        kb.add({"id": f"a{i}", "question": f"过敏问题{i}", "answer": "请停用。", "category": category})
    choices = lambda html: re.findall(r'<option value="([^"]*)"[^>]*>', html.split('name="category"')[1].split("</select>")[0])
    html = editor.get("/console/")
    assert choices(html).count("过敏") == 1 and "過敏" not in choices(html)
    html = editor.get("/console/?category=過敏")
    assert set(rows(html)) == {"a0", "a1", "a2"}
    assert '<option value="过敏" selected>' in html
    assert '<option value="過敏"' in editor.get("/console/entries/a2")  # its own spelling, kept on edit


def test_list_pages_50_at_a_time(editor, ws):
    kb = ws.kb()
    for i in range(60):
        kb.store.add({"id": f"bulk{i:02d}", "question": f"批量问题{i}", "answer": "批量答案"})
    page1 = editor.get("/console/")
    assert len(rows(page1)) == 50 and 'rel="next"' in page1 and 'rel="prev"' not in page1
    page2 = editor.get("/console/?page=2")
    assert len(rows(page2)) == 65 - 50 and 'rel="prev"' in page2 and 'rel="next"' not in page2
    assert not set(rows(page1)) & set(rows(page2))
    # Filters survive paging.
    filtered = editor.get("/console/?q=批量&page=1")
    assert len(rows(filtered)) == 50
    assert 'href="/console/?page=2&amp;q=%E6%89%B9%E9%87%8F" rel="next"' in filtered
    assert len(rows(editor.get("/console/?q=批量&page=2"))) == 10
    # The heading counts every entry, and with a filter the matches on all pages.
    assert "共 65 条，筛选出 60 条" in filtered and "筛选出" not in page1
    # A page past the end is the last page, even one too big for SQLite (was a 500).
    for page in ("99", "99999999999999999999"):
        last = editor.get(f"/console/?page={page}")
        assert rows(last) == rows(page2) and "第 2 页" in last
    assert rows(editor.get("/console/?q=批量&page=99999999999999999999&expired=1")) == []
    assert len(rows(editor.get("/console/?page=abc"))) == 50  # a bad page number is page 1
    assert len(rows(editor.get(f"/console/?page={'9' * 5000}"))) == 50  # int() cannot read it


@pytest.mark.parametrize("extra", ["_method=DELETE", "endpoint=x", "_external=1", "_anchor=top", "utm_source=mail"])
def test_list_pager_keeps_only_its_filters(editor, ws, extra):
    """Every query argument went into the pager's url_for as a keyword, so one url_for
    takes as its own (?_method=DELETE, ?endpoint=x) was a 500, and others changed the links."""
    for i in range(60):
        ws.kb().store.add({"id": f"bulk{i:02d}", "question": f"批量问题{i}", "answer": "批量答案"})
    html = editor.get(f"/console/?q=批量&{extra}&page=1")
    assert len(rows(html)) == 50
    assert 'href="/console/?page=2&amp;q=%E6%89%B9%E9%87%8F" rel="next"' in html


def test_list_sorts_the_last_updated_first_in_one_click_keeping_filters_and_paging(editor, ws):
    """The list was by id alone: an entry just added, with a generated id (k03b2a631), landed
    anywhere in it, and finding it again meant searching for it. 最近更新 is one click away,
    and the filters and the pager keep the order (the default stays by id)."""
    db = ws.kb().store.db
    for i in range(60):
        ws.kb().store.add({"id": f"bulk{i:02d}", "question": f"批量问题{i}", "answer": "批量答案"})
        db.execute("update entries set updated_at = ? where id = ?", [f"2020-01-01T00:00:{i:02d}+00:00", f"bulk{i:02d}"])
    db.commit()
    html = editor.post("/console/entries/new", entry_form(question="可以用花呗付款吗", answer="支持。"), status=200).text
    new_id = re.search(r'/console/entries/([^/"]+)/history', html).group(1)
    page = editor.get("/console/")
    assert rows(page) == sorted(rows(page))  # by id, as before
    assert '<strong aria-current="true">按编号</strong> · <a href="/console/?sort=updated">最近更新</a>' in page
    assert rows(editor.get("/console/?sort=updated"))[0] == new_id
    filtered = editor.get("/console/?q=批量")
    assert '<a href="/console/?q=%E6%89%B9%E9%87%8F&amp;sort=updated">最近更新</a>' in filtered
    first = editor.get("/console/?q=批量&sort=updated")
    assert rows(first) == [f"bulk{i:02d}" for i in range(59, 9, -1)]
    assert '<a href="/console/?q=%E6%89%B9%E9%87%8F">按编号</a>' in first
    assert 'href="/console/?page=2&amp;q=%E6%89%B9%E9%87%8F&amp;sort=updated" rel="next"' in first
    assert '<input type="hidden" name="sort" value="updated">' in first  # 筛选 keeps the order
    assert rows(editor.get("/console/?q=批量&sort=updated&page=2")) == [f"bulk{i:02d}" for i in range(9, -1, -1)]
    ws.kb().update("bulk03", {"valid_to": "2020-11-11"}, author="cli")
    ws.kb().update("bulk05", {"valid_to": "2020-11-11"}, author="cli")
    db.execute("update entries set updated_at = '2021-01-01T00:00:00+00:00' where id = 'bulk03'")
    db.commit()
    assert rows(editor.get("/console/?expired=1&sort=updated")) == ["bulk05", "bulk03"]
    assert "未知的排序" in editor.get("/console/?sort=oldest", status=400)


def test_list_expired_filter(editor, ws):
    kb = ws.kb()
    kb.add({"id": "old", "question": "双十一活动怎么参加", "answer": "活动已结束。", "valid_to": "2020-11-11"})
    kb.add({"id": "future", "question": "年货节什么时候开始", "answer": "敬请期待。", "valid_to": "2999-01-01"})
    html = editor.get("/console/?expired=1")
    assert rows(html) == ["old"] and "筛选出 1 条" in html
    assert "已过期" in html
    all_rows = editor.get("/console/")
    assert "old" in rows(all_rows) and "future" in rows(all_rows)


def test_list_marks_an_entry_whose_window_has_not_begun(editor, ws):
    """Expired entries had a badge; one not valid yet, not suggested either, had none."""
    kb = ws.kb()
    kb.add({"id": "later", "question": "年货节有什么活动", "answer": "敬请期待。", "valid_from": "2999-01-01"})
    kb.add({"id": "open", "question": "春节发货吗", "answer": "照常发货。", "valid_from": "2020-01-01"})
    html = editor.get("/console/")

    def row(entry_id: str) -> str:
        return re.search(rf'<tr[^>]*>\s*<td class="mono"><a[^>]*>{entry_id}</a>.*?</tr>', html, re.S).group()
    assert "未生效" in row("later") and "已过期" not in row("later")
    assert "未生效" not in row("open")


def test_list_marks_an_entry_whose_stored_bound_cannot_be_read(editor, ws):
    """A bound no date parser reads (valid_to='2020-13-45', written by hand): the entry is
    never suggested, which `kefu list` and the entry page say (有效期无法识别), but the
    list showed it with no mark, as if it answered customers."""
    import sqlite3

    kb = ws.kb()
    kb.add({"id": "bad", "question": "多久发货", "answer": "当天发货。"})
    kb.add({"id": "fine", "question": "春节发货吗", "answer": "照常发货。"})
    with sqlite3.connect(ws.home / "kefu.db") as db:
        db.execute("update entries set valid_to = '2020-13-45' where id = 'bad'")
    db.close()
    html = editor.get("/console/")

    def row(entry_id: str) -> str:
        return re.search(rf'<tr[^>]*>\s*<td class="mono"><a[^>]*>{entry_id}</a>.*?</tr>', html, re.S).group()
    assert "有效期无法识别" in row("bad") and "有效期无法识别" not in row("fine")


# -- create and edit ----------------------------------------------------------------------------

def test_create_with_validation_error_shows_field_message_and_keeps_input(editor, ws):
    before = ws.kb().store.count()
    html = editor.post("/console/entries/new", entry_form(
        question="可以用花呗付款吗", similar=["支持花呗吗", "能分期吗"], answer="  ", tags="支付，分期"),
        status=400).text
    assert re.search(r'<span class="error field-error" id="err-answer" role="alert">不能为空</span>', html)
    assert 'value="可以用花呗付款吗"' in html
    assert 'value="支持花呗吗"' in html and 'value="能分期吗"' in html
    assert 'value="支付，分期"' in html
    assert ws.kb().store.count() == before

    html = editor.post("/console/entries/new", entry_form(
        question="限时活动", answer="活动价", valid_from="2025-05-01", valid_to="2025-04-01"), status=400).text
    assert 'id="err-valid_to"' in html and "不能早于生效日期" in html
    assert 'value="2025-05-01"' in html

    html = editor.post("/console/entries/new", entry_form(question="重复编号", answer="答", id="ship"),
                       status=400).text
    assert 'id="err-id"' in html and "编号 ship 已被条目「运费怎么算」占用" in html

    html = editor.post("/console/entries/new", entry_form(question="变量", answer="您好 {客户称呼"), status=400).text
    assert 'id="err-answer"' in html and "变量写法有误：「{」没有配对（在「您好 {客户称呼」附近）" in html and "broken" not in html

    html = editor.post("/console/entries/new", entry_form(question="编号", answer="答", id="my id"), status=400).text
    assert 'id="err-id"' in html and "不能含空格或控制字符" in html and "must not" not in html
    assert ws.kb().store.count() == before


def test_a_question_an_expired_entry_holds_is_refused_saying_it_is_expired(editor, ws):
    """The form said the question was entry ship's, not that ship had expired, so an
    editor who took it for gone could not tell why, nor that renewing it was the way."""
    ws.kb().update("ship", {"valid_to": "2020-01-01"}, author="t")
    question = ws.kb().store.get("ship").question
    html = editor.post("/console/entries/new", entry_form(question=question, answer="包邮。"), status=400).text
    error = re.search(r'id="err-question"[^>]*>([^<]*)<', html).group(1)
    assert "条目 ship 的标准问题，该条目已过期（有效期至 2020-01-01）：要继续使用，请到条目 ship 把失效日期改晚" in error


def test_giving_an_entry_the_question_of_an_expired_one_is_not_told_to_create_nothing(editor, ws):
    """Editing an entry to the question of an expired one was answered "…，不必新建", though
    the editor was creating nothing: the advice now fits an edit as well as a new entry."""
    ws.kb().update("ship", {"valid_to": "2020-01-01"}, author="t")
    question = ws.kb().store.get("ship").question
    ws.kb().add({"id": "other", "question": "别的问题", "answer": "好的。"}, author="t")
    form = untouched_form(editor.get("/console/entries/other"))
    html = editor.post("/console/entries/other", {**form, "question": question}, status=400).text
    error = re.search(r'id="err-question"[^>]*>([^<]*)<', html).group(1)
    assert "该条目已过期（有效期至 2020-01-01）" in error and "新建" not in error, error


def test_an_unknown_status_is_refused_naming_the_statuses_in_chinese(editor, ws):
    before = ws.kb().store.count()
    html = editor.post("/console/entries/new", entry_form(question="状态", answer="答", status="live"), status=400).text
    error = re.search(r'<span class="error field-error" id="err-status" role="alert">([^<]*)</span>', html).group(1)
    assert error == "只能是「草稿」「已发布」「已归档」之一，不能是 &#39;live&#39;"
    assert ws.kb().store.count() == before


def test_a_duplicate_question_on_the_form_gets_the_forms_advice_not_an_imports(editor, ws):
    before = ws.kb().store.count()
    html = editor.post("/console/entries/new", entry_form(question="运费怎么算", answer="另一个答案。"), status=400).text
    assert 'id="err-question"' in html and "已是条目 ship 的标准问题" in html and "相似问法" in html
    assert "导入" not in html.split('id="err-question"')[1].split("</span>")[0]
    assert ws.kb().store.count() == before


def test_a_similar_question_copying_the_standard_one_is_not_saved(editor, ws):
    resp = editor.post("/console/entries/new", entry_form(question="同义重复", similar=["同义重复", "a", "a"],
                                                          answer="答"), status=200)
    new_id = re.search(r'/console/entries/([^/"]+)/history', resp.text).group(1)
    assert ws.kb().store.get(new_id).similar == ["a"]


def test_saving_an_entry_outside_its_window_says_it_will_not_be_suggested(editor, ws):
    """An entry saved with a validity window over (or starting later) showed 已新建条目 / 已保存
    and the badge 已发布 alone, though it will never be suggested: the list marked it, its
    own page did not. The page marks it as the list does, and the save message says why."""
    today = datetime.now().date()
    past, later = (today - timedelta(days=30)).isoformat(), (today + timedelta(days=30)).isoformat()
    html = editor.post("/console/entries/new", entry_form(id="old-sale", question="上个月的满减还有吗", answer="活动已结束。",
                                                          valid_to=past), status=200).text
    assert "已新建条目 old-sale；有效期已过，不会被推荐" in html
    assert '<span class="badge expired" title="有效期已过：不会推荐">已过期</span>' in html
    form = untouched_form(html)
    html = editor.post("/console/entries/old-sale", {**form, "valid_from": later, "valid_to": ""}, status=200).text
    assert "已保存；有效期还没开始，到时才会被推荐" in html and ">未生效</span>" in html and ">已过期</span>" not in html
    form = untouched_form(html)
    html = editor.post("/console/entries/old-sale", {**form, "valid_from": ""}, status=200).text
    assert "已保存</p>" in html and ">未生效</span>" not in html and ">已过期</span>" not in html


def test_saving_a_draft_whose_window_starts_later_says_when_it_becomes_active_once_published(editor, ws):
    """A draft set up for a campaign was saved with 有效期还没开始，到时才会被推荐: no date, and
    it will not be suggested then unless it is published. The message says when, and that
    publishing is still to do; a published entry's message names the moment too."""
    start = (datetime.now() + timedelta(days=30)).replace(hour=20, minute=0)
    html = editor.post("/console/entries/new", entry_form(id="d11", question="双十一的满减怎么算", answer="满300减50。",
                                                          status="draft", valid_from=start.date().isoformat(),
                                                          valid_from_time="20:00"), status=200).text
    when = start.strftime("%Y-%m-%d 20:00")
    assert f"已新建条目 d11；有效期从 {when} 开始：这是草稿，发布后从 {when} 起才会被推荐" in html
    form = untouched_form(html)
    html = editor.post("/console/entries/d11", {**form, "status": "published", "valid_from_time": ""}, status=200).text
    assert f"已保存；有效期还没开始，到时才会被推荐（从 {start.date().isoformat()} 起生效）" in html


def test_an_answer_over_the_api_limit_is_a_field_error_not_saved(editor, ws):
    """The console took a 200,000-character answer the API would refuse (and then could
    not send back after a GET)."""
    before = ws.kb().store.count()
    html = editor.post("/console/entries/new", entry_form(question="超长答案", answer="啊" * 200_000), status=400).text
    assert 'id="err-answer"' in html and "有 200000 个字符，超过了上限 100000 个字符" in html
    assert ws.kb().store.count() == before
    form = editor.get("/console/entries/ship")
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    html = editor.post("/console/entries/ship", entry_form(question="运费怎么算", answer="啊" * 100_001,
                                                           version=version), status=400).text
    assert 'id="err-answer"' in html and "超过了上限" in html and ws.kb().store.get("ship").answer != "啊" * 100_001


def test_create_saves_all_fields_and_is_searchable_at_once(editor, ws):
    search_ids(editor, "运费怎么算")  # the index is built now; the new entry must reach it incrementally
    encoded = len(ws.embedder.encoded)
    resp = editor.post("/console/entries/new", entry_form(
        question="可以用花呗付款吗", similar=["支持花呗吗", "", "花呗分期"], answer="支持花呗及分期付款。",
        category="售前", category_new="支付方式", tags="支付 分期", valid_from="2024-01-01"), status=200)
    assert "已新建条目" in resp.text
    new_id = re.search(r'/console/entries/([^/"]+)/history', resp.text).group(1)
    entry = ws.kb().store.get(new_id)
    assert entry.similar == ["支持花呗吗", "花呗分期"]
    assert entry.category == "支付方式"  # typed category wins over the select
    assert entry.tags == ["支付", "分期"]
    assert entry.valid_from == "2024-01-01" and entry.valid_to is None
    assert entry.author == "ed" and entry.status == "published"
    assert search_ids(editor, "可以用花呗付款吗")[0] == new_id
    # Incremental: only the new entry's phrasings were embedded, nothing re-embedded.
    assert ws.embedder.encoded[encoded:] == ["可以用花呗付款吗", "支持花呗吗", "花呗分期"]


def test_edit_then_history_diff_then_revert(editor, ws):
    html = editor.get("/console/entries/ship")
    assert 'value="邮费多少钱"' in html and 'name="version" value="1"' in html
    editor.post("/console/entries/ship", entry_form(
        question="运费怎么算", similar=["邮费多少钱", "运费险有吗"], answer="满59元包邮。",
        category="售前", tags="物流，运费", version="1"), status=200)
    entry = ws.kb().store.get("ship")
    assert entry.version == 2 and entry.answer == "满59元包邮。" and entry.similar == ["邮费多少钱", "运费险有吗"]
    assert search_ids(editor, "运费险有吗")[0] == "ship"

    html = editor.get("/console/entries/ship/history")
    assert "第 2 版" in html and "第 1 版" in html
    assert re.search(r'class="removed before">满99元包邮，不满收10元运费。</div>\s*<div class="added after">→ 满59元包邮。', html)
    assert '<div class="added">＋ 运费险有吗</div>' in html
    assert '<div class="removed">－ 包邮吗</div>' in html
    assert '<div class="added">＋ 运费</div>' in html
    assert "ed ·" in html and "seed ·" in html

    editor.post("/console/entries/ship/revert", {"version": "1", "current": "2"}, status=200)
    entry = ws.kb().store.get("ship")
    assert entry.version == 3 and entry.answer == "满99元包邮，不满收10元运费。"
    assert entry.similar == ["邮费多少钱", "包邮吗"] and entry.tags == ["物流"]
    html = editor.get("/console/entries/ship/history")
    assert "恢复到第 1 版" in html
    assert search_ids(editor, "包邮吗")[0] == "ship"


def test_history_of_a_much_edited_entry_is_paged_newest_first(editor, ws):
    """An entry edited every day (a price, a delivery promise) has hundreds of versions,
    and its history page showed every one with its diff at once: 300 versions of a
    long answer were 400 KB. The newest come first, a page at a time, and a page past
    the end shows the last, as the entry list does."""
    from kefu.web.console import PAGE_SIZE

    for i in range(2, PAGE_SIZE * 2 + 11):  # versions 2 … 2 pages + 10
        ws.kb().store.update("ship", {"answer": f"满{i}元包邮。"}, author="ed")
    last = PAGE_SIZE * 2 + 10

    def versions(html: str) -> list[int]:
        return [int(v) for v in re.findall(r"<strong>第 (\d+) 版</strong>", html)]

    first = editor.get("/console/entries/ship/history")
    assert versions(first) == list(range(last, last - PAGE_SIZE, -1))
    assert 'href="/console/entries/ship/history?page=2"' in first and "?page=0" not in first
    assert f"共 {last} 版" in first
    second = editor.get("/console/entries/ship/history?page=2")
    assert versions(second) == list(range(last - PAGE_SIZE, last - 2 * PAGE_SIZE, -1))
    # every page's revert names the entry's current version, not the page's newest
    assert set(re.findall(r'name="current" value="(\d+)"', second)) == {str(last)}
    assert 'href="/console/entries/ship/history?page=1"' in second
    for page in ("3", "99", "99999999999999999999999"):
        assert versions(editor.get(f"/console/entries/ship/history?page={page}")) == list(range(10, 0, -1))
    for page in ("0", "-1", "abc"):
        assert versions(editor.get(f"/console/entries/ship/history?page={page}")) == versions(first)


def test_history_points_at_the_change_inside_a_long_answer(editor, ws):
    """A two-character change in a long answer showed the whole text twice, struck out then
    again: the editor had to compare them by eye to find what changed."""
    answer = "亲，签收后七天内可以在订单页申请无理由退货，" * 8 + "退回运费由买家承担，运费险可以抵扣。"
    ws.kb().update("ship", {"answer": answer}, author="ed")
    ws.kb().update("ship", {"answer": answer.replace("买家", "卖家")}, author="ed")
    html = editor.get("/console/entries/ship/history")
    version = html[html.index("第 3 版"):html.index("第 2 版")]
    change = re.search(r'<div class="excerpt">(.*?)</div>', version, re.S)
    assert change, version
    assert "<del>买</del><ins>卖</ins>家承担" in change.group(1)
    assert change.group(1).startswith("…") and "无理由退货，" * 2 not in change.group(1)  # not the whole text
    # a short answer's change is plain to see: no excerpt
    editor.post("/console/entries/ship", entry_form(question="运费怎么算", answer="满59元包邮。", category="售前",
                                                     version="3"), status=200)
    html = editor.get("/console/entries/ship/history")
    assert 'class="excerpt"' not in html[html.index("第 4 版"):html.index("第 3 版")]


def test_edit_refuses_to_overwrite_a_newer_version(editor, ws):
    editor.get("/console/entries/ship")
    ws.kb().update("ship", {"answer": "别人改过的答案。"}, author="other")
    html = editor.post("/console/entries/ship", entry_form(question="运费怎么算", answer="我的答案", version="1"),
                       status=409).text
    assert "已被他人修改" in html and "我的答案" in html
    assert ws.kb().store.get("ship").answer == "别人改过的答案。"


@pytest.fixture
def second_worker(ws):
    """Another gunicorn worker on the same data folder: its own workspace, store
    connection and request lock."""
    w = Workspace(ws.home, embedders=[FakeEmbedder()])
    yield create_app({"TESTING": True, "SECRET_KEY": "t"}, workspace=w)
    w.close()


def _meanwhile(monkeypatch, obj, name: str, other_save) -> None:
    """Run `other_save` (another worker's request) once, just before this worker's call of
    `obj.name`: after whatever this worker checked first, before its write."""
    real = getattr(obj, name)

    def call(*args, **kwargs):
        monkeypatch.setattr(obj, name, real)
        other_save()
        return real(*args, **kwargs)
    monkeypatch.setattr(obj, name, call)


def test_two_workers_saving_from_one_version_at_once_do_not_both_save(editor, ws, second_worker, monkeypatch):
    """Both saves got 302 and the first editor's answer was lost: each worker compared the
    version under its own thread lock, before the write transaction."""
    other = Browser(second_worker, "boss")
    editor.get("/console/entries/ship")
    other.get("/console/entries/ship")
    _meanwhile(monkeypatch, ws.kb(), "update", lambda: other.post(
        "/console/entries/ship", entry_form(question="运费怎么算", answer="乙的答案", version="1"), status=200))
    mine = entry_form(question="运费怎么算", answer="甲的答案", version="1")
    html = editor.post("/console/entries/ship", mine, status=409).text
    assert "已被他人修改（现为第 2 版）" in html and "甲的答案" in html
    assert ws.kb().store.get("ship").answer == "乙的答案" and len(ws.kb().store.history("ship")) == 2
    # The form stays on the version it was edited from, showing the other editor's change:
    # one more click is refused again instead of saving over it.
    assert 'name="version" value="1"' in html
    assert re.search(r'changed-since">.*满99元包邮，不满收10元运费。.*→ 乙的答案', html, re.S)
    editor.post("/console/entries/ship", mine, status=409)
    assert ws.kb().store.get("ship").answer == "乙的答案"


def _link(html: str, text: str) -> str:
    """The address of the link named `text` in `html`, as a browser follows it."""
    return re.search(rf'<a href="([^"]+)">{text}', html).group(1).replace("&amp;", "&")


def test_a_refused_edit_links_to_the_latest_version_which_opens_with_a_note(editor, ws):
    """A save refused as stale said 刷新后在最新版本上重新修改: a refresh of that page posts the
    form again, refused again. It links to the latest version instead, which opens saying
    the entry changed since the page it came from; an entry's own link says nothing."""
    editor.get("/console/entries/ship")
    ws.kb().update("ship", {"answer": "乙的答案"}, author="other")
    html = editor.post("/console/entries/ship", entry_form(question="运费怎么算", answer="甲的答案", version="1"),
                       status=409).text
    assert "刷新" not in html
    latest = editor.get(_link(html, r"打开最新版本（第 2 版）"))
    note = re.search(r'<p class="card stale-note" role="status">(.*?)</p>', latest, re.S).group(1)
    assert "第 1 版的页面" in note and "现为第 2 版" in note and "/console/entries/ship/history" in note
    assert 'name="version" value="2"' in latest and "乙的答案" in latest and "data-unsaved" not in latest
    assert "stale-note" not in editor.get("/console/entries/ship") + editor.get("/console/entries/ship?version=2")


def test_a_huashu_link_from_a_list_loaded_before_the_file_changed_opens_that_line(editor, ws):
    """The list's 编辑 links named a line by its place: after another editor added or
    deleted a line above it, the link opened another line, saved over as if it were the
    one chosen. The link names the line, which opens where it now is, with a note."""
    html = editor.get("/console/huashu")
    phrases = ws.phrases().phrases
    third = _link(html, "编辑").replace("/0?", "/2?")
    third = re.sub(r"id=[^&]+", f"id={phrases[2].id}", third)
    assert editor.get(third).count("stale-note") == 0  # the file as listed: no note
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    editor.post("/console/huashu/0/delete", {"rev": rev}, status=200)  # another editor, say
    form = editor.get(third)
    assert f'name="id" value="{phrases[2].id}"' in form and 'name="index" value="1"' in form
    assert "话术文件在你打开上一页之后被修改过：下面是这条话术的最新内容" in form
    gone = re.sub(r"id=[^&]+", f"id={phrases[0].id}", third)
    assert "已不在话术库中" in editor.get(gone, status=404)


def test_a_refused_huashu_save_links_to_the_latest_line_which_opens_with_a_note(editor, ws):
    """The 话术 form's stale save said 请回到列表刷新后再改, where the other stale saves link
    to the latest: a refresh posts the form again, refused again. It links to the line as it
    is now (found by the id it had when opened, though the id field was changed too), or,
    for a new line, to a new form, each opening with a note."""
    phrases = ws.phrases().phrases
    form = editor.get("/console/huashu/2")
    fields = {name: re.search(rf'name="{name}" value="([^"]*)"', form).group(1)
              for name in ("rev", "index", "line_id", "stage")}
    assert fields["line_id"] == phrases[2].id
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu")).group(1)
    editor.post("/console/huashu/0/delete", {"rev": rev}, status=200)  # another editor, say
    line = {"kind": phrases[2].kind, "tone": phrases[2].tone, "script": phrases[2].script, "text": "我改的话术"}
    html = editor.post("/console/huashu/save", {**fields, **line, "id": "h950"}, status=409).text
    assert "刷新" not in html and "我改的话术" in html and 'name="line_id" value="%s"' % phrases[2].id in html
    latest = editor.get(_link(html, "打开这条话术的最新内容"))
    assert "话术文件在你打开上一页之后被修改过：下面是这条话术的最新内容" in latest
    assert f'name="id" value="{phrases[2].id}"' in latest and 'name="index" value="1"' in latest

    new = editor.get("/console/huashu/new?kind=closing")
    fields = {name: re.search(rf'name="{name}" value="([^"]*)"', new).group(1) for name in ("rev", "id")}
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu")).group(1)
    editor.post("/console/huashu/0/delete", {"rev": rev}, status=200)
    html = editor.post("/console/huashu/save", {**fields, "list_kind": "closing", "kind": "closing", "stage": "告别",
                                                "tone": "any", "script": "simplified", "text": "新加的话术"},
                       status=409).text
    assert "刷新" not in html and "新加的话术" in html
    latest = editor.get(_link(html, "打开新的新增表单"))
    assert "话术文件在你打开上一页之后被修改过" in latest and 'name="list_kind" value="closing"' in latest
    assert re.search(r'name="rev" value="(\w+)"', latest).group(1) != fields["rev"]
    assert "stale-note" not in editor.get("/console/huashu/new") + editor.get("/console/huashu/1")


def test_a_refused_word_list_or_settings_save_links_to_the_latest_which_opens_with_a_note(editor, admin, ws):
    """词表 / 设置已被他人修改 … 刷新页面后再改: a refresh posts the old form again. Each links
    to the latest, which says it changed since the page the link came from."""
    html = editor.get("/console/words")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    (ws.home / "safe_phrases.txt").write_text("第一时间\n", encoding="utf-8")  # another editor saved
    html = editor.post("/console/words", {"rev": rev, "words": "保证 承诺类\n", "safe": ""}, status=409).text
    assert "刷新" not in html
    latest = editor.get(_link(html, "打开最新词表"))
    assert "词表在你打开上一页之后被修改过：下面是最新内容" in latest and "第一时间" in latest
    assert "stale-note" not in editor.get("/console/words")

    html = admin.get("/console/settings")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    ws.update_config(lambda c: {**c, "retention_days": 30})
    html = admin.post("/console/settings", {"rev": rev, "traditional": "s2hk", "retention_days": "90",
                                             "min_agents": "2", "allowed_origins": ""}, status=409).text
    assert "刷新" not in html
    latest = admin.get(_link(html, "打开最新设置"))
    assert "设置在你打开上一页之后被修改过：下面是最新内容" in latest and 'value="30"' in latest
    assert "stale-note" not in admin.get("/console/settings")


def test_a_save_after_someone_archived_the_entry_does_not_bring_it_back(editor, ws):
    """The 409 page put the new version in its form, so the next click un-archived the entry."""
    editor.get("/console/entries/ship")
    ws.kb().archive("ship", author="other")
    form = entry_form(question="运费怎么算", answer="我改的答案", version="1")
    html = editor.post("/console/entries/ship", form, status=409).text
    assert 'name="version" value="1"' in html and "已归档" in html.split('changed-since">')[1].split("</section>")[0]
    editor.post("/console/entries/ship", form, status=409)
    assert ws.kb().store.get("ship").status == "archived" and ws.kb().store.get("ship").version == 2


def test_two_workers_reverting_from_one_history_page_do_not_both_revert(editor, ws, second_worker, monkeypatch):
    ws.kb().update("ship", {"answer": "满59元包邮。"}, author="ed")
    other = Browser(second_worker, "boss")
    other.get("/console/entries/ship/history")
    _meanwhile(monkeypatch, ws.kb(), "revert", lambda: other.post(
        "/console/entries/ship", entry_form(question="运费怎么算", answer="乙的答案", version="2"), status=200))
    html = editor.post("/console/entries/ship/revert", {"version": "1", "current": "2"}, status=409).text
    assert "此条目已被他人修改（现为第 3 版），没有恢复" in html
    assert ws.kb().store.get("ship").answer == "乙的答案"


def test_un_archiving_in_the_console_is_refused_while_another_entry_has_the_question(editor, ws):
    ws.kb().archive("ship")
    ws.kb().add({"id": "ship2", "question": "运费怎么算？", "answer": "全场包邮。"})
    html = editor.post("/console/entries/ship", entry_form(question="运费怎么算", answer="满99元包邮。",
                                                           status="published", version="2"), status=400).text
    assert 'id="err-question"' in html and "ship2" in html
    html = editor.post("/console/entries/ship/revert", {"version": "1", "current": "2"}, status=409).text
    assert "没有恢复" in html and "ship2" in html
    assert ws.kb().store.get("ship").status == "archived"


def test_a_revert_refused_for_another_entrys_question_gives_advice_for_the_history_page(editor, ws):
    """It said the question was taken and to choose 已有条目：更新 or 跳过, options of the
    import page that a revert does not have, quoting the question as Python's repr."""
    ws.kb().archive("ship")
    ws.kb().add({"id": "ship2", "question": "运费怎么算？", "answer": "全场包邮。"})
    html = editor.post("/console/entries/ship/revert", {"version": "1", "current": "2"}, status=409).text
    assert ("没有恢复：第 1 版的标准问题「运费怎么算」现已是条目 ship2 的标准问题（同一个问题只能有一个未归档的条目）："
            "请先修改或归档条目 ship2，或在本条目换一个问题") in html
    assert "导入" not in re.search(r'role="alert">(.*?)</p>', html, re.S).group(1)


def test_edit_validation_error_keeps_input(editor, ws):
    html = editor.post("/console/entries/ship", entry_form(question="", answer="新答案", similar=["新问法"],
                                                           version="1"), status=400).text
    assert 'id="err-question"' in html and 'value="新问法"' in html and "新答案" in html
    assert ws.kb().store.get("ship").version == 1


def test_an_unknown_status_filter_is_an_error_naming_it(editor):
    """/console/?status=bogus listed 0 entries as if none had that status (the API says 400)."""
    html = editor.get("/console/?status=<b>x</b>", status=400)
    assert "未知的状态「&lt;b&gt;x&lt;/b&gt;」" in html and "published（已发布）" in html
    assert "ship" in editor.get("/console/?status=published")


def test_archive_removes_entry_from_search(editor, ws):
    assert search_ids(editor, "忘记密码怎么办")[0] == "password"
    html = editor.post("/console/entries/password/archive", status=200).text
    assert "已归档" in html
    assert ws.kb().store.get("password").status == "archived"
    assert "password" not in search_ids(editor, "忘记密码怎么办")
    assert "归档" in editor.get("/console/entries/password/history")


def test_an_archived_entrys_page_says_how_to_restore_it(editor, ws):
    """An archived entry's page showed the badge 已归档 and the form, nothing more: the
    archive button gone, an editor looking for how to bring it back found no word of it."""
    assert "archived-note" not in editor.get("/console/entries/password")
    html = editor.post("/console/entries/password/archive", status=200).text
    note = re.search(r'<p class="card archived-note">(.*?)</p>', html, re.S).group(1)
    assert "把下面的「状态」改为「已发布」" in note and 'href="/console/entries/password/history">历史版本</a>' in note
    form = untouched_form(html)
    html = editor.post("/console/entries/password", {**form, "status": "published"}, status=200).text
    assert "已保存" in html and "archived-note" not in html and ws.kb().store.get("password").status == "published"


def test_an_archive_click_on_a_stale_page_does_not_archive_a_newer_edit(editor, ws):
    """The edit form and revert refuse to act over another editor's later change; the
    archive button on the same page archived it unseen."""
    html = editor.get("/console/entries/ship")
    shown = re.search(r'class="inline archive-form"[^>]*>.*?name="version" value="(\d+)"', html, re.S).group(1)
    ws.kb().update("ship", {"answer": "满59元包邮，新疆西藏除外。"}, author="other")  # while the page was open
    html = editor.post("/console/entries/ship/archive", {"version": shown}, status=409).text
    assert "此条目已被他人修改（现为第 2 版），没有归档" in html and "新疆西藏除外" in html
    assert ws.kb().store.get("ship").status == "published"
    html = editor.post("/console/entries/ship/archive", {"version": "2"}, status=200).text
    assert "已归档条目 ship" in html and ws.kb().store.get("ship").status == "archived"


def test_a_refused_archive_shows_the_entry_as_stored_with_nothing_unsaved(editor, ws):
    """An entry whose stored window ends before it starts (written by hand or an older
    tool) could not be archived: the click gave a bare error page in English (field
    'valid_to': is before valid_from). It shows the entry's page, the field marked and
    what to do; that form, like the one after an archive refused as stale, holds the
    entry as stored, not typed text, so leaving it must not ask about unsaved changes."""
    ws.kb().store.db.execute("update entries set valid_from = '2026-05-01', valid_to = '2026-04-01' where id = 'ship'")
    ws.kb().store.db.commit()
    html = editor.get("/console/entries/ship")
    shown = re.search(r'class="inline archive-form"[^>]*>.*?name="version" value="(\d+)"', html, re.S).group(1)
    html = editor.post("/console/entries/ship/archive", {"version": shown}, status=400).text
    assert "没有归档：条目保存的内容不符合规则" in html and 'id="err-valid_to"' in html and "不能早于生效日期" in html
    assert "is before" not in html and ws.kb().store.get("ship").status == "published"
    assert 'id="entry-form"' in html and "data-unsaved" not in html
    ws.kb().update("password", {"answer": "点登录页的忘记密码。"}, author="other")  # while the page was open
    html = editor.post("/console/entries/password/archive", {"version": "1"}, status=409).text
    assert "没有归档" in html and "data-unsaved" not in html
    # a refused save holds what was typed: leaving it still asks
    html = editor.post("/console/entries/password", entry_form(question="", answer="a", version="2"), status=400).text
    assert "data-unsaved" in html


def test_saving_an_entry_a_restore_took_away_keeps_what_was_typed(editor, ws, tmp_path):
    """`kefu restore` of a backup older than the entry, while its form was open: the save
    answered a bare 404 page (没有编号为 late 的条目), and the editor's text was gone."""
    from kefu.kb.store import backup, restore

    backup(ws.home / "kefu.db", tmp_path / "older.db")
    ws.kb().add({"id": "late", "question": "备份之后才加的条目", "answer": "原来的答案。"}, author="other")
    editor.get("/console/entries/late")
    restore(tmp_path / "older.db", ws.home / "kefu.db")
    typed = entry_form(question="备份之后才加的条目", answer="我辛苦改好的答案", version="1")
    html = editor.post("/console/entries/late", typed, status=404).text
    assert "没有编号为 late 的条目了" in html and "你的改动没有保存" in html and "我辛苦改好的答案" in html
    # The form is the new-entry form, keeping the id: one more click saves it again.
    assert 'action="/console/entries/new"' in html and re.search(r'name="id" value="late"', html)
    editor.post("/console/entries/new", {**typed, "id": "late"}, status=200)
    assert ws.kb().store.get("late").answer == "我辛苦改好的答案"


def test_a_form_opened_before_a_restore_does_not_save_over_an_edit_made_after_it(editor, ws, tmp_path):
    """A restore takes an entry back to an older version number; edits after it count up
    again, so a form opened before the restore found "its" version current and saved over
    the newer edit: the version number alone no longer named the content it was made on."""
    from kefu.kb.store import backup, restore

    backup(ws.home / "kefu.db", tmp_path / "older.db")
    ws.kb().update("ship", {"answer": "满79元包邮。"}, author="other")  # v2
    html = editor.get("/console/entries/ship")
    base = re.search(r'name="base" value="(\w+)"', html).group(1)
    restore(tmp_path / "older.db", ws.home / "kefu.db")
    ws.kb().update("ship", {"answer": "满59元包邮，新疆西藏除外。"}, author="other")  # v2 again, other content
    form = entry_form(question="运费怎么算", answer="我在恢复前打开的表单", version="2", base=base)
    html = editor.post("/console/entries/ship", form, status=409).text
    assert "已被他人修改" in html and "我在恢复前打开的表单" in html and 'name="base" value="%s"' % base in html
    # So are its 归档 button and a history page's 恢复到此版本 opened before the restore.
    editor.post("/console/entries/ship/archive", {"version": "2", "base": base}, status=409)
    editor.post("/console/entries/ship/revert", {"version": "1", "current": "2", "base": base}, status=409)
    assert ws.kb().store.get("ship").answer == "满59元包邮，新疆西藏除外。"
    assert ws.kb().store.get("ship").version == 2
    # A form opened on the entry as it is now saves.
    html = editor.get("/console/entries/ship")
    base = re.search(r'name="base" value="(\w+)"', html).group(1)
    editor.post("/console/entries/ship", {**form, "base": base}, status=200)
    assert ws.kb().store.get("ship").answer == "我在恢复前打开的表单"


@pytest.mark.parametrize("version", ["abc", "-1", "²", "1.0"])
def test_an_archive_form_whose_version_is_no_number_archives_nothing(editor, ws, version):
    """A version that is no whole number was read as none, which archives whatever is current."""
    html = editor.post("/console/entries/ship/archive", {"version": version}, status=409).text
    assert "没有归档" in html and ws.kb().store.get("ship").status == "published"


def test_a_revert_from_a_stale_history_page_does_not_undo_a_newer_edit(editor, ws):
    """The entry form refuses to save over another's edit; reverting from an old page did it silently."""
    html = editor.get("/console/entries/ship/history")
    assert 'name="current" value="1"' not in html  # one version: nothing to revert to
    ws.kb().update("ship", {"answer": "满59元包邮。"}, author="other")
    html = editor.get("/console/entries/ship/history")
    current = re.search(r'name="current" value="(\d+)"', html).group(1)
    assert current == "2"
    ws.kb().update("ship", {"answer": "全场包邮。"}, author="other")  # while the page was open
    html = editor.post("/console/entries/ship/revert", {"version": "1", "current": current}, status=409).text
    assert "此条目已被他人修改（现为第 3 版），没有恢复" in html
    assert ws.kb().store.get("ship").answer == "全场包邮。" and ws.kb().store.get("ship").version == 3
    editor.post("/console/entries/ship/revert", {"version": "1"}, status=409)  # a form without it


def test_a_revert_to_the_content_it_has_says_nothing_changed(editor, ws):
    ws.kb().update("ship", {"answer": "满59元包邮。"}, author="ed")
    ws.kb().revert("ship", 1, author="ed")  # version 3 has version 1's content
    html = editor.post("/console/entries/ship/revert", {"version": "1", "current": "3"}, status=200).text
    assert "第 1 版的内容与当前相同，没有改动" in html and "记为第" not in html
    assert ws.kb().store.get("ship").version == 3 and len(ws.kb().store.history("ship")) == 3


def test_a_revert_to_a_version_kefu_no_longer_accepts_says_which_and_why(editor, ws):
    """An old version whose question holds a line break (an older kefu stored it) fell to
    the error page, in English: only VersionConflict and DuplicateQuestion were caught."""
    ws.kb().update("ship", {"answer": "满59元包邮。"}, author="ed")
    store = ws.kb().store
    store.db.execute("""update history set after = json_set(after, '$.question', '邮费多少？\n怎么算')
                        where entry_id = 'ship' and version = 1""")
    store.db.conn.commit()
    html = editor.post("/console/entries/ship/revert", {"version": "1", "current": "2"}, status=400).text
    assert "没有恢复：第 1 版的内容现在不能保存，它的标准问题只能是一行（其中有换行）" in html
    assert 'role="alert"' in html and "第 2 版" in html  # the history page, with the message
    assert "cannot restore" not in html and "must be one line" not in html
    assert ws.kb().store.get("ship").version == 2


def test_entry_id_with_slash_works_in_every_route(editor, ws):
    ws.kb().add({"id": "faq/1", "question": "能开专票吗", "answer": "可以开增值税专用发票。"})
    assert 'href="/console/entries/faq/1"' in editor.get("/console/")
    editor.post("/console/entries/faq/1", entry_form(question="能开专票吗", answer="可以开专票。", version="1"),
                status=200)
    assert "可以开专票。" in editor.get("/console/entries/faq/1/history")
    editor.post("/console/entries/faq/1/revert", {"version": "1", "current": "2"}, status=200)
    editor.post("/console/entries/faq/1/archive", status=200)
    assert ws.kb().store.get("faq/1").status == "archived" and ws.kb().store.get("faq/1").version == 4


@pytest.mark.parametrize("entry_id", ["q?1#2", "50%off", "a/b/c"])
def test_an_id_with_url_characters_opens_its_own_page(editor, ws, entry_id):
    from urllib.parse import quote

    ws.kb().add({"id": entry_id, "question": "能开专票吗", "answer": "可以开增值税专用发票。"})
    url = f"/console/entries/{quote(entry_id)}"
    assert f'href="{url}"' in editor.get("/console/")
    assert "可以开增值税专用发票。" in editor.get(url)
    editor.post(url, entry_form(question="能开专票吗", answer="可以开专票。", version="1"), status=200)
    assert ws.kb().store.get(entry_id).answer == "可以开专票。"


@pytest.mark.parametrize("entry_id", ["k003/archive", "ship/history", "x/revert", "new", "..", ".", "a/../b", "/a", "a//b",
                                      "a\\b"])
def test_an_id_that_would_read_as_another_address_is_refused(ws, entry_id):
    """Saving entry "k003/archive" in the console posted to k003's archive action."""
    from kefu.kb.entry import InvalidEntry

    with pytest.raises(InvalidEntry, match="web addresses"):
        ws.kb().add({"id": entry_id, "question": "能开专票吗", "answer": "可以。"})


def test_unknown_entry_is_404(editor):
    html = editor.get("/console/entries/nope", status=404)
    assert "没有编号为 nope 的条目" in html and "no entry" not in html
    editor.post("/console/entries/nope/revert", {"version": "1"}, status=404)
    html = editor.post("/console/entries/ship/revert", {"version": "99", "current": "1"}, status=404).text
    assert "条目 ship 没有第 99 版" in html
    assert "没有这个页面" in editor.get("/console/no/such/page", status=404)


# -- hit test ---------------------------------------------------------------------------------------

def test_try_it_lists_hits_with_rank_matched_and_confidence(editor):
    html = editor.get("/console/try?q=邮费多少钱")
    first = re.search(r'<tbody>\s*<tr[^>]*>\s*<td>1</td>\s*<td class="mono"><a href="/console/entries/(\w+)">', html)
    assert first.group(1) == "ship"
    assert "<td>邮费多少钱</td>" in html  # the matched phrasing
    assert "置信度" in html and "<meter" in html
    assert "no_match" in html or "命中" in html
    assert "请输入一条顾客消息" in editor.get("/console/try?q=%20%20")


def test_try_it_in_a_base_with_no_published_entry_says_so(editor, ws):
    """A shop that ran `kefu init` without the sample met 试一试 with the sample shop's
    example (衣服洗了缩水还能退吗) and, for every message, only 没有任何条目命中: nothing said
    that its base had no entry to find yet."""
    assert "衣服" not in editor.get("/console/try")
    assert "还没有已发布的条目" not in editor.get("/console/try?q=邮费多少钱")
    for e in SHOP:
        ws.kb().archive(e["id"])
    html = editor.get("/console/try?q=邮费多少钱")
    assert "还没有已发布的条目" in html and 'href="/console/entries/new"' in html


def test_entry_page_hit_test_places_an_unpublished_draft(editor, ws):
    editor.post("/console/entries/new", entry_form(
        id="huabei", question="可以用花呗付款吗", similar=["支持花呗吗"], answer="支持花呗。", status="draft"), status=200)
    assert "huabei" not in search_ids(editor, "支持花呗吗")
    html = editor.get("/console/entries/huabei?q=支持花呗吗")
    assert "按已发布计算" in html
    assert "本条目排在 <strong>第 1 名</strong>" in html
    assert re.search(r'<tr class="highlight[^"]*">\s*<td>1</td>\s*<td class="mono"><a href="/console/entries/huabei"', html)
    # The trial left the live index as it was: the draft is still not searchable.
    assert "huabei" not in search_ids(editor, "支持花呗吗")
    assert search_ids(editor, "运费怎么算")[0] == "ship"
    # A published entry is tested as it is indexed.
    html = editor.get("/console/entries/ship?q=包邮吗")
    assert "本条目排在 <strong>第 1 名</strong>" in html and "按已发布计算" not in html


def test_entry_page_hit_test_places_a_campaign_entry_as_inside_its_window(editor, ws):
    """An editor sets up 双11 entries weeks ahead; the hit test on the entry's page left a
    not-yet-valid entry out (（它现在不在有效期内，不会被命中）), so whether customers would
    find it could only be seen once the campaign had begun. As a draft is tested as if
    published, an entry outside its window is tested at a moment inside it, and the page
    says which."""
    start = datetime.now().date() + timedelta(days=10)
    editor.post("/console/entries/new", entry_form(
        id="presale", question="预售定金可以退吗", similar=["定金能退吗"], answer="定金不退哦。",
        valid_from=str(start), valid_to=str(start + timedelta(days=11))), status=200)
    assert "presale" not in search_ids(editor, "定金能退吗")
    html = editor.get("/console/entries/presale?q=定金能退吗")
    assert "本条目排在 <strong>第 1 名</strong>" in html
    assert f"按有效期内的 {start} 00:00 计算" in html
    assert "presale" not in search_ids(editor, "定金能退吗")  # the live search is as it was
    editor.post("/console/entries/presale", {**entry_form(
        question="预售定金可以退吗", similar=["定金能退吗"], answer="定金不退哦。", valid_from="",
        valid_to=str(datetime.now().date() - timedelta(days=1))), "version": "1"}, status=200)
    html = editor.get("/console/entries/presale?q=定金能退吗")
    assert "本条目排在 <strong>第 1 名</strong>" in html
    assert f"按有效期内的 {datetime.now().date() - timedelta(days=1)} 23:59 计算" in html


def test_the_validity_fields_name_the_time_zone_they_are_read_in(editor, utc_plus_8):
    """A validity date and time are read in the server's local time zone; the form did not
    say which, so an editor in Beijing setting 20:00 on a server kept in UTC got a
    campaign live from 04:00 the next morning, Beijing time. The form names the zone."""
    for page in ("/console/entries/new", "/console/entries/ship"):
        html = editor.get(page)
        hint = html[html.index('for="f-valid_from"'):]
        assert "按服务器时区（UTC+08:00）" in hint[:hint.index("</small>")], page


def test_console_times_are_the_servers_local_time_as_validity_dates_are(editor, ws, utc_plus_8):
    """History and updated_at are stored in UTC: an edit at 18:49 in Shanghai showed as 10:49."""
    ws.kb().update("ship", {"answer": "满59元包邮。"}, author="ed")
    stored = ws.kb().store.get("ship").updated_at
    utc = datetime.fromisoformat(stored)
    local = utc + timedelta(hours=8)
    assert utc.utcoffset() == timedelta(0)
    for page, fmt in (("/console/entries/ship/history", "%Y-%m-%d %H:%M:%S"), ("/console/entries/ship", "%Y-%m-%d %H:%M"),
                      ("/console/?q=运费", "%Y-%m-%d %H:%M")):
        html = editor.get(page)
        assert local.strftime(fmt) in html and utc.strftime(fmt) not in html, page


class _FormFields(HTMLParser):
    """The fields of the page's entry form, as a browser posts them untouched."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_form = a.get("id") == "entry-form"
        elif not self._in_form or not a.get("name"):
            return
        elif tag == "input" and a.get("type") not in ("submit", "button", "checkbox"):
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields.append((a["name"], ""))
        if tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)


def untouched_form(html: str) -> dict:
    """The entry form of `html` as a browser would post it with nothing changed."""
    parser = _FormFields()
    parser.feed(html)
    form: dict = {}
    for name, value in parser.fields:
        form.setdefault(name, []).append(value)
    return {k: v if k == "similar" else v[0] for k, v in form.items() if k != "csrf_token"}


def test_a_save_keeps_tags_the_editor_did_not_touch(editor, ws):
    """One tag "Black Friday" became two tags, Black and Friday, when another field was saved."""
    for tags in (["Black Friday"], ["a,b"], ["Black Friday", "双 11"], ["物流", "a、b", "c d"]):
        ws.kb().update("ship", {"tags": tags}, author="cli")
        form = untouched_form(editor.get("/console/entries/ship"))
        editor.post("/console/entries/ship", {**form, "answer": form["answer"] + "。"}, status=200)
        assert ws.kb().store.get("ship").tags == tags
    # The entry's own tag holding a space stays one beside a typed tag; a new one typed with a
    # space is two, as the field's placeholder says (commas or spaces part tags).
    for typed, tags in (("Black Friday，sale", ["Black Friday", "sale"]), ("Black Friday 促销", ["Black Friday", "促销"]),
                        ("物流 运费", ["物流", "运费"]), ("Cyber Monday", ["Cyber", "Monday"])):
        ws.kb().update("ship", {"tags": ["Black Friday"]}, author="cli")
        form = untouched_form(editor.get("/console/entries/ship"))
        editor.post("/console/entries/ship", {**form, "tags": typed}, status=200)
        assert ws.kb().store.get("ship").tags == tags, typed
    ws.kb().update("ship", {"tags": ["Black Friday"]}, author="cli")
    assert 'name="tags" value="Black Friday"' in editor.get("/console/entries/ship")
    # A page of an older kefu showed a lone tag with a space with a comma after it: still one tag.
    form = untouched_form(editor.get("/console/entries/ship"))
    editor.post("/console/entries/ship", {**form, "tags": "Black Friday，"}, status=200)
    assert ws.kb().store.get("ship").tags == ["Black Friday"]


def test_adding_a_tag_keeps_a_stored_tag_that_holds_a_separator_whole(editor, ws):
    """Adding a tag in the console split every stored tag holding a separator or a space:
    ["A|B", "满减"] with 新 typed after them was saved as ["A", "B", "满减", "新"], silently.
    A stored tag still in the field as it was stays one tag; the rest is split as typed."""
    for stored, typed, tags in ((["A|B", "满减"], "A|B，满减，新", ["A|B", "满减", "新"]),
                                (["A|B", "满减"], "A|B", ["A|B"]),
                                (["Black Friday", "c d"], "Black Friday，c d，新", ["Black Friday", "c d", "新"]),
                                (["a,b"], "a,b 新", ["a,b", "新"]),
                                (["A|B"], "A|BC，新", ["A", "BC", "新"]),
                                # a kept tag beside other words: a tag of its own, no stand-in character left
                                (["黑五|BF", "满减"], "黑五|BF 促销，满减", ["黑五|BF", "促销", "满减"])):
        ws.kb().update("ship", {"tags": stored}, author="cli")
        form = untouched_form(editor.get("/console/entries/ship"))
        editor.post("/console/entries/ship", {**form, "tags": typed}, status=200)
        assert ws.kb().store.get("ship").tags == tags, (stored, typed)


def test_validity_bounds_take_a_time_and_survive_an_untouched_save(editor, ws):
    """The form's date inputs could not take a time (a sale starting at 20:00)."""
    html = editor.post("/console/entries/new", entry_form(
        id="sale", question="双11活动几点开始", answer="20点开始。", valid_from="2026-11-11", valid_from_time="20:00",
        valid_to="2026-11-12"), status=200).text
    entry = ws.kb().store.get("sale")
    assert (entry.valid_from, entry.valid_to) == ("2026-11-11T20:00:00", "2026-11-12")
    form = untouched_form(html)
    assert (form["valid_from"], form["valid_from_time"], form["valid_to"], form["valid_to_time"]) == (
        "2026-11-11", "20:00:00", "2026-11-12", "")
    assert re.search(r'<input[^>]*name="valid_from_time"[^>]*type="time"', html)
    editor.post("/console/entries/sale", {**form, "answer": "晚上8点开始。"}, status=200)
    entry = ws.kb().store.get("sale")
    assert entry.answer == "晚上8点开始。" and (entry.valid_from, entry.valid_to) == ("2026-11-11T20:00:00", "2026-11-12")
    # A bound the two fields cannot show is one text field, and comes back as it was.
    ws.kb().update("sale", {"valid_to": "2026-11-12T23:59:59.500000"}, author="cli")
    form = untouched_form(editor.get("/console/entries/sale"))
    assert form["valid_to"] == "2026-11-12T23:59:59.500000" and "valid_to_time" not in form
    editor.post("/console/entries/sale", {**form, "answer": "20点开始。"}, status=200)
    assert ws.kb().store.get("sale").valid_to == "2026-11-12T23:59:59.500000"
    # A time without its date is refused on the field.
    form = untouched_form(editor.get("/console/entries/sale"))
    html = editor.post("/console/entries/sale", {**form, "valid_from": "", "valid_from_time": "20:00"}, status=400).text
    assert 'id="err-valid_from"' in html and ws.kb().store.get("sale").valid_from == "2026-11-11T20:00:00"


def test_the_form_reads_dates_as_an_import_does(editor, ws):
    """A browser without a date picker leaves the date box a text box: 2026/11/11 and
    2026年11月12日 typed there were refused as 日期格式不对, though an import reads them."""
    editor.post("/console/entries/new", entry_form(
        id="sale", question="双11活动几点开始", answer="20点开始。", valid_from="2026/11/11", valid_from_time="20:00",
        valid_to="2026年11月12日"), status=200)
    entry = ws.kb().store.get("sale")
    assert (entry.valid_from, entry.valid_to) == ("2026-11-11T20:00:00", "2026-11-12")
    html = editor.post("/console/entries/new", entry_form(question="双12几点开始", answer="0点开始。",
                                                          valid_to="12.12"), status=400).text
    error = re.search(r'id="err-valid_to"[^>]*>([^<]*)<', html).group(1)
    assert error.startswith("没写年份：") and "/12/12" in error, error


def test_a_time_without_its_date_is_refused_saying_the_date_is_missing(editor, ws):
    """Only the time box filled in was refused as 日期格式不对 (应为 YYYY-MM-DD…): the
    editor typed no date at all, and the message named a format instead of the missing date."""
    html = editor.post("/console/entries/new", entry_form(question="双12几点开始", answer="0点开始。",
                                                          valid_to_time="20:00"), status=400).text
    error = re.search(r'id="err-valid_to"[^>]*>([^<]*)<', html).group(1)
    assert "日期" in error and "格式" not in error, error
    assert 'value="20:00"' in html  # the time typed is kept
    form = untouched_form(editor.get("/console/entries/ship"))
    html = editor.post("/console/entries/ship", {**form, "valid_from_time": "08:00"}, status=400).text
    error = re.search(r'id="err-valid_from"[^>]*>([^<]*)<', html).group(1)
    assert "日期" in error and "格式" not in error, error
    assert ws.kb().store.get("ship").version == 1


# -- 话术 --------------------------------------------------------------------------------------------

def test_huashu_edit_add_delete(editor, ws):
    own = ws.home / "huashu.jsonl"
    assert not own.exists()
    html = editor.get("/console/huashu")
    assert "h001" in html and "greeting_first" in html
    form = editor.get("/console/huashu/0")
    rev = re.search(r'name="rev" value="(\w+)"', form).group(1)
    editor.post("/console/huashu/save", {"index": "0", "rev": rev, "id": "h001", "kind": "greeting_first",
                                         "stage": "接待", "tone": "any", "script": "simplified",
                                         "text": "亲，欢迎光临～"}, status=200)
    lines = [json.loads(line) for line in own.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"id": "h001", "kind": "greeting_first", "stage": "接待", "tone": "any",
                        "script": "simplified", "text": "亲，欢迎光临～"}
    assert ws.phrases().phrases[0].text == "亲，欢迎光临～"
    n = len(lines)

    html = editor.get("/console/huashu/new?kind=closing")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    new_id = re.search(r'name="id" value="(\w+)"', html).group(1)
    editor.post("/console/huashu/save", {"rev": rev, "id": new_id, "kind": "closing", "stage": "告别",
                                         "tone": "any", "script": "simplified", "text": "祝您生活愉快！"}, status=200)
    assert ws.phrases().phrases[-1].id == new_id and len(ws.phrases().phrases) == n + 1

    html = editor.get("/console/huashu")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    editor.post(f"/console/huashu/{n}/delete", {"rev": rev}, status=200)
    assert [p.id for p in ws.phrases().phrases].count(new_id) == 0


def test_a_huashu_lines_delete_asks_naming_the_line(editor, ws):
    """删除这条话术？ named no line: in a list of near-alike lines, a click one row off
    was confirmed unseen. The question names the line's id and its text (a long one cut)."""
    html = editor.get("/console/huashu")
    first = ws.phrases().phrases[0]
    asks = re.findall(r'data-confirm="([^"]*)"', html)
    assert asks[0] == f"删除话术 {first.id}「{first.text[:40]}」？删除后草稿不再使用它。".replace("'", "&#39;")
    long = "亲，" + "非常抱歉给您带来不便，" * 10
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/new")).group(1)
    editor.post("/console/huashu/save", {"rev": rev, "id": "h900", "kind": "closing", "stage": "告别", "tone": "any",
                                         "script": "simplified", "text": long}, status=200)
    ask = re.findall(r'data-confirm="([^"]*)"', editor.get("/console/huashu"))[-1]
    assert ask.startswith(f"删除话术 h900「{long[:39]}…」") and len(ask) < 70


def test_a_huashu_line_opened_from_a_filtered_list_goes_back_to_that_list(editor, ws):
    """An editor going through the closing lines (类型: 结束语) was sent to all the
    library's lines after each save or delete, to pick the kind again for the next one."""
    html = editor.get("/console/huashu?kind=closing")
    edit, index = re.search(r'href="(/console/huashu/(\d+)\?kind=closing&amp;id=\w+&amp;rev=\w+)"', html).groups()
    form = editor.get(edit.replace("&amp;", "&"))
    assert 'name="list_kind" value="closing"' in form and 'href="/console/huashu?kind=closing">返回列表' in form
    fields = {name: re.search(rf'name="{name}" value="([^"]*)"', form).group(1) for name in ("rev", "id", "stage")}
    resp = editor.post("/console/huashu/save", {**fields, "index": index, "list_kind": "closing", "kind": "closing",
                                                "tone": "any", "script": "simplified", "text": "祝您生活愉快！"},
                       follow=False)
    assert resp.status_code == 302 and resp.location.endswith("/console/huashu?kind=closing")
    html = editor.get("/console/huashu?kind=closing")
    assert 'name="list_kind" value="closing"' in html
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    resp = editor.post(f"/console/huashu/{index}/delete", {"rev": rev, "list_kind": "closing"}, follow=False)
    assert resp.status_code == 302 and resp.location.endswith("/console/huashu?kind=closing")
    new = editor.get("/console/huashu/new?kind=closing")
    assert 'name="list_kind" value="closing"' in new
    # a kind that is none (a hand-made link) is no filter to go back to
    resp = editor.post(f"/console/huashu/{index}/delete", {"rev": "x", "list_kind": "<b>"}, follow=False)
    assert resp.location.endswith("/console/huashu")
    # a form whose login ended lists what was typed to copy: not the list it came from
    html = editor.client.post("/console/huashu/save", data={"list_kind": "closing", "text": "祝您生活愉快！"}).text
    assert "祝您生活愉快！" in html and "closing" not in html

def test_huashu_form_and_save_warn_of_words_drafts_will_flag(editor, ws):
    """The entry form warned of 保证 in an answer; a 话术 line, which goes into many drafts,
    was saved without a word, and its flag then showed in every draft it made."""
    form = editor.get("/console/huashu/0")
    assert 'id="text-flags"' not in form  # the shipped line is clean
    rev = re.search(r'name="rev" value="(\w+)"', form).group(1)
    html = editor.post("/console/huashu/save", {"index": "0", "rev": rev, "id": "h001", "kind": "greeting_first",
                                                "stage": "接待", "tone": "any", "script": "simplified",
                                                "text": "亲，保證给您最好的服务～"}, status=200).text
    assert "已保存话术 h001；用词提醒（草稿中会标给客服）：保證（承诺）、最好（极限词）" in html
    form = editor.get("/console/huashu/0")
    assert 'id="text-flags"' in form and "保證（承诺）、最好（极限词）" in form


def test_huashu_form_and_save_warn_of_a_line_the_drafts_never_pick(editor, ws):
    """An editor adding empathy lines per tone saved one for angry customers, and a closing
    with a stage of their own (结束): saved without a word, the first never reaches a draft
    (an angry customer hears an apology), the second only when no closing of the stage a
    draft asks for is left. The form and the save message say so, a warning."""
    html = editor.get("/console/huashu/new?kind=empathy")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    line = {"rev": rev, "id": "", "kind": "empathy", "stage": "了解需求", "tone": "angry", "script": "simplified",
            "text": "您的心情小鹿完全理解。"}
    html = editor.post("/console/huashu/save", line, status=200).text
    assert "共情话术只用于语气「平静」「焦急」的顾客" in html and "这一条不会出现在草稿里" in html, html
    n = len(ws.phrases().phrases) - 1
    assert "共情话术只用于语气「平静」「焦急」的顾客" in editor.get(f"/console/huashu/{n}")
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/new")).group(1)
    html = editor.post("/console/huashu/save", {**line, "rev": rev, "kind": "closing", "stage": "结束", "tone": "any",
                                                "text": "小鹿家居感谢您的支持～"}, status=200).text
    assert "结束语按阶段「提供解决方案」「后续跟踪」「告别」「了解需求」挑选" in html, html
    form = editor.get("/console/huashu/0")  # a shipped line the drafts use: no warning
    assert 'id="unpicked"' not in form


def test_huashu_invalid_save_keeps_old_file(editor, ws):
    own = ws.home / "huashu.jsonl"
    form = editor.get("/console/huashu/1")
    rev = re.search(r'name="rev" value="(\w+)"', form).group(1)
    base = {"index": "1", "rev": rev, "id": "h002", "kind": "greeting_first", "stage": "接待", "tone": "any",
            "script": "simplified"}
    html = editor.post("/console/huashu/save", {**base, "text": "{客户称呼||亲，您好"}, status=400).text
    assert "保存失败，原文件未改动：话术内容：变量写法有误" in html and "第 2 行" not in html and "broken" not in html
    assert "{客户称呼||亲，您好" in html  # the typed text is kept
    assert not own.exists()  # still the shipped library, untouched
    editor.post("/console/huashu/save", {**base, "text": "您好"}, status=200)
    saved = own.read_bytes()
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/1")).group(1)
    html = editor.post("/console/huashu/save", {**base, "rev": rev, "kind": "no_such_kind", "text": "好"},
                       status=400).text
    assert "kind" in html
    html = editor.post("/console/huashu/save", {**base, "rev": rev, "id": "h001", "text": "好"}, status=400).text
    assert "编号重复" in html
    assert own.read_bytes() == saved
    assert not list(ws.home.glob(".huashu.jsonl.*"))  # no temp files left behind
    # A tone the assistant never picks (nor a script it has no name for) is refused.
    html = editor.post("/console/huashu/save", {**base, "rev": rev, "tone": "furious", "text": "好"}, status=400).text
    assert "语气" in html and "furious" in html
    html = editor.post("/console/huashu/save", {**base, "rev": rev, "script": "klingon", "text": "好"}, status=400).text
    assert "字形" in html
    assert own.read_bytes() == saved
    # A form made from an older version of the file is refused, not merged.
    html = editor.post("/console/huashu/save", {**base, "rev": "stale", "text": "好"}, status=409).text
    assert "已被他人修改" in html and own.read_bytes() == saved


def test_a_huashu_file_holding_an_id_twice_still_takes_other_edits(editor, ws):
    """A 话术 file edited by hand with an id twice is read by the assistant as it is, but the
    console refused every edit of any other line (编号重复：h001) until the editor found and
    fixed the two lines: the console refused what the loader takes. Only a line saved with
    another's id is refused, naming the lines."""
    from kefu import corpus

    own = ws.home / "huashu.jsonl"
    lines = corpus.HUASHU.read_text(encoding="utf-8").splitlines()
    own.write_text("\n".join(lines + ['{"id": "h001", "kind": "closing", "stage": "告别", "tone": "any", '
                                       '"script": "simplified", "text": "小鹿家居感谢您的光临～"}']) + "\n",
                   encoding="utf-8")
    assert [p.id for p in ws.phrases().phrases].count("h001") == 2
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/1")).group(1)
    base = {"index": "1", "rev": rev, "id": "h002", "kind": "greeting_first", "stage": "接待", "tone": "any",
            "script": "simplified"}
    editor.post("/console/huashu/save", {**base, "text": "您好，欢迎光临小鹿家居旗舰店～"}, status=200)
    assert ws.phrases().phrases[1].text == "您好，欢迎光临小鹿家居旗舰店～"
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/1")).group(1)
    html = editor.post("/console/huashu/save", {**base, "rev": rev, "id": "h001", "text": "好"}, status=400).text
    assert "编号重复：h001" in html and f"第 1、2、{len(lines) + 1} 条" in html  # as the console lists them


def test_a_huashu_id_another_line_holds_in_other_characters_is_refused(editor, ws):
    """ｈ００１ (full-width) or h001 with a zero-width space, as a chat app's copy brings, was
    saved beside h001: the list then showed h001 twice, and drafts' explanations named both
    h001. The id is saved as an entry's is (half-width, nothing of no width) and refused as
    another's, naming it and the lines; one written so by hand in the file counts too."""
    own = ws.home / "huashu.jsonl"
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/new")).group(1)
    line = {"rev": rev, "kind": "closing", "stage": "告别", "tone": "any", "script": "simplified", "text": "好的～"}
    n = len(ws.phrases().phrases) + 1
    for typed in ("ｈ００１", "h001\u200b", "\u200bｈ001"):
        html = editor.post("/console/huashu/save", {**line, "id": typed}, status=400).text
        assert f"编号重复：h001（第 1、{n} 条）" in html, typed
        assert not own.exists()
    editor.post("/console/huashu/save", {**line, "id": "ｈ９０１"}, status=200)
    assert ws.phrases().phrases[-1].id == "h901"
    own.write_text(own.read_text(encoding="utf-8").replace('"id": "h002"', '"id": "ｈ００３"'), encoding="utf-8")
    form = editor.get("/console/huashu/2")
    fields = {name: re.search(rf'name="{name}" value="([^"]*)"', form).group(1) for name in ("rev", "index", "id")}
    html = editor.post("/console/huashu/save", {**line, **fields, "text": "您好～"}, status=400).text
    assert "编号重复：h003（第 2、3 条）" in html
    # The list numbers its lines as the messages do (第 2 条), filtered or not
    assert '<small class="muted" title="第 2 条">2.</small> ｈ００３' in editor.get("/console/huashu?kind=greeting_first")
    # A link by id to a file holding it twice says which lines, and how to end it
    own.write_text(own.read_text(encoding="utf-8").replace('"id": "ｈ００３"', '"id": "h003"'), encoding="utf-8")
    html = editor.get(f"/console/huashu/5?id=h003&rev={fields['rev']}", status=404)
    assert "话术库中有 2 条编号为 h003 的话术（第 2、3 条）" in html and "给其中一条换个编号" in html


def test_a_huashu_id_the_loader_gives_a_line_without_one_is_refused(editor, ws):
    """The console took the id line5, the one the loader gives a line written without an id
    (the fifth): a file edited by hand with such a line then held two lines named line5 in
    drafts' explanations. The id field refuses it, in Chinese, and the file is left as it was."""
    own = ws.home / "huashu.jsonl"
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/1")).group(1)
    base = {"index": "1", "rev": rev, "kind": "greeting_first", "stage": "接待", "tone": "any", "script": "simplified",
            "text": "您好"}
    for typed in ("line5", "line12"):
        html = editor.post("/console/huashu/save", {**base, "id": typed}, status=400).text
        assert f"编号 {typed} 是没有编号的话术行自动得到的编号" in html, html
        assert not own.exists()
    editor.post("/console/huashu/save", {**base, "id": "lineup"}, status=200)  # only line + a number is taken
    assert ws.phrases().phrases[1].id == "lineup"


def test_a_huashu_id_the_loader_never_gives_is_taken(editor, ws):
    """Only line + a number from 1 in ASCII digits is an id the loader gives (f"line{n}"):
    line05, line0 and line٥ (an Arabic-Indic five) were refused as "the id line 5 (0) gets
    without one", which no line ever gets."""
    own = ws.home / "huashu.jsonl"
    for n, typed in enumerate(("line05", "line0", "line\u0665"), start=1):
        rev = re.search(r'name="rev" value="(\w+)"', editor.get(f"/console/huashu/{n}")).group(1)
        editor.post("/console/huashu/save", {"index": str(n), "rev": rev, "kind": "greeting_first", "stage": "接待",
                                             "tone": "any", "script": "simplified", "text": "您好", "id": typed},
                    status=200)
        assert ws.phrases().phrases[n].id == typed
    assert own.exists()


def test_a_huashu_line_of_several_lines_reaches_drafts_without_control_characters(editor, ws):
    """Browsers post a textarea's line breaks as \\r\\n: a 话术 line of two lines was saved
    with them, and with any control character pasted along, and drafts carried them to the
    customer (感谢光临！\\r\\n欢迎再来～\\x07), where an entry's answer is cleaned. The
    console saves it cleaned, and the loader cleans a file edited by hand the same way."""
    from kefu import corpus

    html = editor.get("/console/huashu/new?kind=closing")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    editor.post("/console/huashu/save", {"rev": rev, "id": "", "kind": "closing", "stage": "告别", "tone": "any",
                                         "script": "simplified", "text": "感谢光临小鹿家居！\r\n欢迎再来～\x07"},
                status=200)
    own = ws.home / "huashu.jsonl"
    assert json.loads(own.read_text(encoding="utf-8").splitlines()[-1])["text"] == "感谢光临小鹿家居！\n欢迎再来～"
    line = {"id": "h900", "kind": "closing", "stage": "告别", "tone": "any", "text": "再见～\r\n小鹿家居\x1b[31m\x00"}
    own.write_text(corpus.HUASHU.read_text(encoding="utf-8") + json.dumps(line) + "\n", encoding="utf-8")
    assert ws.phrases().phrases[-1].text == "再见～\n小鹿家居"


def test_a_huashu_file_without_a_no_match_line_still_takes_other_edits(editor, ws):
    """An editor who deleted every no_match line from the file by hand (the assistant then
    uses its built-in line) could save no other edit in the console: every save was refused
    with 话术库至少要保留一条「无匹配」话术 (…不能全部删除), though the edit deleted nothing.
    Only a save that takes the last one away is refused."""
    from kefu import corpus

    own = ws.home / "huashu.jsonl"
    kept = [line for line in corpus.HUASHU.read_text(encoding="utf-8").splitlines() if '"no_match"' not in line]
    own.write_text("\n".join(kept) + "\n", encoding="utf-8")
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/0")).group(1)
    editor.post("/console/huashu/save", {"index": "0", "rev": rev, "id": "h001", "kind": "greeting_first",
                                         "stage": "接待", "tone": "any", "script": "simplified",
                                         "text": "您好，欢迎光临小鹿家居旗舰店～"}, status=200)
    assert ws.phrases().phrases[0].text == "您好，欢迎光临小鹿家居旗舰店～"
    # With one back, taking it away again is refused, as before.
    html = editor.get("/console/huashu/new?kind=no_match")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    editor.post("/console/huashu/save", {"rev": rev, "id": "", "kind": "no_match", "stage": "了解需求", "tone": "any",
                                         "script": "simplified", "text": "这个问题小鹿帮您核实一下～"}, status=200)
    html = editor.get("/console/huashu")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    html = editor.post(f"/console/huashu/{len(kept)}/delete", {"rev": rev}, status=200).text
    assert "没有删除" in html and "无匹配" in html


def test_huashu_save_errors_say_the_forms_field_in_plain_words(editor, ws):
    """A refused line named its field by the file's key alone (字段 text：不能为空), a word
    the form shows nowhere; then by its line in the file and the id it was given
    (第 98 行（h098） 字段 text（话术）：不能为空), and the 编号 box left empty came back
    holding that id. An error in the form's own field is said as the form says it, and
    the form comes back as typed."""
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/1")).group(1)
    base = {"index": "1", "rev": rev, "id": "h002", "kind": "greeting_first", "stage": "接待", "tone": "any",
            "script": "simplified"}
    html = editor.post("/console/huashu/save", {**base, "text": ""}, status=400).text
    assert "保存失败，原文件未改动：话术内容不能为空</p>" in html
    html = editor.post("/console/huashu/save", {**base, "kind": "no_such_kind", "text": "好"}, status=400).text
    assert "原文件未改动：类型只能是" in html and "字段" not in html
    html = editor.post("/console/huashu/save", {**base, "tone": "happy", "text": "好"}, status=400).text
    assert "原文件未改动：语气只能是 any、calm、anxious、angry 之一，不能是 happy</p>" in html
    html = editor.post("/console/huashu/save", {**base, "text": "您好{客户称呼"}, status=400).text
    assert "原文件未改动：话术内容：变量写法有误" in html and "字段" not in html and " 行" not in html
    # A new line with its id left empty: refused, the box still empty, no id invented.
    html = editor.get("/console/huashu/new?kind=closing")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    html = editor.post("/console/huashu/save", {"rev": rev, "id": "", "kind": "closing", "stage": "告别", "tone": "any",
                                                "script": "simplified", "text": "  "}, status=400).text
    assert "原文件未改动：话术内容不能为空</p>" in html and 'id="f-id" name="id" value=""' in html
    assert not (ws.home / "huashu.jsonl").exists()
    # A line edited by hand into the file, not the form's: named as the list numbers it.
    from kefu import corpus

    lines = corpus.HUASHU.read_text(encoding="utf-8").splitlines()
    (ws.home / "huashu.jsonl").write_text("\n".join(lines[:2] + ['{"id": "h777", "kind": "closing", "text": ""}']
                                                    + lines[2:]) + "\n", encoding="utf-8")
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu/1")).group(1)
    html = editor.post("/console/huashu/save", {**base, "rev": rev, "text": "您好～"}, status=400).text
    assert "原文件未改动：第 3 条话术（h777）：话术内容不能为空" in html


def test_a_huashu_line_saved_without_an_id_gets_the_next_one(editor, ws):
    """An id field left empty saved a line with no id: the list showed a blank, the save
    message named nothing (已保存话术 ) and drafts' explanations called it line84."""
    html = editor.get("/console/huashu/new?kind=closing")
    rev = re.search(r'name="rev" value="(\w+)"', html).group(1)
    new_id = re.search(r'name="id" value="(\w+)"', html).group(1)
    resp = editor.post("/console/huashu/save", {"rev": rev, "id": "", "kind": "closing", "stage": "告别",
                                                "tone": "any", "script": "simplified", "text": "祝您生活愉快！"},
                       status=200)
    assert f"已保存话术 {new_id}" in resp.text
    assert ws.phrases().phrases[-1].id == new_id
    line = json.loads((ws.home / "huashu.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert line["id"] == new_id


def test_huashu_keeps_a_line_of_each_kind_the_assistant_needs(editor, ws):
    """Deleting every no_match line was accepted, and the no-match draft became empty."""
    def no_match_indexes():
        return [i for i, p in enumerate(ws.phrases().phrases) if p.kind == "no_match"]

    def rev():
        return re.search(r'name="rev" value="(\w+)"', editor.get("/console/huashu?kind=no_match")).group(1)

    while len(no_match_indexes()) > 1:
        editor.post(f"/console/huashu/{no_match_indexes()[0]}/delete", {"rev": rev()}, status=200)
    (last,) = no_match_indexes()
    before = (ws.home / "huashu.jsonl").read_bytes()
    html = editor.post(f"/console/huashu/{last}/delete", {"rev": rev()}, status=200).text
    assert "没有删除" in html and "「无匹配」（no_match）" in html
    # Nor can the last one become another kind.
    line = ws.phrases().phrases[last]
    html = editor.post("/console/huashu/save", {"index": str(last), "rev": rev(), "id": line.id, "kind": "closing",
                                                "stage": line.stage, "tone": line.tone, "script": line.script,
                                                "text": line.text}, status=400).text
    assert "保存失败，原文件未改动" in html and "「无匹配」（no_match）" in html
    assert (ws.home / "huashu.jsonl").read_bytes() == before
    assert no_match_indexes() == [last]


# -- word lists ------------------------------------------------------------------------------

def draft_flags(browser: Browser, message: str) -> set[str]:
    resp = browser.api("POST", "/api/suggest", json={"message": message})
    assert resp.status_code == 200, resp.text
    return {f["word"] for d in resp.get_json()["drafts"] for f in d["flags"]}


def save_words(browser: Browser, form: dict, status: int, rev: str | None = None):
    """Post the word-list form as the page last loaded had it: with that page's rev."""
    if rev is None:
        rev = re.search(r'name="rev" value="(\w+)"', browser.get("/console/words")).group(1)
    return browser.post("/console/words", {"rev": rev, **form}, status=status)


def test_words_edit_changes_safety_flags_of_next_suggest(editor, ws):
    # The greeting draft for "你好" is 话术 text: "亲，您好，欢迎光临本店～…".
    assert "欢迎光临" not in draft_flags(editor, "你好")  # assistant built with the shipped lists
    html = editor.get("/console/words")
    words = re.search(r'<textarea id="f-words" name="words"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    safe = re.search(r'<textarea id="f-safe" name="safe"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert "极限词" in words and "第一时间" in safe
    save_words(editor, {"words": "# 自定义\r\n欢迎光临 承诺\r\n", "safe": "第一时间\n"}, status=200)
    assert (ws.home / "sensitive_words.txt").read_text(encoding="utf-8") == "# 自定义\n欢迎光临\t承诺\n"
    assert ws.safety().words == {"欢迎光临": "承诺"}
    assert "欢迎光临" in draft_flags(editor, "你好")
    # A safe phrase covering the word clears the flag again.
    save_words(editor, {"words": "欢迎光临\n", "safe": "欢迎光临本店\n"}, status=200)
    assert "欢迎光临" not in draft_flags(editor, "你好")


def test_words_page_of_a_shop_without_the_sample_names_no_shop(editor, ws):
    """The shipped lists serve every data folder: a cosmetics shop that never loaded the
    sample opened its word-list page on 「# 青禾优选 · 草稿默认敏感词表」, the sample shop's name."""
    html = editor.get("/console/words")
    assert "极限词" in html and "第一时间" in html  # the shipped lists, shown to edit
    assert "青禾" not in html


def test_words_page_reads_lists_saved_in_gbk_or_with_a_bom(editor, ws):
    """A list an editor saved in GBK (a Chinese Windows editor) made the page a 500
    (UnicodeDecodeError); a BOM showed stuck to the first word, and was saved back so."""
    (ws.home / "sensitive_words.txt").write_bytes("包邮\t承诺\n".encode("gbk"))
    (ws.home / "safe_phrases.txt").write_bytes("第一时间\n".encode("utf-8-sig"))
    html = editor.get("/console/words")
    words = re.search(r'<textarea id="f-words" name="words"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    safe = re.search(r'<textarea id="f-safe" name="safe"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert words.strip() == "包邮\t承诺" and safe.strip() == "第一时间"
    save_words(editor, {"words": words, "safe": safe}, status=200)
    assert (ws.home / "safe_phrases.txt").read_bytes() == "第一时间\n".encode("utf-8")
    assert ws.safety().words == {"包邮": "承诺"} and ws.safety().safe == ["第一时间"]


def test_words_invalid_save_keeps_old_files(editor, ws):
    save_words(editor, {"words": "包邮\n", "safe": ""}, status=200)
    html = save_words(editor, {"words": "好词\n\t敏感\n", "safe": ""}, status=400).text
    assert "保存失败，原文件未改动" in html and "第 2 行" in html
    assert (ws.home / "sensitive_words.txt").read_text(encoding="utf-8") == "包邮\n"


def test_a_word_line_with_a_mistyped_reason_is_refused_naming_it(editor, ws):
    """"九折 承诺类" was saved as the word 九折承诺类, which no draft ever holds."""
    save_words(editor, {"words": "包邮\n", "safe": ""}, status=200)
    html = save_words(editor, {"words": "满减 极限词\n九折 承诺类\n", "safe": ""}, status=400).text
    assert "第 2 行「九折 承诺类」：「承诺类」不是可用的原因" in html
    assert (ws.home / "sensitive_words.txt").read_text(encoding="utf-8") == "包邮\n"
    # A space inside a word is the word's: matched across it.
    save_words(editor, {"words": "满减 极限词\n加 微信\n", "safe": ""}, status=200)
    assert ws.safety().words == {"满减": "极限词", "加微信": "敏感"}


def test_a_refused_word_line_is_named_by_its_number_as_typed(editor, ws):
    """Blank lines above the first word were dropped before the list was checked: a line
    typed third was refused as 第 1 行."""
    html = save_words(editor, {"words": "\r\n\r\n\t敏感\r\n", "safe": ""}, status=400).text
    assert "第 3 行没有词（只有原因）" in html
    html = save_words(editor, {"words": "\n# 自定义\n保证 xx类\n", "safe": ""}, status=400).text
    assert "第 3 行「保证 xx类」" in html


def test_a_word_line_with_a_reason_of_its_own_is_refused_naming_the_reasons(editor, ws):
    """"保证 xx类" (a reason none of the list's) was saved as the word 保证xx类, which no draft
    ever holds: refused, naming the line and the reasons there are."""
    save_words(editor, {"words": "包邮\n", "safe": ""}, status=200)
    html = save_words(editor, {"words": "# 自定义\n满减 极限词\n保证 xx类\n", "safe": ""}, status=400).text
    assert "第 3 行「保证 xx类」：「xx类」不是可用的原因（极限词 / 承诺 / 敏感 / 站外交易" in html
    assert (ws.home / "sensitive_words.txt").read_text(encoding="utf-8") == "包邮\n"


def test_words_saved_by_another_editor_since_the_page_was_loaded_are_not_overwritten(editor, ws, app):
    """Both lists are one form: a save based on an older page would put back the other list
    as it was, losing the other editor's word."""
    other = Browser(app, "ed")
    page = other.get("/console/words")
    stale = re.search(r'name="rev" value="(\w+)"', page).group(1)
    save_words(editor, {"words": "包邮\n", "safe": "第一时间\n"}, status=200)
    html = save_words(other, {"words": "极限\n", "safe": "第一时间\n全网最低价\n"}, status=409, rev=stale).text
    assert "已被他人修改" in html and "全网最低价" in html  # what was typed stays, to copy
    assert (ws.home / "sensitive_words.txt").read_text(encoding="utf-8") == "包邮\n"
    assert (ws.home / "safe_phrases.txt").read_text(encoding="utf-8") == "第一时间\n"


def _save_at_once(monkeypatch, first_save, second_save) -> list[int]:
    """Two workers' saves of the data folder's files: the second arrives while the first
    is writing (after its rev check). The statuses, first's then second's."""
    import threading
    from contextlib import contextmanager

    from kefu.web import file_pages

    first_writing, second_waiting = threading.Event(), threading.Event()
    real_write, real_lock = file_pages._write_checked, getattr(file_pages, "_files_locked", None)

    def write(*args, **kwargs):
        if threading.current_thread().name == "first" and not first_writing.is_set():
            first_writing.set()
            second_waiting.wait(10)  # until the second save waits for this one (without a lock: never)
        return real_write(*args, **kwargs)

    @contextmanager
    def lock(ws):
        if threading.current_thread().name == "second":
            second_waiting.set()
        with real_lock(ws):
            yield

    monkeypatch.setattr(file_pages, "_write_checked", write)
    monkeypatch.setattr(file_pages, "_files_locked", lock, raising=False)
    statuses = {}
    first = threading.Thread(name="first", target=lambda: statuses.update(first=first_save().status_code))
    second = threading.Thread(name="second", target=lambda: statuses.update(second=second_save().status_code))
    first.start()
    assert first_writing.wait(30)
    second.start()
    first.join(60)
    second.join(60)
    return [statuses.get("first"), statuses.get("second")]


def test_two_workers_saving_the_word_lists_from_one_rev_do_not_both_save(editor, ws, second_worker, monkeypatch):
    """ed2's safe phrase was gone, both saves 302: the rev check and the write were under
    each worker's own thread lock."""
    other = Browser(second_worker, "boss")
    rev = re.search(r'name="rev" value="(\w+)"', editor.get("/console/words")).group(1)
    other.get("/console/words")
    statuses = _save_at_once(
        monkeypatch,
        lambda: editor.post("/console/words", {"rev": rev, "words": "甲敏感词\n", "safe": ""}, follow=False),
        lambda: other.post("/console/words", {"rev": rev, "words": "", "safe": "乙短语\n"}, follow=False))
    assert statuses == [302, 409]
    assert (ws.home / "sensitive_words.txt").read_text(encoding="utf-8") == "甲敏感词\n"
    assert "乙短语" not in (ws.home / "safe_phrases.txt").read_text(encoding="utf-8")


def test_two_workers_saving_the_huashu_from_one_rev_do_not_both_save(editor, ws, second_worker, monkeypatch):
    other = Browser(second_worker, "boss")
    form = editor.get("/console/huashu/new")
    rev = re.search(r'name="rev" value="(\w+)"', form).group(1)
    other.get("/console/huashu/new")
    line = {"rev": rev, "kind": "closing", "stage": "告别", "tone": "any", "script": "simplified"}
    statuses = _save_at_once(
        monkeypatch,
        lambda: editor.post("/console/huashu/save", {**line, "id": "h901", "text": "甲的话术"}, follow=False),
        lambda: other.post("/console/huashu/save", {**line, "id": "h902", "text": "乙的话术"}, follow=False))
    assert statuses == [302, 409]
    saved = (ws.home / "huashu.jsonl").read_text(encoding="utf-8")
    assert "甲的话术" in saved and "乙的话术" not in saved


def test_a_word_list_form_without_its_lists_empties_nothing(editor, ws):
    save_words(editor, {"words": "包邮\n", "safe": "第一时间\n"}, status=200)
    for form in ({}, {"words": "包邮\n"}, {"safe": ""}):
        assert "没有保存" in save_words(editor, form, status=400).text
    assert (ws.home / "sensitive_words.txt").read_text(encoding="utf-8") == "包邮\n"
    assert (ws.home / "safe_phrases.txt").read_text(encoding="utf-8") == "第一时间\n"



# -- shop terms ------------------------------------------------------------------------------

def add_terms(browser: Browser, typed: str, status: int = 200):
    browser.get("/console/terms")
    return browser.post("/console/terms/add", {"terms": typed}, status=status).text


def shared_terms(browser: Browser, message: str) -> str:
    """The words the top draft's entry shares with `message`, as its explanation lists them."""
    resp = browser.api("POST", "/api/suggest", json={"message": message})
    assert resp.status_code == 200, resp.text
    return resp.get_json()["drafts"][0]["explanation"][0].split("shared terms: ")[1].split(";")[0]


def test_terms_page_is_for_editors_and_linked_from_the_console(app, editor, ws):
    assert 'href="/console/terms"' in editor.get("/console/") and "店铺词汇" in editor.get("/console/terms")
    ws.users().add("ag", PASSWORD, "agent")
    agent = Browser(app, "ag")
    assert "需要编辑权限" in agent.get("/console/terms", status=403)
    agent.get("/")  # the panel: a token of the agent's login
    agent.post("/console/terms/add", {"terms": "云朵枕"}, status=403)
    agent.post("/console/terms/remove", {"term": "云朵枕"}, status=403)
    assert ws.kb().store.terms() == []


def test_terms_added_several_at_once_and_removed_one_by_one(editor, ws):
    html = add_terms(editor, "雪绒冰丝，云朵枕\r\n運費險  雪绒冰丝")
    assert "已添加 3 个词：雪绒冰丝、云朵枕、运费险。还没有建立索引：第一次搜索时会按新的词汇建立。" in html
    assert ws.kb().store.terms() == ["云朵枕", "运费险", "雪绒冰丝"]
    assert [r["author"] for r in ws.kb().store.term_rows()] == ["ed"] * 3
    ws.kb().index()
    html = add_terms(editor, "运费险 ＡＢＣ牌 運費險")
    assert "已按新的词汇重新分词并重建索引（用时 " in html
    assert "已添加 1 个词：abc牌；「运费险」已在词汇中，「運費險」已在词汇中（即「运费险」）。" in html
    html = add_terms(editor, "abc牌")
    assert "没有添加新词：「abc牌」已在词汇中。索引没有变化。" in html
    for word in ("云朵枕", "abc牌", "运费险"):
        assert f'name="term" value="{word}"' in html
    html = editor.post("/console/terms/remove", {"term": "云朵枕"}, status=200).text
    assert "已删除词「云朵枕」。已按新的词汇重新分词并重建索引" in html
    assert 'name="term" value="云朵枕"' not in html and ws.kb().store.terms() == ["abc牌", "运费险", "雪绒冰丝"]
    # a second click, or another editor's: nothing happens, and the page says so
    html = editor.post("/console/terms/remove", {"term": "云朵枕"}, status=200).text
    assert "「云朵枕」不在词汇中（可能刚被他人删除），没有改动。" in html


@pytest.mark.parametrize("typed,said", [
    ("", "请输入要添加的词"),
    (" ，\r\n ", "请输入要添加的词"),
    ("云朵枕 小米·手环", "没有添加：「小米·手环」含有「·」：分词会在这里把它断开，这个词永远匹配不到（请去掉「·」，"
                      "或把每一部分分别添加为词）；其他词也都没有添加"),
    ("闪" * 33, "没有添加：「" + "闪" * 33 + "」有 33 个字符，超过了上限 32 个字符"),
])
def test_a_term_the_cli_refuses_is_refused_in_chinese_and_nothing_is_added(editor, ws, typed, said):
    html = add_terms(editor, typed, status=400)
    assert said in html and "term " not in html
    assert ws.kb().store.terms() == []
    if typed.strip(" ，\r\n"):  # kept to correct
        assert f">{typed}</textarea>" in html


def test_a_term_with_markup_is_escaped_where_it_is_shown(editor, ws):
    html = add_terms(editor, "云朵枕 <b>x</b>", status=400)
    assert "<b>x</b>" not in html and "「&lt;b&gt;x&lt;/b&gt;」含有「&lt;」" in html
    assert ">云朵枕 &lt;b&gt;x&lt;/b&gt;</textarea>" in html
    # One an older kefu stored before such terms were refused is listed, and removed, escaped too.
    with ws.kb().store.db.conn:
        ws.kb().store.db.execute("insert into terms (word, added_at, author) values ('<b>x</b>', '', '<i>y</i>')")
    html = editor.get("/console/terms")
    assert "<b>" not in html and "<i>" not in html
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in html and "&lt;i&gt;y&lt;/i&gt;" in html
    assert "已删除词「&lt;b&gt;x&lt;/b&gt;」" in editor.post("/console/terms/remove", {"term": "<b>x</b>"}, status=200).text


def test_terms_forms_without_a_valid_csrf_token_change_nothing(editor, ws):
    ws.kb().add_terms(["云朵枕"])
    assert editor.client.post("/console/terms/add", data={"terms": "雪绒冰丝"}).status_code == 400
    assert editor.client.post("/console/terms/remove", data={"term": "云朵枕", "csrf_token": "forged"}).status_code == 400
    assert ws.kb().store.terms() == ["云朵枕"]
    # Logged in again in another tab: the terms typed come back in the box, one click from added.
    editor.get("/console/terms")
    _log_in_again(editor)
    html = editor.post("/console/terms/add", {"terms": "雪绒冰丝"}, status=400).text
    assert "登录已过期或在别处重新登录" in html and ">雪绒冰丝</textarea>" in html
    assert ws.kb().store.terms() == ["云朵枕"]
    assert "已添加 1 个词：雪绒冰丝" in editor.post("/console/terms/add", {"terms": "雪绒冰丝"}, status=200).text


def test_many_terms_get_a_filter_box_that_finds_either_script(editor, ws):
    ws.kb().add_terms(["云朵枕", "运费险"])
    assert 'name="q"' not in editor.get("/console/terms")
    ws.kb().add_terms([f"型号{n}" for n in range(40)])
    html = editor.get("/console/terms?q=運費")
    assert 'name="q" value="運費"' in html and "找到 1 个" in html
    assert 'name="term" value="运费险"' in html and 'name="term" value="云朵枕"' not in html
    # a removal from the filtered list goes back to it
    resp = editor.post("/console/terms/remove", {"term": "型号1", "q": "型号1"}, follow=False)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/console/terms?q=%E5%9E%8B%E5%8F%B71")


def test_a_term_saved_whose_index_could_not_follow_says_so(editor, ws, monkeypatch):
    ws.kb().index()

    def disk_full(**kw):
        raise OSError(28, "No space left on device", str(ws.home / "index"))

    monkeypatch.setattr(ws.kb(), "_update", disk_full)
    html = add_terms(editor, "云朵枕")
    assert "已添加 1 个词：云朵枕。词汇已保存，但索引没能更新（No space left on device" in html
    assert "下一次搜索时会先按新的词汇重建索引" in html and ws.kb().store.terms() == ["云朵枕"]


def test_a_term_added_on_the_page_cuts_the_next_suggestion_in_every_worker(editor, ws, second_worker):
    """The page is the CLI's `terms add`: the index is segmented anew at once, and the next
    suggestion (in this worker and in another on the same folder) reads the message with the term."""
    other = Browser(second_worker, "ed")
    other.get("/")  # the panel, and its token
    message = "怎么申请退货"
    index = ws.kb().index()
    assert "申请退货" not in index.rows[index.by_entry["return"][0]].tokens
    assert "申请退货" not in shared_terms(editor, message).split("、")
    assert "申请退货" not in shared_terms(other, message).split("、")
    ws.embedder.encoded.clear()
    assert "已添加 1 个词：申请退货。已按新的词汇重新分词并重建索引" in add_terms(editor, "申请退货")
    assert ws.embedder.encoded == []  # segmented anew, nothing embedded again
    index = ws.kb().index()
    assert "申请退货" in index.rows[index.by_entry["return"][0]].tokens
    assert shared_terms(editor, message) == "申请退货"
    assert shared_terms(other, message) == "申请退货"


# -- import ------------------------------------------------------------------------------------

def jsonl(*items) -> bytes:
    return "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items).encode()


def upload(browser: Browser, data: bytes, name: str, status: int = 200, **options):
    form = {"file": (io.BytesIO(data), name), "on_conflict": "update", **options}
    return browser.post("/console/import", form, status=status, content_type="multipart/form-data").text


def test_import_preview_writes_nothing_then_confirm_imports(editor, ws):
    search_ids(editor, "运费怎么算")
    data = jsonl({"id": "ship", "question": "运费怎么算", "answer": "全场包邮。", "similar": ["邮费多少钱", "运费险"]},
                 {"question": "支持货到付款吗", "answer": "暂不支持货到付款。"},
                 {"question": "坏行没有答案"})
    before = store_dump(ws)
    html = upload(editor, data, "常见问题.jsonl", skip_bad_rows="1")
    assert store_dump(ws) == before  # the dry run wrote nothing
    assert "预览：常见问题.jsonl" in html and "试运行，尚未写入" in html
    assert re.search(r"<th>新增</th><td>1</td>", html) and re.search(r"<th>更新</th><td>1</td>", html)
    assert re.search(r"<th>有问题的行</th><td>1</td>", html)
    assert "常见问题.jsonl，第 3 行" in html and "line 3" not in html  # the rejected row with its message
    assert re.search(r'class="removed before">满99元包邮，不满收10元运费。</div>\s*<div class="added after">→ 全场包邮。', html)
    assert '<div class="added">＋ 运费险</div>' in html and '<div class="removed">－ 包邮吗</div>' in html
    assert "支持货到付款吗" in html
    upload_id = re.search(r'name="upload_id" value="(\w+)"', html).group(1)
    folder = ws.home / "uploads" / upload_id
    assert json.loads((folder / "meta.json").read_text(encoding="utf-8"))["name"] == "常见问题.jsonl"
    assert (folder / "upload").read_bytes() == data

    html = editor.post("/console/import/confirm", {"upload_id": upload_id}, status=200).text
    assert "导入结果：常见问题.jsonl" in html and "已导入" in html
    assert ws.kb().store.get("ship").answer == "全场包邮。"
    assert ws.kb().store.get("ship").author == "ed"
    assert not folder.exists()
    assert search_ids(editor, "支持货到付款吗")[0] != "ship"
    new = ws.kb().store.entries(text="货到付款")[0]
    assert search_ids(editor, "支持货到付款吗")[0] == new.id
    assert search_ids(editor, "运费险")[0] == "ship"
    # The upload is gone: confirming twice imports nothing.
    editor.post("/console/import/confirm", {"upload_id": upload_id}, status=404)


def test_the_preview_of_a_large_import_lists_the_first_changes_and_counts_them_all(editor, ws, monkeypatch):
    """A shop's first import of its 8,000-entry spreadsheet previewed every entry with its
    diff: a 7.5 MB page that took seconds to render, with 确认导入 below all of them. The
    preview lists the first changes and says how many there are; the counts above and the
    import itself are for every row."""
    import kefu.web.file_pages as file_pages

    monkeypatch.setattr(file_pages, "IMPORT_DIFF_SHOWN", 3)
    data = jsonl(*[{"id": f"n{i}", "question": f"第{i}号商品有现货吗", "answer": "有现货。"} for i in range(8)])
    html = upload(editor, data, "全部.jsonl")
    assert re.search(r"<th>新增</th><td>8</td>", html)
    assert html.count('class="diff-entry"') == 3 and "第0号商品有现货吗" in html and "第7号商品有现货吗" not in html
    assert "将要发生的改动 <small>8 条，下面列出前 3 条</small>" in html
    upload_id = re.search(r'name="upload_id" value="(\w+)"', html).group(1)
    editor.post("/console/import/confirm", {"upload_id": upload_id}, status=200)
    assert ws.kb().store.get("n7").question == "第7号商品有现货吗"
    small = upload(editor, jsonl({"id": "n1", "question": "第1号商品有现货吗", "answer": "没有了。"}), "一条.jsonl")
    assert "将要发生的改动 <small>1 条</small>" in small


@pytest.mark.parametrize("previewed", ["updated", "unchanged"])
def test_an_import_confirmed_after_someone_edited_its_entries_shows_the_new_preview_first(editor, ws, previewed):
    """Another editor changed an entry of the file between its preview and 确认导入: the
    confirm updated it all the same, silently undoing that edit, which the preview the
    importing editor approved never showed (it showed the entry unchanged, or its answer
    before that edit). The confirm compares the preview with the store as it is now."""
    ship = ws.kb().store.get("ship")
    answer = "全场包邮。" if previewed == "updated" else ship.answer
    data = jsonl({"id": "ship", "question": ship.question, "answer": answer, "similar": ship.similar})
    html = upload(editor, data, "运费.jsonl")
    upload_id = re.search(r'name="upload_id" value="(\w+)"', html).group(1)
    ws.kb().update("ship", {"answer": "满59元包邮，新疆西藏除外。"}, author="other")  # meanwhile
    html = editor.post("/console/import/confirm", {"upload_id": upload_id}, status=409).text
    assert "预览之后，知识库里相关的条目已被他人修改" in html and "没有导入" in html
    assert "满59元包邮，新疆西藏除外。" in html  # the new preview: what the import would now undo
    assert ws.kb().store.get("ship").answer == "满59元包邮，新疆西藏除外。"
    # The new preview is what a confirm now imports: the editor chose it, seeing the change.
    assert re.search(r'name="upload_id" value="(\w+)"', html).group(1) == upload_id
    editor.post("/console/import/confirm", {"upload_id": upload_id}, status=200)
    assert ws.kb().store.get("ship").answer == answer and ws.kb().store.get("ship").author == "ed"


def test_the_new_preview_of_a_large_import_edited_meanwhile_lists_the_first_changes_too(editor, ws, monkeypatch):
    """The confirm's new preview (409, an entry of the file edited meanwhile) was rendered
    without the total and with every change: the page failed (500), and the next 确认导入
    imported that new preview, which the editor never saw, undoing the other edit."""
    import kefu.web.file_pages as file_pages

    monkeypatch.setattr(file_pages, "IMPORT_DIFF_SHOWN", 3)
    ship = ws.kb().store.get("ship")
    data = jsonl({"id": "ship", "question": ship.question, "answer": "全场包邮。", "similar": ship.similar},
                 *[{"id": f"n{i}", "question": f"第{i}号商品有现货吗", "answer": "有现货。"} for i in range(7)])
    upload_id = re.search(r'name="upload_id" value="(\w+)"', upload(editor, data, "全部.jsonl")).group(1)
    ws.kb().update("ship", {"answer": "满59元包邮，新疆西藏除外。"}, author="other")  # meanwhile
    html = editor.post("/console/import/confirm", {"upload_id": upload_id}, status=409).text
    assert "预览之后，知识库里相关的条目已被他人修改" in html
    assert html.count('class="diff-entry"') == 3 and "将要发生的改动 <small>8 条，下面列出前 3 条</small>" in html
    assert re.search(r'name="upload_id" value="(\w+)"', html).group(1) == upload_id
    assert ws.kb().store.get("ship").answer == "满59元包邮，新疆西藏除外。"


def test_a_new_preview_that_fails_to_show_is_not_what_the_next_confirm_imports(editor, ws, monkeypatch):
    """The new preview was kept as the one to import before its page was rendered: when
    the page failed, the next confirm imported a preview nobody saw."""
    import kefu.web.file_pages as file_pages

    ship = ws.kb().store.get("ship")
    data = jsonl({"id": "ship", "question": ship.question, "answer": "全场包邮。", "similar": ship.similar})
    upload_id = re.search(r'name="upload_id" value="(\w+)"', upload(editor, data, "运费.jsonl")).group(1)
    ws.kb().update("ship", {"answer": "满59元包邮，新疆西藏除外。"}, author="other")  # meanwhile
    render = file_pages.render_template

    def broken(*args, **kw):
        raise RuntimeError("page failed")

    monkeypatch.setattr(file_pages, "render_template", broken)
    with pytest.raises(RuntimeError):
        editor.post("/console/import/confirm", {"upload_id": upload_id})
    monkeypatch.setattr(file_pages, "render_template", render)
    editor.post("/console/import/confirm", {"upload_id": upload_id}, status=409)  # shown, not imported
    assert ws.kb().store.get("ship").answer == "满59元包邮，新疆西藏除外。"
    editor.post("/console/import/confirm", {"upload_id": upload_id}, status=200)
    assert ws.kb().store.get("ship").answer == "全场包邮。"


def test_an_import_confirmed_after_unrelated_edits_imports(editor, ws):
    html = upload(editor, jsonl({"id": "ship", "question": "运费怎么算", "answer": "全场包邮。"},
                                {"question": "支持货到付款吗", "answer": "暂不支持货到付款。"}), "运费.jsonl")
    upload_id = re.search(r'name="upload_id" value="(\w+)"', html).group(1)
    other = next(e.id for e in ws.kb().store.entries() if e.id != "ship")
    ws.kb().update(other, {"answer": "别的条目改了。"}, author="other")
    editor.post("/console/import/confirm", {"upload_id": upload_id}, status=200)
    assert ws.kb().store.get("ship").answer == "全场包邮。" and ws.kb().store.entries(text="货到付款")


def test_one_upload_confirmed_in_two_worker_processes_at_once_is_imported_once(editor, app, ws, monkeypatch):
    """A double click on 确认导入 (or two editors) reaching two `kefu serve` workers: each
    found the upload there under its own process's lock, and both imported it."""
    import threading

    import kefu.kb.bulk as bulk

    html = upload(editor, jsonl({"question": "支持货到付款吗", "answer": "暂不支持货到付款。"}), "常见问题.jsonl")
    upload_id = re.search(r'name="upload_id" value="(\w+)"', html).group(1)
    other = Workspace(ws.home, embedders=[FakeEmbedder()])
    second = Browser(create_app({"TESTING": True, "SECRET_KEY": "t"}, workspace=other), "ed")
    second.get("/console/import")
    together, load, pages = threading.Barrier(2, timeout=2), bulk.load, []

    def both_reading(*args, **kw):
        try:
            together.wait()  # both confirms parsing the file at once, if both got there
        except threading.BrokenBarrierError:
            pass
        return load(*args, **kw)

    monkeypatch.setattr(bulk, "load", both_reading)
    threads = [threading.Thread(target=lambda b=b: pages.append(b.post("/console/import/confirm",
                                                                        {"upload_id": upload_id})))
               for b in (editor, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert sorted(p.status_code for p in pages) == [200, 404]
    assert "已导入" in next(p.text for p in pages if p.status_code == 404)
    assert not (ws.home / "uploads" / upload_id).exists()


@pytest.mark.parametrize("step", ["preview", "confirm"])
def test_searches_are_not_held_up_while_an_import_parses_its_file(editor, admin, ws, monkeypatch, step):
    """A large upload takes many seconds to parse: the process's lock, which every search
    and suggestion takes, is held only for the store's part, not while the file is read."""
    import threading

    import kefu.kb.bulk as bulk

    data = jsonl({"question": "支持货到付款吗", "answer": "暂不支持货到付款。"})
    upload_id = None
    if step == "confirm":
        html = upload(editor, data, "慢.jsonl")
        upload_id = re.search(r'name="upload_id" value="(\w+)"', html).group(1)
    parsing, go, searched = threading.Event(), threading.Event(), threading.Event()
    load = bulk.load

    def slow_load(*args, **kw):
        parsing.set()
        assert go.wait(60), "the search never let the parser go on"
        return load(*args, **kw)

    monkeypatch.setattr(bulk, "load", slow_load)
    pages: list[str] = []
    if step == "preview":
        importing = threading.Thread(target=lambda: pages.append(upload(editor, data, "慢.jsonl")))
    else:
        importing = threading.Thread(target=lambda: pages.append(
            editor.post("/console/import/confirm", {"upload_id": upload_id}, status=200).text))
    hits: list[list[str]] = []
    searching = threading.Thread(target=lambda: (hits.append(search_ids(admin, "运费怎么算")), searched.set()))
    importing.start()
    try:
        assert parsing.wait(60)
        searching.start()
        searched.wait(30)  # set by a search that did not wait for the parser; never, while it holds the lock
        assert searched.is_set() and not go.is_set() and hits[0]
    finally:
        go.set()
        importing.join(60)
        if searching.ident is not None:
            searching.join(60)
    assert ("预览：慢.jsonl" if step == "preview" else "导入结果：慢.jsonl") in pages[0]
    if step == "confirm":
        assert ws.kb().store.entries(text="货到付款")


def test_import_of_a_date_without_its_year_says_so_in_chinese(editor):
    html = upload(editor, "问题,答案,失效时间\n双11尾款什么时候付,11日0点起。,11月11日\n".encode(), "camp.csv")
    year = datetime.now().year  # the example is the cell's date in this year
    assert f"camp.csv，第 2 行，失效时间：没写年份：&#39;11月11日&#39;（请写成 {year}-11-11、{year}/11/11 或 {year}年11月11日）" \
        in html
    assert "has no year" not in html


def test_import_failed_file_shows_error_and_keeps_nothing(editor, ws):
    html = upload(editor, jsonl({"question": "缺答案"}), "bad.jsonl")
    assert "失败" in html and "确认导入" not in html
    # The CLI's --skip-bad-rows is the page's checkbox.
    assert "有 1 行有问题" in html and "勾选「跳过有问题的行」" in html and "--skip-bad-rows" not in html
    assert not any((ws.home / "uploads").iterdir())
    html = upload(editor, b"whatever", "notes.exe")
    assert "不支持 .exe 文件" in html
    html = editor.post("/console/import", {}, status=400).text
    assert "请选择要导入的文件" in html


def _imported(editor, data: bytes, name: str, **options) -> str:
    """`data` uploaded as file `name` and its import confirmed: the confirm page."""
    html = upload(editor, data, name, **options)
    upload_id = re.search(r'name="upload_id" value="(\w+)"', html).group(1)
    return editor.post("/console/import/confirm", {"upload_id": upload_id}, status=200).text


def test_an_entry_pruned_from_its_file_is_a_conflict_elsewhere_said_in_chinese(editor, ws):
    """Uploading an old copy of the sheet published again what the shop had deleted from
    it: now a conflict, and the page says why and how to bring it back."""
    both = "编号,问题,答案,状态\np1,支持花呗吗,支持花呗分期。,已发布\np2,可以货到付款吗,暂不支持货到付款。,已发布\n".encode()
    _imported(editor, both, "faq.csv")
    _imported(editor, both.rsplit(b"p2,", 1)[0], "faq.csv", prune="1")
    assert ws.kb().store.get("p2").status == "archived"
    html = upload(editor, both, "旧版.csv", on_conflict="error")
    assert ("旧版.csv，第 3 行：条目 &#39;p2&#39;（问题 &#39;可以货到付款吗&#39;）在文件 faq.csv 删去它的行时已归档"
            "（导入时选「已有条目：更新」可恢复它") in html
    assert "--on-conflict" not in html and ws.kb().store.get("p2").status == "archived"


@pytest.mark.parametrize("on_conflict", ["update", "error"])
def test_a_new_id_with_an_entrys_question_is_told_what_the_console_offers(editor, ws, on_conflict):
    """A row with an id of its own and entry ship's question: the CLI says give the row id
    'ship', change its question, or leave it with --on-conflict skip; the page said only
    导入时可选「已有条目：更新」或「跳过」, and 更新 (chosen already) fails the same way."""
    html = upload(editor, "编号,问题,答案\nx9,运费怎么算,全场包邮。\n".encode(), "新编号.csv", on_conflict=on_conflict)
    assert ("新编号.csv，第 2 行，标准问题：&#39;运费怎么算&#39; 已是条目 &#39;ship&#39; 的标准问题（要更新那个条目，"
            "请把这一行的编号改为 &#39;ship&#39;；也可改掉这一行的问题，或在「已有条目」中选「跳过，保留现有内容」）") in html
    assert "「已有条目：更新」" not in html and "--on-conflict" not in html
    form = re.search(r'<select id="f-on_conflict".*?</select>', editor.get("/console/import"), re.S)[0]
    assert ">跳过，保留现有内容</option>" in form  # the control the advice names
    _imported(editor, "编号,问题,答案\nx9,运费怎么算,全场包邮。\n".encode(), "新编号.csv", on_conflict="skip")
    assert ws.kb().store.get("ship").answer == "满99元包邮，不满收10元运费。"


@pytest.mark.parametrize("answer", ["暂不支持货到付款。", "现已支持货到付款，需加收5元。"])
def test_an_entry_pruned_from_its_file_comes_back_with_update_from_a_sheet_without_status(editor, ws, answer):
    """The hint 选「已有条目：更新」可恢复它 was not true for a sheet without a status column:
    已有条目：更新 rewrote the answer and left the entry archived, and a row with the same
    answer was unchanged, no conflict said. A row without a status is published, as any
    imported row: a conflict, and 更新 publishes the entry again."""
    both = "编号,问题,答案\np1,支持花呗吗,支持花呗分期。\np2,可以货到付款吗,暂不支持货到付款。\n".encode()
    _imported(editor, both, "faq.csv")
    _imported(editor, both.rsplit(b"p2,", 1)[0], "faq.csv", prune="1")
    assert ws.kb().store.get("p2").status == "archived"
    row = f"问题,答案\n可以货到付款吗,{answer}\n".encode()
    html = upload(editor, row, "旧版.csv", on_conflict="error")
    assert "在文件 faq.csv 删去它的行时已归档（导入时选「已有条目：更新」可恢复它" in html
    assert ws.kb().store.get("p2").status == "archived"
    html = upload(editor, row, "旧版.csv", on_conflict="update")
    assert re.search(r"<th>更新</th><td>1</td>", html) and ws.kb().store.get("p2").status == "archived"
    _imported(editor, row, "旧版.csv", on_conflict="update")
    entry = ws.kb().store.get("p2")
    assert entry.status == "published" and entry.answer == answer


def test_import_problems_and_notes_of_a_csv_are_shown_in_chinese_with_fields_as_the_console_names_them(editor):
    html = upload(editor, "foo,bar\n1,2\n".encode(), "en.csv")
    assert "en.csv，第 1 行，标准问题：找不到含问题列的表头行" in html and "no header" not in html
    html = upload(editor, "问题,答案,备注\n运费多少,,无\n".encode(), "empty-answer.csv")
    assert "empty-answer.csv，第 2 行，答案：不能为空" in html and "answer：" not in html
    html = upload(editor, "问题,备注\n运费多少,无\n".encode(), "no-answer.csv")
    assert ("no-answer.csv，第 2 行，答案：表头（第 1 行）没有答案列（列名如「答案」或「answer」）；不认识的列：&#39;备注&#39;"
            in html and "no answer column" not in html)
    html = upload(editor, "问题\t答案\n运费多少\n".encode(), "short.tsv")
    assert "单元格内的制表符须加引号" in html and "inside a cell" not in html
    html = upload(editor, "问题,答案,备注\n运费多少,包邮,无\n".encode(), "note.csv", skip_bad_rows="1")
    assert "第 1 行：不认识的列 &#39;备注&#39;，没有导入" in html and "was not imported" not in html


def test_import_notes_name_their_file_as_the_rejected_rows_and_the_stores_notes_do(editor):
    """The notes of an XLSX listed `工作表 常见问题，第 2 行：…` and, beside them, the store's
    note of a shared phrasing `x.xlsx，工作表 常见问题，第 3 行：…`, as the rejected rows name it."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "常见问题"
    sheet.append(["标准问题", "相似问题", "答案", "备注"])
    sheet.append(["运费到底多少", "邮费多少钱", "满99包邮。", "x"])  # 邮费多少钱 is entry ship's phrasing
    sheet.append(["坏行", None, None, None])
    data = io.BytesIO()
    book.save(data)
    html = upload(editor, data.getvalue(), "x.xlsx", skip_bad_rows="1")
    notes = re.search(r'<ul class="notes">(.*?)</ul>', html, re.S)[1]
    items = re.findall(r"<li>(.*?)</li>", notes, re.S)
    assert len(items) == 2 and all(i.startswith("x.xlsx，工作表 常见问题，第 ") for i in items), items
    assert "x.xlsx，工作表 常见问题，第 3 行，答案：不能为空" in html


def _counted(node) -> bool:
    import ast

    return isinstance(node, ast.Call) and getattr(node.func, "id", None) == "counted" and \
        len(node.args) == 2 and isinstance(node.args[1], ast.Constant)


def _reasons_the_importer_can_give() -> tuple[set[str], set[str]]:
    """Every reason (and note) text the import code raises, read from its source: each
    f-string with its values as 1 (a `counted(n, "row")` as "1 row"), so a new message
    cannot reach the page untranslated. A whole file's message is a note starting with '!'."""
    import ast
    from pathlib import Path

    import kefu.kb
    from kefu.kb.entry import EDITABLE

    def sample(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "'1'" if v.conversion == ord("r")
                           else f"1 {v.value.args[1].value}" if _counted(v.value) else "1" for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = sample(node.left), sample(node.right)
            return left + right if left is not None and right is not None else None
        return None

    kb = Path(kefu.kb.__file__).parent
    reasons, notes = set(), set()
    for path in [*sorted((kb / "importers").glob("*.py")), kb / "entry.py", kb / "io.py", kb / "bulk.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("ImportFileError", "_error", "error", "_problem", "InvalidEntry", "LookupError"):
                    reasons |= {t for a in node.args if (t := sample(a)) and t not in (*EDITABLE, "id")}
                elif name == "KefuError":  # a whole file's message, not one row's reason
                    notes |= {f"!{t}" for a in node.args if (t := sample(a))}
                elif name == "append" and getattr(node.func.value, "attr", None) == "notes":
                    notes |= {t for a in node.args if (t := sample(a))}
            elif isinstance(node, ast.FunctionDef) and node.name.endswith("problem"):
                reasons |= {t for r in ast.walk(node) if isinstance(r, ast.Return) and r.value and (t := sample(r.value))}
            elif isinstance(node, ast.Assign) and getattr(node.targets[0], "attr", None) == "notes":
                notes |= {t for e in getattr(node.value, "elts", []) if (t := sample(e))}
    return reasons, notes


def test_import_reasons_composed_at_run_time_are_translated():
    """Reasons and notes the source scan above cannot sample (composed from parts): an
    unknown status word, a day that does not exist, a similar question holding | or ；."""
    from kefu.web.messages import import_note_zh, problem_zh

    assert problem_zh("a.csv, line 2, column '状态': must be one of draft, published, archived, got '有效'; the"
                      " column also takes 已发布 发布 for published; 草稿 for draft; 下架 停用 for archived (已 before a"
                      " word too: 已上架)") == (
        "a.csv，第 2 行，状态：只能是「草稿」「已发布」「已归档」之一，不能是 '有效'；这一列也认：已发布、发布 表示「已发布」；"
        "草稿 表示「草稿」；下架、停用 表示「已归档」（词前也可加「已」，如 已上架）")
    assert problem_zh("a.csv, line 2, field 'valid_to': no such day: '2026-02-30' (2026-02 has 28 days)") == \
        "a.csv，第 2 行，失效日期：没有这一天：'2026-02-30'（2026 年 2 月只有 28 天）"
    assert import_note_zh("line 2, column '相似问题': similar question '能退吗；能换吗' holds | or ；, but a cell with"
                          " line breaks is split at them only, so it was kept as one; put each phrasing on its own"
                          " line if it is several") == (
        "第 2 行，相似问题：相似问题 '能退吗；能换吗' 含有 | 或 ；，但有换行的单元格只按换行拆分，所以它保留为一条；"
        "如果是几种问法，请各占一行")


def test_every_reason_and_note_an_import_can_give_is_translated():
    from kefu.kb.errors import DuplicateEntry, DuplicateQuestion, DuplicateSimilar
    from kefu.web.messages import import_note_zh, problem_zh

    reasons, notes = _reasons_the_importer_can_give()
    assert len(reasons) > 40 and len(notes) >= 5  # the scan found them
    # What the store adds while importing (kefu/kb/store.py), composed elsewhere:
    conflicts = [str(DuplicateEntry("k1", "a.csv, line 2", "use --on-conflict update or skip", "运费")),
                 str(DuplicateEntry("k1", "a.csv, line 2", "use --on-conflict update or skip")),
                 "field 'valid_to': is before valid_from (a.csv, line 2, updating 'k1')",
                 str(DuplicateQuestion("k1", "运费多少", "a.csv, line 2", "use --on-conflict update or skip")),
                 str(DuplicateQuestion("k2", "运费多少", "a.csv, line 2",
                                       "and of entry 'k1': give the row the id of the one it is for")),
                 str(DuplicateSimilar("similar", "邮费", "k1", "运费多少", "question", "a.csv, line 2")),
                 str(DuplicateSimilar("question", "邮费", "k1", "运费多少", "similar", "a.csv, line 3", "line 2"))]
    # What kefu/kb/store.py and kefu/kb/bulk.py note when they do not prune:
    notes |= {"not pruned: 2 entries of a.csv (k1, k2) not in this file; rows of this file came from that "
              "file and are this file's from now on (archive the others with `kefu archive` if they are gone)",
              "not pruned: a rejected-rows file is no source of entries; its rows belong to the file they are put "
              "back into",
              # and when an update splits a stored tag
              "a.csv, line 2: tag '满减、包邮' of entry 't1' becomes 2 tags, '满减' and '包邮' (a tags cell without a"
              " line break is split at | ; , ， 、: a file an older kefu exported wrote such a tag so); if it is one"
              " tag, end the cell with a line break"}
    shown = [problem_zh(f"a.csv, line 2, field 'answer': {r}") for r in sorted(reasons)] + \
        [problem_zh(c) for c in conflicts] + [problem_zh(n[1:]) if n.startswith("!") else import_note_zh(re.sub(r"^1(?=column)", "", n))  # an empty sheet part
         for n in sorted(notes)]
    for text in shown:
        # English words left, apart from quoted names and values ('1', 「question」, {"entries": ...}):
        left = re.sub(r"'[^']*'|「[^」]*」|\{.*\}|--\S+|a\.csv", "", text)
        assert not re.search(r"\b[a-z]{3,}\b", left), text


def test_an_upload_over_the_size_limit_says_the_limit(ws):
    """It said only 上传的内容太大, and the editor could not know how much would be taken."""
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "MAX_CONTENT_LENGTH": 2 * 2**20}, workspace=ws)
    editor = Browser(app, "ed")
    editor.get("/console/import")
    html = upload(editor, b"question,answer\n" + b"x" * 3 * 2**20, "big.csv", status=413)
    assert "上传的内容太大：一次最多 2 MB" in html
    assert not (ws.home / "uploads").exists() or not any((ws.home / "uploads").iterdir())


def test_a_form_field_over_its_limit_says_the_fields_limit(editor):
    """A text field of a multipart form over MAX_FORM_MEMORY_SIZE (500 KB) was answered
    一次最多 50 MB, the whole upload's limit, which the request was far below."""
    html = upload(editor, b"question,answer\nq,a\n", "small.csv", status=413, skip_bad_rows="x" * 600_000)
    assert "500 KB" in html and "一次最多 50 MB（" not in html


def test_a_long_upload_name_keeps_its_suffix(editor):
    """The name was cut to its first 200 characters, suffix and all: a 250-character name
    (Windows allows 255) was refused as 不支持 (none) 文件."""
    name = "售后问题" * 62 + ".jsonl"
    html = upload(editor, jsonl({"question": "长名字的文件", "answer": "答"}), name)
    assert "不支持" not in html and 'name="upload_id"' in html
    assert "售后问题" * 48 + "售后.jsonl" in html  # 194 characters of the name, then its suffix


def test_import_cancel_deletes_upload(editor, ws):
    html = upload(editor, jsonl({"question": "新问题", "answer": "新答案"}), "a.jsonl")
    upload_id = re.search(r'name="upload_id" value="(\w+)"', html).group(1)
    before = store_dump(ws)
    editor.post("/console/import/confirm", {"upload_id": upload_id, "cancel": "1"}, status=200)
    assert not (ws.home / "uploads" / upload_id).exists() and store_dump(ws) == before


def test_import_upload_name_and_id_cannot_escape_the_uploads_folder(editor, ws):
    html = upload(editor, jsonl({"question": "路径", "answer": "答"}), "../../../etc/evil.jsonl")
    assert "evil.jsonl" in html and "../" not in html
    assert sorted(p.name for p in (ws.home / "uploads").iterdir()) == \
        [re.search(r'name="upload_id" value="(\w+)"', html).group(1)]
    db = ws.home / "kefu.db"
    for bad in ("../kefu.db", "..", "../../", "/etc/passwd", "0" * 32, "A" * 32, "0" * 31 + "/",
                "%2e%2e%2fkefu.db", ""):
        editor.post("/console/import/confirm", {"upload_id": bad}, status=404)
    assert db.exists()


# -- users ----------------------------------------------------------------------------------

def test_users_page_is_admin_only(editor, admin):
    editor.get("/console/users", status=403)
    editor.post("/console/users/add", {"name": "x", "password": PASSWORD, "role": "admin"}, status=403)
    editor.post("/console/tokens/add", {"name": "x", "role": "admin"}, status=403)
    html = admin.get("/console/users")
    assert "ed" in html and "boss" in html


@pytest.mark.parametrize("path, name", [("users/add", "desk/bob"), ("users/add", "token:edt"),
                                        ("tokens/add", "desk/bob"), ("tokens/add", "token:edt")])
def test_a_name_that_reads_as_another_identity_in_feedback_credit_is_refused(admin, ws, path, name):
    """Feedback from a shared login `desk` naming agent bob is credited to desk/bob, and a
    token edt's to token:edt: a user or token of that name would merge with them."""
    html = admin.post(f"/console/{path}", {"name": name, "password": PASSWORD, "role": "agent"}, status=400).text
    assert "不能含「/」，也不能以「token:」开头" in html and "must not" not in html
    assert [u.name for u in ws.users().all()] == ["boss", "ed"] and ws.users().tokens() == []


def test_admin_adds_and_removes_users_and_tokens(admin, app, ws):
    admin.post("/console/users/add", {"name": "xiaohe", "password": PASSWORD, "role": "agent"}, status=200)
    assert ws.users().get("xiaohe").role == "agent" and not ws.users().get("xiaohe").shared
    admin.post("/console/users/add", {"name": "desk", "password": PASSWORD, "role": "agent", "shared": "1"},
               status=200)
    page = admin.get("/console/users")
    assert ws.users().get("desk").shared and "<td>desk</td><td>客服</td><td>是</td>" in page
    assert '<option value="editor">编辑</option>' in page  # roles shown in Chinese, sent as their names
    admin.post("/console/users/remove", {"name": "desk"}, status=200)
    html = admin.post("/console/users/add", {"name": "xiaohe", "password": PASSWORD, "role": "agent"}, status=400).text
    assert "用户 xiaohe 已存在" in html
    html = admin.post("/console/users/add", {"name": "short", "password": "123", "role": "agent"}, status=400).text
    assert "密码至少需要 8 个字符" in html
    html = admin.post("/console/users/add", {"name": "boss2", "password": PASSWORD, "role": "boss"}, status=400).text
    assert "角色只能是" in html and "role must" not in html
    html = admin.post("/console/users/add", {"name": "ed\u200b", "password": PASSWORD, "role": "admin"},
                      status=400).text
    assert "用户名不能含看不见的字符或控制字符（U+200B）" in html and "invisible" not in html

    html = admin.post("/console/tokens/add", {"name": "chatwoot", "role": "agent"}, status=200).text
    assert "<td>chatwoot</td><td>客服</td>" in html
    token = re.search(r'value="(kefu_[^"]+)"', html).group(1)
    assert "只显示这一次" in html
    resp = app.test_client().get("/api/search", query_string={"q": "运费"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    assert token not in admin.get("/console/users")  # shown once only
    admin.post("/console/tokens/revoke", {"name": "chatwoot"}, status=200)
    assert ws.users().tokens() == []
    resp = app.test_client().get("/api/search", query_string={"q": "运费"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401

    admin.post("/console/users/remove", {"name": "xiaohe"}, status=200)
    assert [u.name for u in ws.users().all()] == ["boss", "ed"]
    html = admin.post("/console/users/remove", {"name": "boss"}, status=400).text
    assert "不能删除自己" in html


def test_admin_changes_a_users_role_on_the_users_page(admin, app, ws):
    """A role could only be changed by removing the user and adding them again."""
    ws.users().add("xiaohe", PASSWORD, "agent")
    page = admin.get("/console/users")
    assert 'action="/console/users/role"' in page and 'name="role"' in page
    login = Browser(app, "xiaohe")
    login.get("/")
    login.get("/console/", status=403)
    html = admin.post("/console/users/role", {"name": "xiaohe", "role": "editor"}, status=200).text
    assert ws.users().get("xiaohe").role == "editor" and "已将 xiaohe 的角色改为编辑" in html
    assert login.client.get("/console/").status_code != 200  # the login made under the old role ended
    html = admin.post("/console/users/role", {"name": "boss", "role": "agent"}, status=400).text
    assert "不能修改自己的角色" in html and ws.users().get("boss").role == "admin"
    html = admin.post("/console/users/role", {"name": "ghost", "role": "agent"}, status=400).text
    assert "没有用户 ghost" in html
    html = admin.post("/console/users/role", {"name": "xiaohe", "role": "boss"}, status=400).text
    assert "角色只能是" in html and "role must" not in html
    ws.users().remove("xiaohe")


def test_editor_cannot_change_roles(editor, ws):
    editor.post("/console/users/role", {"name": "ed", "role": "admin"}, status=403)
    assert ws.users().get("ed").role == "editor"


# -- escaping ---------------------------------------------------------------------------------

def test_entry_text_with_script_is_escaped_on_every_page(editor, admin, ws):
    editor.post("/console/entries/new", entry_form(
        id="xss", question=f"问题{XSS}", similar=[f"问法{XSS}"], answer=f"答案{XSS}", category_new=f"类{XSS}",
        tags=f"标{XSS}"), status=200)
    editor.post("/console/entries/xss", entry_form(question=f"改过{XSS}", answer=f"答案2{XSS}",
                                                   category_new=f"类{XSS}", version="1"), status=200)
    pages = [editor.get("/console/"), editor.get("/console/entries/xss"),
             editor.get(f"/console/entries/xss?q=问题{XSS}"), editor.get("/console/entries/xss/history"),
             editor.get(f"/console/try?q=改过{XSS}"),
             upload(editor, jsonl({"id": "xss", "question": f"导入{XSS}", "answer": f"导入{XSS}"}), f"{XSS}.jsonl")]
    # New token names may hold no '/' (feedback credit): one made before that rule is still shown.
    with ws.users().db.conn:
        ws.users().db.execute("insert into api_tokens (token_hash, name, role, created_at) values ('h', ?, 'agent', '')",
                              [f"t{XSS}"])
    pages.append(admin.get("/console/users"))
    for html in pages:
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    html = editor.post("/console/entries/new", entry_form(question=f"问{XSS}", answer=""), status=400).text
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_text_shown_inside_attributes_cannot_close_them(editor, admin, ws):
    """The <script> test above is about text between tags; typed text also lands inside
    attribute values (an input's value, a confirm question, a title): a quote there must
    stay a character, or `"onfocus="…` would become an event handler."""
    breaking = '"onfocus="alert(1)"autofocus="'
    editor.post("/console/entries/new", entry_form(
        id="attr", question=f"问{breaking}", similar=[f"似{breaking}"], answer=f"答{breaking}",
        category_new=f"类{breaking}", tags=f"标{breaking}"), status=200)
    admin.post("/console/users/add", {"name": f"u{breaking}", "password": PASSWORD, "role": "agent"}, status=200)
    pages = [editor.get("/console/entries/attr"), editor.get("/console/?q=" + breaking), editor.get("/console/"),
             editor.get("/console/entries/attr/history"), editor.get("/console/try?q=" + breaking),
             admin.get("/console/users")]
    for html in pages:
        assert '"onfocus=' not in html and "&#34;onfocus=&#34;" in html
    # Every attribute a template fills is quoted: unquoted, a space would end it (escaping leaves spaces).
    from pathlib import Path

    import kefu.web

    for template in (Path(kefu.web.__file__).parent / "templates").rglob("*.html"):
        assert not re.search(r"""\s[\w-]+=(?!["'])[^\s>]*\{\{""", template.read_text(encoding="utf-8")), template


def test_every_page_runs_only_kefus_own_scripts(app, editor, admin):
    """Escaping is the first line; the second is a policy the browser enforces, so markup
    that ever slipped through (an <img onerror>, an inline <script>, a <form> posting
    elsewhere, a <base>) would not run or phish. Pages had only frame-ancestors."""
    from pathlib import Path

    import kefu.web

    anonymous = app.test_client()
    pages = [anonymous.get("/login"), anonymous.get("/embed"), editor.client.get("/"), editor.client.get("/console/"),
             editor.client.get("/console/nothing-here"), editor.client.get("/console/entries/no-such-entry"),
             admin.client.get("/console/users"), admin.client.get("/console/settings")]
    for resp in pages:
        assert resp.mimetype == "text/html", resp.request.path
        policies = resp.headers.getlist("Content-Security-Policy")
        assert "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'" in policies, \
            (resp.request.path, policies)
    # ... which the pages can live with: no inline script or event handler in a template.
    for template in (Path(kefu.web.__file__).parent / "templates").rglob("*.html"):
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))", html), template
        assert not re.search(r"\son[a-z]+\s*=|javascript:", html), template


# -- learning pages: review queue, gaps, statistics ----------------------------------------------

LEARN_PAGES = ("/console/learn", "/console/gaps", "/console/stats")


def learn(ws, *events) -> None:
    """Record feedback as the panel would: (message, action, entry_id, agent) each."""
    from kefu.kb.learned import Event

    ws.learner().record([Event(*e) for e in events])


def learned(ws) -> dict:
    """Learned phrasings by text: (entry id, status)."""
    return {r.text: (r.entry_id, r.status) for r in ws.learner().store.rows()}


def row_id(ws, text: str) -> int:
    return next(r.id for r in ws.learner().store.rows() if r.text == text)


def flash(html: str) -> str:
    """The messages flashed on the page: what was done and what was refused."""
    return "".join(re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', html, re.S))


def refused(html: str) -> str:
    """The flashed refusals: the red box screen readers announce (role=alert)."""
    return "".join(re.findall(r'<div class="flash flash-error" id="flash-error" role="alert">(.*?)</div>', html, re.S))


def test_learning_pages_are_for_editors_only(app, ws):
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"))
    rid = row_id(ws, "运费贵不贵")
    anonymous = app.test_client()
    for path in LEARN_PAGES:
        resp = anonymous.get(path)
        assert resp.status_code == 302 and resp.location.startswith("/login"), path
    ws.users().add("ag", PASSWORD, "agent")
    agent = Browser(app, "ag")
    for path in LEARN_PAGES:
        agent.get(path, status=403)
    agent.get("/login")  # a valid token of the agent's session: the refusal is the role's
    for action in ("approve", "reject", "reset", "move", "lift"):
        agent.post(f"/console/learn/{rid}/{action}", {"to": "invoice"}, status=403)
    agent.post("/console/learn/trust", {"min_agents": "1"}, status=403)
    assert learned(ws) == {"运费贵不贵": ("ship", "candidate")}
    assert ws.learner().store.rule.min_agents == 2


def test_learning_posts_without_csrf_token_are_refused(editor, ws):
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"))
    rid = row_id(ws, "运费贵不贵")
    for url, data in ((f"/console/learn/{rid}/approve", {}), (f"/console/learn/{rid}/move", {"to": "invoice"}),
                      ("/console/learn/trust", {"min_agents": "1"})):
        assert editor.client.post(url, data=data).status_code == 400
        assert editor.client.post(url, data={**data, "csrf_token": "forged"}).status_code == 400
    assert learned(ws) == {"运费贵不贵": ("ship", "candidate")}
    assert ws.learner().store.rule.min_agents == 2
    assert ws.kb().store.get("ship").version == 1


def test_queue_shows_phrasing_entry_counts_agents_trust_and_rule(editor, ws):
    learn(ws, ("运费贵不贵呀", "accept", "ship", "a1"), ("运费贵不贵", "accept", "ship", "a2"),
          ("能退吗亲", "accept", "return", "a1"), ("能退吗亲", "reject", "return", "a3"))
    html = editor.get("/console/learn")
    ship = re.search(r'<tr id="learned-(\d+)">(.*?)</tr>', html, re.S)
    assert "运费贵不贵呀" in ship.group(2)  # two agents, merged as one phrasing: listed first
    assert 'href="/console/entries/ship"' in ship.group(2) and "运费怎么算" in ship.group(2)
    assert "已在使用" in ship.group(2) and "+2" in ship.group(2) and "a1、a2" in ship.group(2)
    ret = re.search(r'<tr id="learned-\d+">((?:(?!</tr>).)*能退吗亲.*?)</tr>', html, re.S).group(1)
    assert "怎么申请退货" in ret and "已在使用" not in ret and "+1" in ret and "−1" in ret and "a3" in ret
    assert "至少 <strong>2</strong> 位" in html
    assert 'name="min_agents" type="number" min="1" max="100" step="1" value="2"' in html
    assert re.search(r'待审核 <small>2</small>', html)


def test_a_queue_page_past_the_end_shows_the_last_page(editor, ws):
    """With many phrasings waiting, a page past the end (an old link, the last row of the
    last page just decided) said 没有待审核的问法 beside a tab counting them. It shows the
    last page, as the entry list does."""
    from kefu.web.learn_pages import PAGE_SIZE

    words = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"
    texts = [f"{a}{b}款{c}号能寄吗" for a in words for b in words for c in "东南西北"][:PAGE_SIZE + 7]
    learn(ws, *[(t, "accept", "ship", "a1") for t in texts])
    waiting = len(ws.learner().store.queue(ws.learner().store.rows()))
    assert waiting > PAGE_SIZE
    last = -(-waiting // PAGE_SIZE)
    ids = lambda html: re.findall(r'<tr id="learned-(\d+)">', html)  # noqa: E731
    on_last = ids(editor.get(f"/console/learn?page={last}"))
    assert on_last
    for page in (last + 1, 999):
        html = editor.get(f"/console/learn?page={page}")
        assert ids(html) == on_last and "没有待审核的问法" not in html and f"第 {last} 页" in html


def test_a_decision_on_a_later_queue_page_comes_back_to_that_page(editor, ws):
    """An editor working through page 2 of a long queue was sent back to page 1 after each
    approve, reject or move, and had to page forward again for the next row."""
    from kefu.web.learn_pages import PAGE_SIZE

    words = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"
    texts = [f"{a}{b}款{c}号能寄吗" for a in words for b in words for c in "东南西北"][:2 * PAGE_SIZE + 7]
    learn(ws, *[(t, "accept", "ship", "a1") for t in texts])
    html = editor.get("/console/learn?page=2")
    assert '<input type="hidden" name="page" value="2">' in html
    row = re.search(r'<tr id="learned-(\d+)">', html).group(1)
    resp = editor.post(f"/console/learn/{row}/approve", {"status": "candidate", "page": "2"}, follow=False)
    assert resp.headers["Location"].endswith("/console/learn?status=candidate&page=2")
    resp = editor.post(f"/console/learn/{row}/move", {"status": "candidate", "page": "2", "to": ""}, follow=False)
    assert resp.headers["Location"].endswith("/console/learn?status=candidate&page=2")
    # page 1 and a page that is no number come back to the first page, as before
    for page in ("1", "x"):
        resp = editor.post(f"/console/learn/{row}/reset", {"status": "approved", "page": page}, follow=False)
        assert resp.headers["Location"].endswith("/console/learn?status=approved")


def test_queue_counts_agents_as_the_trust_rule_does(editor, ws):
    # 采纳：2 人 for one named agent and the "?" of an event naming none
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"), ("运费贵不贵", "accept", "ship", None))
    html = editor.get("/console/learn")
    row = re.search(r'<tr id="learned-(\d+)">(.*?)</tr>', html, re.S).group(2)
    assert "采纳：1 人" in row and "已在使用" not in row


def test_approve_reject_move_and_reset_change_the_store(editor, ws):
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"), ("能开专票吗", "accept", "invoice", "a1"),
          ("几天能到", "accept", "ship", "a2"))
    editor.get("/console/learn")

    rid = row_id(ws, "运费贵不贵")
    html = editor.post(f"/console/learn/{rid}/approve", {"status": "candidate"}, status=200).text
    assert "已批准「运费贵不贵」" in flash(html)
    assert ws.kb().store.get("ship").similar == ["邮费多少钱", "包邮吗", "运费贵不贵"]
    assert ws.kb().store.history("ship")[-1].action == "learn"
    assert ws.kb().store.history("ship")[-1].author == "ed"
    assert search_ids(editor, "运费贵不贵")[0] == "ship"

    editor.post(f"/console/learn/{row_id(ws, '能开专票吗')}/reject", status=200)
    html = editor.post(f"/console/learn/{row_id(ws, '几天能到')}/move", {"to": "delivery"}, status=200).text
    assert "已把「几天能到」从条目 ship 移到 delivery" in flash(html)
    assert learned(ws) == {"运费贵不贵": ("ship", "approved"), "能开专票吗": ("invoice", "rejected"),
                           "几天能到": ("delivery", "candidate")}

    # Decided ones are under their tabs, with who decided and an undo button.
    approved = editor.get("/console/learn?status=approved")
    assert "运费贵不贵" in approved and "能开专票吗" not in approved and ">撤销<" in approved
    assert "ed ·" in approved
    rejected = editor.get("/console/learn?status=rejected")
    assert "能开专票吗" in rejected and "运费贵不贵" not in rejected
    html = editor.post(f"/console/learn/{row_id(ws, '运费贵不贵')}/reset", {"status": "approved"}, status=200)
    assert html.request.path == "/console/learn" and html.request.args["status"] == "approved"
    assert "回到了待审核" in flash(html.text)
    assert ws.kb().store.get("ship").similar == ["邮费多少钱", "包邮吗"]
    editor.post(f"/console/learn/{row_id(ws, '能开专票吗')}/reset", {"status": "rejected"}, status=200)
    assert {s for _, s in learned(ws).values()} == {"candidate"}


def test_pairings_agents_rejected_have_their_own_tab_with_lift(editor, ws):
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"), ("能退吗亲", "reject", "return", "a1"),
          ("能退吗亲", "reject", "return", "a2"))
    queue = editor.get("/console/learn")
    assert "运费贵不贵" in queue and "能退吗亲" not in queue  # nothing to approve there
    assert re.search(r'待审核 <small>1</small>', queue) and re.search(r'客服拒绝 <small>1</small>', queue)
    tab = editor.get("/console/learn?status=agent-rejected")
    row = re.search(r'<tr id="learned-\d+">((?:(?!</tr>).)*能退吗亲.*?)</tr>', tab, re.S).group(1)
    assert "已降权" in row and ">取消降权<" in row and ">批准<" not in row and "移到其他条目" in row
    rid = row_id(ws, "能退吗亲")
    html = editor.post(f"/console/learn/{rid}/lift", {"status": "agent-rejected"}, status=200)
    assert html.request.args["status"] == "agent-rejected" and "已取消「能退吗亲」对条目 return 的降权" in flash(html.text)
    assert not ws.learner().store.get(rid).demoted and ws.learner().store.demoted() == []
    # Still listed, marked, with the way back (and nothing left to lift).
    row = re.search(rf'<tr id="learned-{rid}">(.*?)</tr>', html.text, re.S).group(1)
    assert "已取消降权" in row and ">恢复降权<" in row and ">取消降权<" not in row
    html = editor.post(f"/console/learn/{rid}/reset", {"status": "agent-rejected"}, status=200)
    assert "已恢复「能退吗亲」对条目 return 的降权" in flash(html.text)
    assert ws.learner().store.get(rid).demoted


def test_a_lifted_row_still_names_whose_rejects_were_lifted(editor, ws):
    # After 取消降权 the row read +0 / −0 with no agent named: the editor's decision and the
    # agents it overruled were nowhere to be seen, though the lift keeps them for reset.
    learn(ws, ("能退吗亲", "reject", "return", "王五"), ("能退吗亲", "reject", "return", "赵六"))
    rid = row_id(ws, "能退吗亲")
    html = editor.post(f"/console/learn/{rid}/lift", {"status": "agent-rejected"}, status=200)
    row = re.search(rf'<tr id="learned-{rid}">(.*?)</tr>', html.text, re.S).group(1)
    assert "−0" in row and "已解除：王五、赵六 的拒绝（2 次）" in row
    editor.post(f"/console/learn/{rid}/reset", {"status": "agent-rejected"}, status=200)
    row = re.search(rf'<tr id="learned-{rid}">(.*?)</tr>', editor.get("/console/learn?status=agent-rejected"),
                    re.S).group(1)
    assert "已解除" not in row and "王五" in row  # the rejects count again, named as rejecters


def test_lift_is_offered_only_where_there_is_a_demotion_to_lift(editor, ws):
    # One agent's reject (−1) demotes nothing (min_agents 2), yet the row offered 取消降权.
    learn(ws, ("能退吗亲", "reject", "return", "a1"), ("运费贵不贵呀", "reject", "ship", "a1"),
          ("运费贵不贵呀", "reject", "ship", "a2"))
    tab = editor.get("/console/learn?status=agent-rejected")
    alone = re.search(rf'<tr id="learned-{row_id(ws, "能退吗亲")}">(.*?)</tr>', tab, re.S).group(1)
    demoted = re.search(rf'<tr id="learned-{row_id(ws, "运费贵不贵呀")}">(.*?)</tr>', tab, re.S).group(1)
    assert "−1" in alone and "已降权" not in alone and ">取消降权<" not in alone and ">确认不相关<" in alone
    assert "已降权" in demoted and ">取消降权<" in demoted


def test_a_disabled_button_does_not_look_like_a_primary_one(editor, ws):
    # 待审核: the 批准 of an archived entry's candidate was disabled, yet red as a primary button.
    learn(ws, ("有赠品送吗", "accept", "ship", "a1"))
    ws.kb().archive("ship", author="other")
    html = editor.get("/console/learn")
    row = re.search(rf'<tr id="learned-{row_id(ws, "有赠品送吗")}">(.*?)</tr>', html, re.S).group(1)
    (button,) = re.findall(r"<button[^>]*>批准</button>", row)
    assert "disabled" in button and "primary" not in button
    css = editor.client.get("/static/console.css").get_data(as_text=True)
    rule = re.search(r"button:disabled[^{]*\{([^}]*)\}", css)
    assert rule and "background" in rule.group(1) and "var(--accent)" not in rule.group(1)


def test_a_move_names_its_new_row_and_is_undone_from_the_rejected_tab(editor, ws):
    learn(ws, ("几天能到", "accept", "ship", "a1"))
    rid = row_id(ws, "几天能到")
    editor.get("/console/learn")
    html = editor.post(f"/console/learn/{rid}/move", {"to": "delivery"}, status=200).text
    new_id = ws.learner().store.get(rid).moved_to
    assert f"（现为 #{new_id}" in flash(html)
    rejected = editor.get("/console/learn?status=rejected")
    row = re.search(rf'<tr id="learned-{rid}">(.*?)</tr>', rejected, re.S).group(1)
    assert f"已移到 #{new_id}" in row and ">撤销移动<" in row
    html = editor.post(f"/console/learn/{rid}/reset", {"status": "rejected"}, status=200).text
    assert "已撤销移动" in flash(html)
    assert learned(ws) == {"几天能到": ("ship", "candidate")}


def test_an_approved_phrasing_a_revert_took_out_is_marked_in_its_tab(editor, ws):
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"))
    rid = row_id(ws, "运费贵不贵")
    editor.get("/console/learn")
    editor.post(f"/console/learn/{rid}/approve", status=200)
    assert "已不在条目中" not in editor.get("/console/learn?status=approved")
    ws.kb().revert("ship", 1, author="ed")
    row = re.search(rf'<tr id="learned-{rid}">(.*?)</tr>', editor.get("/console/learn?status=approved"), re.S).group(1)
    assert "已不在条目中" in row and ">撤销<" in row


def test_refused_decisions_are_flashed_and_change_nothing(editor, ws):
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"))
    rid = row_id(ws, "运费贵不贵")
    editor.get("/console/learn")
    before = (store_dump(ws), learned(ws))
    html = editor.post(f"/console/learn/{rid}/move", {"to": "nope"}, status=200).text
    assert "没有移动" in flash(html) and "nope" in flash(html)
    html = editor.post(f"/console/learn/{rid}/move", {"to": "  "}, status=200).text
    assert "请填写要移到的条目编号" in flash(html)
    html = editor.post(f"/console/learn/{rid}/reset", status=200).text  # nothing decided yet
    assert "没有完成" in flash(html)
    html = editor.post("/console/learn/999/approve", status=200).text
    assert "没有完成" in flash(html) and "999" in flash(html)
    assert (store_dump(ws), learned(ws)) == before
    ws.kb().archive("ship", author="other")
    html = editor.post(f"/console/learn/{rid}/approve", status=200).text
    assert "没有完成：条目 ship 是已归档状态，不是已发布" in flash(html)
    assert learned(ws) == {"运费贵不贵": ("ship", "candidate")}


def test_a_refusal_is_flashed_red_as_an_alert_and_a_done_decision_is_not(editor, ws):
    """A refused move (没有移动：…) was flashed in the same pale yellow box as 已批准, easy
    to read past as done; it is now red and announced (role=alert), and only refusals are."""
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"))
    rid = row_id(ws, "运费贵不贵")
    editor.get("/console/learn")
    html = editor.post(f"/console/learn/{rid}/move", {"to": "nope"}, status=200).text
    assert "没有移动" in refused(html)
    html = editor.post(f"/console/learn/{rid}/approve", status=200).text
    assert "已批准「运费贵不贵」" in flash(html) and not refused(html) and 'role="alert"' not in html
    html = editor.post("/console/learn/trust", {"min_agents": "0"}, status=200).text
    assert "没有修改" in refused(html)
    html = editor.post("/console/huashu/0/delete", {"rev": "stale"}, status=200).text  # another editor saved
    assert "没有删除" in refused(html)
    css = editor.client.get("/static/kefu.css").text
    assert re.search(r"\.flash\.flash-error \{[^}]*color: #cf1322", css)


def test_a_refused_move_keeps_the_id_typed_in_its_open_form_and_echoes_nothing_else(editor, ws):
    """A mistyped target id (deliverry) was refused, and the queue came back with the move
    form closed and empty: the editor opened it and typed the id again whole. The row's
    form is open with the id as typed, marked for correction; nothing else the form
    posted (its hidden fields, the token) comes back into the page or its address. The
    field is labelled for what it asks: 移到的条目."""
    learn(ws, ("几天能到", "accept", "ship", "a1"), ("运费贵不贵", "accept", "ship", "a1"))
    rid, other = row_id(ws, "几天能到"), row_id(ws, "运费贵不贵")
    html = editor.get("/console/learn")
    assert re.search(rf'<label for="move-{rid}">移到的条目</label>\s*<input id="move-{rid}" name="to"', html)
    resp = editor.post(f"/console/learn/{rid}/move", {"to": "deliverry", "status": XSS, "page": "2<b>"}, follow=False)
    assert resp.status_code == 302 and resp.location.endswith("/console/learn?status=candidate")  # the tab known
    html = editor.get(resp.location)
    assert "没有移动" in refused(html) and "deliverry" in refused(html)
    row = re.search(rf'<tr id="learned-{rid}">(.*?)</tr>', html, re.S).group(1)
    assert '<details class="move" open>' in row
    assert re.search(r'name="to"[^>]*value="deliverry" aria-invalid="true" aria-describedby="flash-error"', row)
    assert XSS not in html and "&lt;script" not in html and "2&lt;b&gt;" not in html and "2<b>" not in html
    other_row = re.search(rf'<tr id="learned-{other}">(.*?)</tr>', html, re.S).group(1)
    assert "<details class=\"move\" >" in other_row and "deliverry" not in other_row
    html = editor.get("/console/learn")  # shown once
    assert "deliverry" not in html and "<details class=\"move\" open>" not in html
    resp = editor.post(f"/console/learn/{rid}/move", {"to": "x" * 5000}, follow=False)
    html = editor.get(resp.location)
    assert 'value="' + "x" * 64 + '"' in html and "x" * 65 not in html and "最长 64 个字符，填写的有 5000 个" in html
    editor.post(f"/console/learn/{rid}/move", {"to": "delivery"}, status=200)
    assert ws.learner().store.get(ws.learner().store.get(rid).moved_to).entry_id == "delivery"


def test_the_queue_names_an_agent_a_replayed_line_left_out_as_unnamed(editor, ws):
    """`kefu learn replay` of lines without "agent" credits nobody: the queue listed that
    agent as ?, beside the names (采纳：1 人 a1、?), which no editor can read."""
    learn(ws, ("运费贵不贵", "accept", "ship", None), ("能退吗亲", "accept", "return", "a1"),
          ("能退吗亲", "accept", "return", None), ("能退吗亲", "reject", "return", None))
    html = editor.get("/console/learn")
    ship = re.search(rf'<tr id="learned-{row_id(ws, "运费贵不贵")}">(.*?)</tr>', html, re.S).group(1)
    ret = re.search(rf'<tr id="learned-{row_id(ws, "能退吗亲")}">(.*?)</tr>', html, re.S).group(1)
    assert "采纳：1 人 <span class=\"muted\">未署名</span>" in ship
    assert "采纳：1 人 <span class=\"muted\">a1、未署名</span>" in ret
    assert "拒绝：1 人 <span class=\"muted\">未署名</span>" in ret
    assert "?" not in re.sub(r"<[^>]*>", "", ship + ret)


def test_a_move_to_an_id_typed_in_full_width_names_the_entry_as_stored(editor, ws):
    """An id typed with a Chinese input method (ｄｅｌｉｖｅｒｙ) is the entry delivery, and the
    move went there; its message named the entry as typed, which is no id the list shows."""
    learn(ws, ("几天能到", "accept", "ship", "a1"))
    rid = row_id(ws, "几天能到")
    editor.get("/console/learn")
    html = editor.post(f"/console/learn/{rid}/move", {"to": "ｄｅｌｉｖｅｒｙ"}, status=200).text
    assert "从条目 ship 移到 delivery（" in flash(html) and "ｄｅｌｉｖｅｒｙ" not in flash(html)
    assert ws.learner().store.get(ws.learner().store.get(rid).moved_to).entry_id == "delivery"

def test_a_row_another_editor_decided_meanwhile_is_refused_naming_its_state_in_chinese(editor, app, ws):
    """Two editors on one queue: the second's click on a row the first had decided was
    refused with 学习问法 #1 当前为 approved, and an undo of a decision the other had
    undone with 为 candidate: the library's status codes, not the tabs' names."""
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"))
    rid = row_id(ws, "运费贵不贵")
    other = Browser(app, "boss")
    editor.get("/console/learn")
    other.get("/console/learn")
    other.post(f"/console/learn/{rid}/approve", status=200)
    html = editor.post(f"/console/learn/{rid}/reject", status=200).text
    assert f"没有完成：学习问法 #{rid} 已批准，不能再拒绝：请先撤销那个决定" in flash(html)
    other.post(f"/console/learn/{rid}/reset", status=200)
    html = editor.post(f"/console/learn/{rid}/reset", status=200).text
    assert f"没有完成：学习问法 #{rid} 还在待审核，没有可撤销的决定" in flash(html)
    assert not re.search(r"candidate|approved|rejected", flash(html) + "".join(
        flash(editor.post(f"/console/learn/{rid}/{verb}", status=200).text) for verb in ("reject", "approve")))

def test_an_undo_on_the_row_a_move_made_names_the_row_whose_move_to_undo(editor, app, ws):
    # The row a move made lists as trusted in 待审核, holding no decision of its own: an undo
    # posted for it (a page loaded while another editor had it approved) names the row moved.
    learn(ws, ("几天能到货", "accept", "ship", "a1"), ("几天能到货", "accept", "ship", "a2"))
    rid = row_id(ws, "几天能到货")
    ws.learner().move(rid, "delivery", "boss")
    there = ws.learner().store.get(rid).moved_to
    ws.learner().approve(there, "boss")
    editor.get("/console/learn?status=approved")
    ws.learner().reset(there, "boss")
    html = editor.post(f"/console/learn/{there}/reset", status=200).text
    assert (f"没有完成：学习问法 #{there} 还在待审核，没有可撤销的决定：它是从 #{rid} 移来的，"
            "请在“已拒绝”页撤销那次移动") in flash(html)


def test_an_archived_entrys_candidate_is_marked_and_offers_no_approve(editor, ws):
    # As `kefu learn queue` marks it (approve needs a published entry; reject and move still apply).
    from helpers import entry_dict

    ws.kb().add(entry_dict("gift", f"送赠品吗{XSS}", "下单即送小样。"), author="seed")
    learn(ws, (f"有赠品吗{XSS}", "accept", "gift", "a1"), ("运费贵不贵", "accept", "ship", "a1"))
    ws.kb().archive("gift", author="other")
    html = editor.get("/console/learn")
    gift = re.search(rf'<tr id="learned-{row_id(ws, f"有赠品吗{XSS}")}">(.*?)</tr>', html, re.S).group(1)
    ship = re.search(rf'<tr id="learned-{row_id(ws, "运费贵不贵")}">(.*?)</tr>', html, re.S).group(1)
    assert "已归档" in gift and "条目已归档，不能批准：可拒绝或移到其他条目" in gift
    assert "/approve" not in gift and "/reject" in gift and "/move" in gift
    assert "已归档" not in ship and "/approve" in ship and "不能批准" not in ship
    assert "<script>" not in html and "有赠品吗&lt;script&gt;" in html and "送赠品吗&lt;script&gt;" in html


def test_the_trust_rule_is_described_as_counting_agents_not_clicks(editor, admin):
    # TrustRule compares how many different agents accepted and rejected, not the clicks.
    learn_page, settings = editor.get("/console/learn"), admin.get("/console/settings")
    assert "采纳的客服多于拒绝的客服" in learn_page and "采纳次数多于拒绝次数" not in learn_page
    assert "采用的客服多于拒绝的客服" in settings and "采用多于拒绝" not in settings


def test_trust_rule_form_waits_for_config_lock(editor, ws):
    """The settings page checks that nothing changed since it was loaded, then writes its
    rule, under config.json's lock; the learn page's form wrote the rule without it, so it
    could slip between the two and be overwritten without a word."""
    import threading

    done = []
    with ws._config_lock():  # what a settings save holds between its check and its write
        t = threading.Thread(target=lambda: done.append(
            editor.post("/console/learn/trust", {"min_agents": "5"}, status=200).text))
        t.start()
        t.join(1.0)
        assert not done and ws.learner().store.rule.min_agents == 2
    t.join(30)
    assert "已修改信任规则" in flash(done[0])
    assert ws.learner().store.rule.min_agents == 5


def test_trust_rule_form_sets_min_agents(editor, ws):
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"))
    assert ">已在使用</span>" not in editor.get("/console/learn")
    for bad in ("0", "abc", "", "²", "101", "150"):
        html = editor.post("/console/learn/trust", {"min_agents": bad}, status=200).text
        assert "没有修改：客服人数应为 1–100 之间的整数" in flash(html)
    assert ws.learner().store.rule.min_agents == 2
    # The settings page takes the same numbers: what one page sets, the other can save.
    html = editor.post("/console/learn/trust", {"min_agents": "100"}, status=200).text
    assert "已修改信任规则" in flash(html) and 'min="1" max="100"' in html
    html = editor.post("/console/learn/trust", {"min_agents": "1"}, status=200).text
    assert "已修改信任规则" in flash(html)
    assert ws.learner().store.rule.min_agents == 1
    assert ">已在使用</span>" in html and "至少 <strong>1</strong> 位" in html
    assert search_ids(editor, "运费贵不贵")[0] == "ship"  # a trusted phrasing is searchable


def usage_log(ws) -> None:
    """Five suggestions with known outcomes: ship accepted once and edited twice the same
    way (99 → 59), invoice rejected, one no-match reported."""
    log = ws.feedback_log()
    ship = [{"text": "满99元包邮。", "entry_ids": ["ship"], "style": "warm"}]
    invoice = [{"text": "可以开电子发票。", "entry_ids": ["invoice"], "style": "warm"}]
    for message, drafts, no_match, action, text, agent in (
            ("运费怎么算", ship, False, "accept", None, "a1"),
            ("运费多少", ship, False, "edit", "满59元包邮。", "a2"),
            ("运费咋算", ship, False, "edit", "满59元包邮。", "a1"),
            ("发票呢", invoice, False, "reject", None, "a2"),
            ("能用花呗吗", [], True, "no_match", None, "a1")):
        hits = [{"id": d["entry_ids"][0]} for d in drafts]
        sid = log.record_suggestion(message, [], "simplified", "presale", no_match, hits, drafts)
        ws.record_feedback(sid, action, None if no_match else 1, text, agent)


def test_stats_page_shows_the_numbers(editor, ws, local_zone):
    usage_log(ws)
    html = editor.get("/console/stats")
    figures = dict(re.findall(r'<strong id="stat-(\w+)">([^<]*)</strong>', html))
    assert figures == {"shown": "5", "acted": "5", "first": "20.0%", "any": "20.0%", "edited": "40.0%",
                       "nomatch": "20.0%"}
    assert dict(re.findall(r'<td id="action-(\w+)">(\d+)</td>', html)) == \
        {"accept": "1", "edit": "2", "reject": "1", "no_match": "1"}
    assert re.search(r'<td><a class="mono" href="/console/entries/ship">ship</a></td><td>运费怎么算</td>'
                     r'<td>3</td><td>0</td>', html)
    # by category: shown (suggestions whose top entry is in it), then the actions
    assert re.search(r'<tr><td>售前</td><td>3</td><td>1</td><td>2</td><td>0</td><td>0</td></tr>', html)
    assert re.search(r'<tr><td>了解需求</td><td>5</td><td>1</td><td>2</td><td>1</td><td>1</td></tr>', html)
    never = html[html.index("从未被采纳的条目"):]
    assert "共 4 条" in never and 'href="/console/entries/invoice"' in never and "/entries/ship" not in never
    # One day: the busiest, so its bar is full width; no script or remote resource draws it.
    # 5 shown and 5 actions: the agents' one no-match report, not kefu's flag besides it
    # (which made it 6, counting one message twice).
    assert re.findall(r'<div class="bar shown" style="width: ([\d.]+)%">', html) == ["100.0"]
    stack = [float(w) for w in re.findall(r'<span class="s-\w+" style="width: ([\d.]+)%"', html)]
    assert len(stack) == 4 and abs(sum(stack) - 100) < 0.2
    assert "http://" not in html and "https://" not in html
    # kefu's own no-match flags have their column beside the agents' reports
    assert re.search(r'<td class="nowrap">[\d-]+</td><td>5</td><td>1</td>', html)
    # ... under their own names: the headline rate is kefu's flag, the action is the agents' report
    label = re.search(r'<span class="label">([^<]*)</span><strong id="stat-nomatch">', html).group(1)
    reported = re.search(r'<tr><td>([^<]*)</td><td id="action-no_match">', html).group(1)
    heads = re.search(r'<thead><tr><th>日期</th>(.*?)</tr></thead>', html).group(1)
    assert label == "助手判定无答案" and reported == "客服报告无答案" and label != reported
    assert re.findall(r'<th>([^<]*无答案)</th>', heads) == [label, reported]
    # The since filter.
    later = editor.get("/console/stats?since=2999-01-01")
    assert '<strong id="stat-shown">0</strong>' in later and 'value="2999-01-01"' in later
    bad = editor.get("/console/stats?since=yesterday")
    assert "日期格式不对" in bad and '<strong id="stat-shown">5</strong>' in bad
    # the link back to all time and the error saying it is shown, not a second 全部时间 label
    assert '<span class="muted">全部时间</span>' not in bad and '<span class="muted">全部时间</span>' in html
    assert re.search(r'<span class="error" role="alert">[^<]*已忽略，下面是全部时间的</span>', bad)
    # YYYY-MM-DD only, as the CLI's --since, and a day that cannot be a UTC moment is the
    # page's own message, not an error page.
    for typed in ("20261130", "2026-W48"):
        bad = editor.get(f"/console/stats?since={typed}")
        assert "日期格式不对" in bad and '<strong id="stat-shown">5</strong>' in bad
    local_zone("Asia/Shanghai")  # east of Greenwich: its midnight of year 1 is in year 0 in UTC
    bad = editor.get("/console/stats?since=0001-01-01")
    assert "日期超出范围" in bad and '<strong id="stat-shown">5</strong>' in bad


def test_stats_page_counts_again_only_once_something_was_logged_or_an_entry_changed(editor, ws, monkeypatch):
    """On a year's log the figures took seconds on every load of the page, the same each
    time: they are kept in the store until the log or the entries move on."""
    import kefu.suggest.stats as stats

    counted = []
    usage = stats.usage_of
    monkeypatch.setattr(stats, "usage_of", lambda *a, **kw: counted.append(1) or usage(*a, **kw))
    usage_log(ws)
    shown = re.compile(r'<strong id="stat-shown">(\d+)</strong>')
    first = editor.get("/console/stats")
    assert shown.search(first).group(1) == "5" and len(counted) == 1
    # (the retention line names now minus the kept days, to the minute: a load a minute
    # later shows another time with the same counts; the CSRF token is signed with the
    # second it was made, so a load in the next second carries another one)
    changing = re.compile(r'<p class="muted" id="kept-from">.*?</p>|(?<=name="csrf-token" content=")[^"]*'
                          r'|(?<=name="csrf_token" value=")[^"]*')
    assert changing.sub("", editor.get("/console/stats")) == changing.sub("", first) and len(counted) == 1
    ws.feedback_log().record_suggestion("包邮吗", [], "simplified", "presale", False, [], [])
    assert shown.search(editor.get("/console/stats")).group(1) == "6" and len(counted) == 2
    ws.kb().archive("ship", author="editor")
    assert "已归档" in editor.get("/console/stats") and len(counted) == 3
    assert '<strong id="stat-shown">0</strong>' in editor.get("/console/stats?since=2999-01-01")
    assert len(counted) == 4  # another period


def suggest_while_held(editor, monkeypatch, module, name: str, path: str):
    """Load `path` in another thread, holding it inside `module.name` (a slow count), and
    ask for a suggestion meanwhile: its response, whether each hold was let go in time
    (False: the suggestion waited for it), and the page loaded."""
    import threading

    holding, released, waited, pages = threading.Event(), threading.Event(), [], []
    counted = getattr(module, name)

    def slow(*a, **kw):
        holding.set()
        waited.append(released.wait(timeout=20))  # False: the suggestion below waited for it
        return counted(*a, **kw)

    monkeypatch.setattr(module, name, slow)
    loading = threading.Thread(target=lambda: pages.append(editor.get(path)))
    loading.start()
    assert holding.wait(timeout=20)
    resp = editor.api("POST", "/api/suggest", json={"message": "包邮吗"})
    released.set()
    loading.join()
    return resp, waited, pages


def test_a_suggestion_does_not_wait_for_the_statistics_being_counted(editor, ws, monkeypatch):
    """The figures are counted outside the lock that every request of the process takes:
    on a year's log the panel's suggestions waited seconds for a load of 统计."""
    import kefu.suggest.stats as stats

    usage_log(ws)
    resp, waited, pages = suggest_while_held(editor, monkeypatch, stats, "usage_of", "/console/stats")
    assert resp.status_code == 200 and resp.get_json()["hits"][0]["id"] == "ship"
    assert waited == [True] and 'id="stat-shown"' in pages[0]


def test_a_suggestion_does_not_wait_for_the_answer_drift_being_aligned(editor, ws, monkeypatch):
    """缺口's answer drift (difflib over a year's edits: seconds) is aligned outside the lock too."""
    import kefu.suggest.gaps as gaps

    resp, waited, pages = suggest_while_held(editor, monkeypatch, gaps, "answer_drift", "/console/gaps")
    assert resp.status_code == 200 and waited == [True] and pages


@pytest.mark.parametrize("path", ["/console/gaps", "/console/stats"])
def test_a_suggestion_does_not_wait_for_the_gaps_being_mined(editor, ws, monkeypatch, path):
    """After a new no-match message a load of 缺口 or 统计 mines the gaps again: reading a
    year's gap messages and clustering them held the lock ~5 s, and the panel's suggestions
    in that worker waited. Only what needs the models or the index is done inside it."""
    import kefu.suggest.gaps as gaps

    log = ws.feedback_log()
    for message in ("可以用花呗付款吗", "可以用花呗付款吗", "能用花呗付款吗"):
        log.record_suggestion(message, [], "simplified", "presale", True, [], [])
    resp, waited, pages = suggest_while_held(editor, monkeypatch, gaps, "mine_gaps", path)
    assert resp.status_code == 200 and resp.get_json()["hits"][0]["id"] == "ship"
    assert waited == [True] and "花呗" in pages[0]


def test_kept_statistics_follow_a_validity_window_that_opened_and_closed_since(editor, ws, monkeypatch):
    """An entry's window opening and closing writes nothing, and no message may come in
    between: the kept figures must still count it as the window now stands."""
    import kefu.kb.entry as entry

    day = datetime.now().date()
    ws.kb().update("invoice", {"valid_from": str(day + timedelta(days=1)), "valid_to": str(day + timedelta(days=2))},
                   author="editor")
    never = re.compile(r'href="/console/entries/(\w+)"')

    def listed() -> list[str]:
        html = editor.get("/console/stats")
        return never.findall(html[html.index("从未被采纳的条目"):])

    assert "invoice" not in listed()  # not begun: it could not have been accepted

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(days=4)

    monkeypatch.setattr(entry, "datetime", Later)
    assert "invoice" in listed()  # begun (and ended): suggestible at some moment of all time


def test_stats_page_lists_a_bounded_number_of_never_used_entries(editor, ws):
    """A shop of thousands of entries, most never accepted yet: the page listed every one
    of them (6,400 rows, 780 KB of HTML at 8,000 entries). It names the count and lists
    the first ones by id, as `kefu stats` does."""
    from kefu.web.learn_pages import STATS_NEVER_USED_SHOWN

    ws.kb().import_entries([{"id": f"n{i:04d}", "question": f"第{i}号商品有现货吗", "answer": "有现货。"}
                            for i in range(250)])
    html = editor.get("/console/stats")
    never = html[html.index("从未被采纳的条目"):]
    listed = re.findall(r'href="/console/entries/([^"]+)"', never)
    assert "共 255 条" in never
    assert len(listed) == STATS_NEVER_USED_SHOWN
    assert listed == sorted(listed) and listed[0] == "delivery"
    assert f"只列出按编号排序的前 {STATS_NEVER_USED_SHOWN} 条" in never


def test_stats_page_gives_no_rate_of_nothing(editor, ws):
    """With nothing acted on or shown, the page said 0.0% accepted and 0.0% no match, as if
    agents had turned every draft down."""
    figures = dict(re.findall(r'<strong id="stat-(\w+)">([^<]*)</strong>', editor.get("/console/stats")))
    assert figures == {"shown": "0", "acted": "0", "first": "—", "any": "—", "edited": "—", "nomatch": "—"}
    # a greeting alone is shown, but no message asked anything: still no no-match rate
    ws.feedback_log().record_suggestion("你好", [], "simplified", "greeting", True, [], [])
    figures = dict(re.findall(r'<strong id="stat-(\w+)">([^<]*)</strong>', editor.get("/console/stats")))
    assert (figures["shown"], figures["nomatch"], figures["first"]) == ("1", "—", "—")


def test_stats_page_marks_an_archived_top_entry(editor, ws):
    """As `kefu stats` does (已归档): the page listed it like a published one."""
    usage_log(ws)
    ws.kb().archive("ship", author="editor")
    html = editor.get("/console/stats")
    top = html[html.index("最常用的条目"):html.index("按分类")]
    assert re.search(r'/console/entries/ship">ship</a></td><td>运费怎么算 <span class="badge archived">已归档</span>', top)
    assert "已归档" not in top.replace('运费怎么算 <span class="badge archived">已归档', "")


def test_stats_page_marks_a_top_entry_taken_back_to_draft(editor, ws):
    """As it marks an archived one: a draft top entry looked live."""
    usage_log(ws)
    ws.kb().update("ship", {"status": "draft"}, author="editor")
    top = editor.get("/console/stats")
    top = top[top.index("最常用的条目"):top.index("按分类")]
    assert re.search(r'/console/entries/ship">ship</a></td><td>运费怎么算 <span class="badge draft">草稿</span>', top)


def test_stats_page_says_what_retention_left_out(editor, ws):
    html = editor.get("/console/stats?since=2020-01-01")
    assert re.search(r"记录只保留最近 90 天：统计从 [\d-]+ [\d:]+ 起，更早的不计入", html)


def test_stats_page_says_the_no_match_rate_leaves_greetings_out(editor, ws):
    """The note said the rate was of the suggestions shown, while greetings and thanks are
    left out of it: one 你好 flagged and one question answered is 0.0%, not the 50% the note promised."""
    log = ws.feedback_log()
    log.record_suggestion("你好", [], "simplified", "greeting", True, [], [])
    log.record_suggestion("运费多少", [], "simplified", "presale", False, [{"id": "ship"}], [])
    html = editor.get("/console/stats")
    assert '<strong id="stat-nomatch">0.0%</strong>' in html
    assert re.search(r"助手判定无答案的比例按展示的建议计算（[^）]*问候和感谢不计", html)


def test_stats_page_lists_the_top_gaps(editor, ws):
    log = ws.feedback_log()
    for message in ("可以用花呗付款吗", "可以用花呗付款吗", "能用花呗付款吗"):
        log.record_suggestion(message, [], "simplified", "presale", True, [], [])
    html = editor.get("/console/stats")
    section = html[html.index('id="top-gaps"'):html.index("从未被采纳的条目")]
    assert re.search(r"<tr><td>[^<]*花呗[^<]*</td><td>3</td>", section), section
    assert 'href="/console/gaps"' in section


def test_gap_pages_embed_a_bounded_number_of_new_messages_a_load(editor, ws, monkeypatch):
    from kefu.web import learn_pages

    monkeypatch.setattr(learn_pages, "GAP_ENCODE", 1)
    log = ws.feedback_log()
    for message in ("可以用花呗付款吗", "可以用花呗付款吗", "能用花呗付款吗"):
        log.record_suggestion(message, [], "simplified", "presale", True, [], [])
    ws.embedder.encoded.clear()
    html = editor.get("/console/stats")
    section = html[html.index('id="top-gaps"'):html.index("从未被采纳的条目")]
    assert "正在计算：已处理 1 / 2 条消息" in section and "花呗" not in section
    asked = ("可以用花呗付款吗", "能用花呗付款吗")
    assert sorted(ws.embedder.encoded.count(t) for t in asked) == [0, 1]
    assert "正在计算：已处理 2 / 2" not in editor.get("/console/gaps")  # the last one: then mined
    html = editor.get("/console/stats")
    section = html[html.index('id="top-gaps"'):html.index("从未被采纳的条目")]
    assert re.search(r"<tr><td>[^<]*花呗[^<]*</td><td>3</td>", section), section
    assert [ws.embedder.encoded.count(t) for t in asked] == [1, 1]  # each embedded once, over the loads


def test_gaps_page_suggests_entries_and_prefills_the_create_form(editor, ws):
    learn(ws, ("可以用花呗付款吗", "no_match", None, "a1"), ("可以用花呗付款吗", "no_match", None, "a2"),
          ("能用花呗付款吗", "no_match", None, "a2"), ("完全无关的一句话", "no_match", None, "a1"),
          ("密码忘了咋办", "reject", "password", "a1"), ("密码忘了咋办", "reject", "password", "a2"))
    usage_log(ws)
    html = editor.get("/console/gaps")
    gap = re.search(r'<article class="card gap">(.*?)</article>', html, re.S).group(1)
    assert "<h3>可以用花呗付款吗</h3>" in gap and "3 条消息" in gap and "无匹配 3" in gap
    assert "<li>能用花呗付款吗</li>" in gap
    assert "完全无关的一句话" not in html  # asked once: noise, not a gap
    assert re.search(r'被拒 2.*被拒的条目：\s*<a class="mono" href="/console/entries/password">password</a> ×2',
                     html, re.S)
    # Answer drift: two edits made the same change to ship's draft.
    drift = html[html.index("答案可能需要更新"):]
    assert 'href="/console/entries/ship"' in drift and "59" in drift

    link = re.search(r'href="(/console/entries/new\?[^"]+)">新建条目', gap).group(1).replace("&amp;", "&")
    form = editor.get(link)
    assert 'id="f-question" name="question" value="可以用花呗付款吗"' in form
    assert 'name="similar" value="能用花呗付款吗"' in form
    assert '<option value="draft" selected>' in form
    before = ws.kb().store.count()
    editor.post(link, entry_form(question="可以用花呗付款吗", similar=["能用花呗付款吗"],
                                 answer="支持花呗。", status="draft"), status=200)
    assert ws.kb().store.count() == before + 1
    assert ws.kb().store.entries(text="花呗")[0].status == "draft"

    assert "没有发现缺失的答案" in editor.get("/console/gaps?since=2999-01-01")


def test_gaps_page_says_whether_it_lists_them_all(editor, ws, monkeypatch):
    # "前 2 个" with only 2 gaps read as the top of a longer list.
    import kefu.web.learn_pages as pages

    learn(ws, ("可以用花呗付款吗", "no_match", None, "a1"), ("能用花呗付款吗", "no_match", None, "a2"),
          ("密码忘了咋办", "reject", "password", "a1"), ("密码忘了咋办", "reject", "password", "a2"))
    html = editor.get("/console/gaps")
    assert html.count('<article class="card gap">') == 2 and "<small>共 2 个，" in html and "前 2 个" not in html
    monkeypatch.setattr(pages, "GAP_LIMIT", 1)
    html = editor.get("/console/gaps")
    assert html.count('<article class="card gap">') == 1 and "<small>前 1 个，另有更多未列出，" in html


def test_gap_prefill_leaves_out_the_details_kefu_masked(editor, ws):
    """The 新建条目 form got "我手机【手机号】收不到验证码" as the standard question: saved,
    the mask label became part of the entry, which a learned phrasing never lets happen."""
    learn(ws, ("我手机13812345678收不到验证码", "no_match", None, "a1"),
          ("我手机13912345678收不到验证码", "no_match", None, "a2"),
          ("亲，我手机13712345678收不到验证码啊", "no_match", None, "a2"))
    html = editor.get("/console/gaps")
    assert "【手机号】" in html  # the page shows the messages as logged
    link = re.search(r'href="(/console/entries/new\?[^"]+)">新建条目', html).group(1).replace("&amp;", "&")
    form = editor.get(link)
    assert 'id="f-question" name="question" value="我手机收不到验证码"' in form
    assert "【" not in unquote(link)


def test_gap_prefill_takes_a_message_that_loses_nothing_as_the_question(editor, ws):
    """The representative's number left out made 我手机 收不到验证码 the new entry's standard
    question, beside a message of the gap that had nothing to leave out."""
    learn(ws, ("我手机13812345678 收不到验证码", "no_match", None, "a1"),
          ("我手机13912345678 收不到验证码", "no_match", None, "a2"),
          ("手机收不到验证码", "no_match", None, "a2"))
    html = editor.get("/console/gaps")
    link = re.search(r'href="(/console/entries/new\?[^"]+)">新建条目', html).group(1).replace("&amp;", "&")
    form = editor.get(link)
    assert 'id="f-question" name="question" value="手机收不到验证码"' in form
    assert 'name="similar" value="我手机 收不到验证码"' in form and "【" not in unquote(link)


def test_gap_prefill_leaves_out_what_the_chat_app_pasted(editor, ws):
    """A product link and a sticker pasted with the question went into the new entry."""
    learn(ws, ("https://item.taobao.com/item.htm?id=678901234567 能刻字吗[微笑]", "no_match", None, "a1"),
          ("https://item.taobao.com/item.htm?id=678901234599 能刻字吗[微笑]", "no_match", None, "a2"),
          ("@小禾 https://item.taobao.com/item.htm?id=678901234511 能刻字吗[微笑]", "no_match", None, "a2"))
    html = editor.get("/console/gaps")
    link = re.search(r'href="(/console/entries/new\?[^"]+)">新建条目', html).group(1).replace("&amp;", "&")
    assert 'id="f-question" name="question" value="能刻字吗"' in editor.get(link)
    assert "http" not in unquote(link) and "微笑" not in unquote(link)


def test_gap_link_stays_short_with_long_examples(editor, ws):
    """The prefill travels in the URL: long examples are left out rather than making a
    request line servers refuse."""
    base = "请问你们店铺可以用花呗分期付款吗我想买那件外套" * 2
    messages = [base, base] + [base + n for n in "一二三四五"] + [base * 3]
    learn(ws, *[(m, "no_match", None, "a1") for m in messages])
    html = editor.get("/console/gaps")
    link = re.search(r'href="(/console/entries/new\?[^"]+)">新建条目', html).group(1).replace("&amp;", "&")
    shown = len(re.findall(r"<li>", html))
    assert len(link) <= 2500 and 0 < link.count("&similar=") < shown
    similar = [unquote(v) for v in re.findall(r"&similar=([^&]+)", link)]
    assert all(len(v) <= 100 for v in similar)
    assert editor.get(link).count('name="similar" value="' + base) == len(similar)


def test_learning_pages_escape_customer_messages(editor, ws):
    ws.kb().add({"id": "xss", "question": f"问{XSS}", "answer": "答"})
    learn(ws, (f"运费{XSS}", "accept", "ship", "a1"), (f"问{XSS}", "accept", "xss", f"a{XSS}"),
          (f"没有{XSS}", "no_match", None, "a1"), (f"没有{XSS}", "no_match", None, "a2"))
    pages = [editor.get(path) for path in LEARN_PAGES]
    editor.post(f"/console/learn/{row_id(ws, f'运费{XSS}')}/reject", status=200)
    pages.append(editor.get("/console/learn?status=rejected"))
    for html in pages:
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# -- settings (admin) ---------------------------------------------------------------------

def test_admin_settings_are_saved_and_take_effect(admin, ws, app):
    from kefu.web.state import assistant

    html = admin.get("/console/settings")
    assert "boss" in html and "退出登录" in html  # the console's navigation, with the user
    assert 'value="s2twp" selected' in html and 'value="90"' in html and 'value="2"' in html
    saved = admin.post("/console/settings", {"traditional": "s2hk", "retention_days": "30", "min_agents": "3",
                                              "allowed_origins": "https://chat.example.com\nhttp://desk.local:3000/\n"},
                       status=200).text
    assert "设置已保存" in saved and 'value="s2hk" selected' in saved and 'value="30"' in saved
    assert {k: ws.config()[k] for k in ("traditional", "retention_days", "allowed_origins")} == {
        "traditional": "s2hk", "retention_days": 30,
        "allowed_origins": ["https://chat.example.com", "http://desk.local:3000"]}
    assert ws.learner().store.rule.min_agents == 3
    csp = app.test_client().get("/embed").headers["Content-Security-Policy"]
    assert csp == "frame-ancestors 'self' https://chat.example.com http://desk.local:3000"
    with app.test_request_context():
        a = assistant()
        assert a.composer.traditional == "s2hk" and a.log.retention_days == 30
    (ws.home / "config.json").write_text("{oops", encoding="utf-8")  # hand-edited and broken
    embed = app.test_client().get("/embed")
    assert embed.status_code == 200 and embed.headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_settings_saved_by_someone_else_since_the_page_was_loaded_are_not_overwritten(admin, ws):
    """Two admins on the settings page (or the page and `kefu learn config`): the second
    save wrote back every value its form was loaded with, silently undoing the first's
    allowed origin and trust rule. The form carries a fingerprint of what it showed."""
    from kefu.kb.learned import TrustRule

    html = admin.get("/console/settings")
    rev = re.search(r'name="rev" value="([^"]+)"', html).group(1)
    ws.update_config(lambda config: {**config, "allowed_origins": ["https://chat.example.com"]})  # another admin
    mine = {"traditional": "s2hk", "retention_days": "30", "min_agents": "2", "allowed_origins": "", "rev": rev}
    html = admin.post("/console/settings", mine, status=409).text
    assert "设置已被他人修改" in html and "没有保存" in html and 'value="s2hk" selected' in html
    assert ws.config()["allowed_origins"] == ["https://chat.example.com"] and "traditional" not in ws.config()
    admin.post("/console/settings", mine, status=409)  # still the page it was loaded as
    ws.learner().set_trust(TrustRule(3))  # `kefu learn config --min-agents 3` meanwhile
    html = admin.get("/console/settings")
    rev = re.search(r'name="rev" value="([^"]+)"', html).group(1)
    assert admin.post("/console/settings", {**mine, "rev": rev, "min_agents": "3",
                                             "allowed_origins": "https://chat.example.com"}, status=200)
    assert ws.config()["traditional"] == "s2hk" and ws.learner().store.rule.min_agents == 3
    ws.learner().set_trust(TrustRule(4))
    admin.post("/console/settings", {**mine, "rev": rev, "min_agents": "3"}, status=409)
    assert ws.learner().store.rule.min_agents == 4


def test_two_workers_saving_the_trust_rule_at_once_do_not_overwrite_each_other(admin, ws, monkeypatch):
    """The stale check covered the trust rule, but the rule was written after config.json,
    outside its lock: a second worker saving in between passed the check, and the first
    then wrote its rule over the second's without a word. Checked and written in one step."""
    ws2 = Workspace(ws.home, embedders=[FakeEmbedder()])
    admin2 = Browser(create_app({"TESTING": True, "SECRET_KEY": "t"}, workspace=ws2), "boss")
    form = {"traditional": "s2twp", "retention_days": "90", "allowed_origins": ""}
    rev = re.search(r'name="rev" value="([^"]+)"', admin.get("/console/settings")).group(1)
    assert rev == re.search(r'name="rev" value="([^"]+)"', admin2.get("/console/settings")).group(1)
    real, second = Workspace.update_config, {}

    def update_config(self, change):  # worker 1 has written config.json: worker 2 saves then
        out = real(self, change)
        if self is ws and not second:
            second["save"] = admin2.post("/console/settings", {**form, "min_agents": "5", "rev": rev})
        return out
    monkeypatch.setattr(Workspace, "update_config", update_config)
    admin.post("/console/settings", {**form, "min_agents": "3", "rev": rev}, status=200)
    assert second["save"].status_code == 409 and "设置已被他人修改" in second["save"].text
    assert ws.learner().store.rule.min_agents == 3 and ws2.learner().store.rule.min_agents == 3
    ws2.close()


def test_config_json_written_by_several_processes_at_once_is_one_of_theirs(tmp_path):
    """The settings page in two workers, or beside `kefu learn finetune`: every writer of
    config.json went through one config.json.tmp, so one moved another's file away
    (FileNotFoundError: the save failed with a 500) or put a half-written one in place."""
    import threading

    for n in range(20):
        home, errors = tmp_path / f"home{n}", []
        together = threading.Barrier(3)

        def save(days):
            ws = Workspace(home)
            together.wait()
            try:
                ws.write_config({"retention_days": days})
            except OSError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=save, args=(days,)) for days in (30, 60, 90)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and Workspace(home).config()["retention_days"] in (30, 60, 90)
        assert sorted(p.name for p in home.iterdir()) == ["config.json"]


def test_settings_take_full_width_digits_as_the_digits_they_show(admin, editor, ws):
    """３０ typed with a Chinese input method was refused as 请填写 1–3650 之间的整数 for the
    days kept and the agents a learned phrasing needs, where ids and dates take full-width
    digits; other characters that only look like digits still are refused."""
    html = admin.post("/console/settings", {"traditional": "s2twp", "retention_days": "３０", "min_agents": "\u3000３ ",
                                             "allowed_origins": ""}, status=200).text
    assert "设置已保存" in html and 'value="30"' in html
    assert ws.config()["retention_days"] == 30 and ws.learner().store.rule.min_agents == 3
    html = admin.post("/console/settings", {"traditional": "s2twp", "retention_days": "²", "min_agents": "٣",
                                             "allowed_origins": ""}, status=400).text
    assert html.count('class="error field-error"') == 2
    html = editor.post("/console/learn/trust", {"min_agents": "４"}, status=200).text
    assert "已修改信任规则" in html and ws.learner().store.rule.min_agents == 4


def test_bad_settings_are_refused_field_by_field_and_nothing_is_saved(admin, ws):
    before = ws.config()
    html = admin.post("/console/settings", {"traditional": "s2xx", "retention_days": "0", "min_agents": "x",
                                             "allowed_origins": "chat.example.com/path"}, status=400).text
    assert html.count('class="error field-error"') == 4
    assert "<textarea" in html and "chat.example.com/path" in html  # what was typed stays
    assert ws.config() == before and ws.learner().store.rule.min_agents == 2


@pytest.mark.parametrize("bad", ["https://chat.example.com：8443", "http://*", "https://a.example;script-src",
                                 "https://a b.example", "https://*.example.com", "javascript://x", "https://a.example:0"])
def test_an_origin_that_would_break_or_loosen_the_embed_header_is_refused_naming_its_line(admin, ws, app, bad):
    """The origins go into /embed's Content-Security-Policy: a non-Latin-1 character made
    every /embed a 500, and '*', ';' or a space let other sites frame the panel."""
    before = ws.config()
    html = admin.post("/console/settings", {"traditional": "s2twp", "retention_days": "90", "min_agents": "2",
                                             "allowed_origins": f"https://chat.example.com\n{bad}"}, status=400).text
    assert html.count('class="error field-error"') == 1 and "第 2 行" in html
    assert ws.config() == before


def test_an_idn_origin_is_saved_in_punycode_and_embed_still_answers(admin, ws, app):
    admin.post("/console/settings", {"traditional": "s2twp", "retention_days": "90", "min_agents": "2",
                                      "allowed_origins": "https://客服.Example.com:8443"}, status=200)
    assert ws.config()["allowed_origins"] == ["https://xn--ubtq9x.example.com:8443"]
    embed = app.test_client().get("/embed")
    assert embed.status_code == 200
    assert embed.headers["Content-Security-Policy"] == "frame-ancestors 'self' https://xn--ubtq9x.example.com:8443"
    ws.write_config({**ws.config(), "allowed_origins": ["http://*"]})  # saved before origins were checked
    assert app.test_client().get("/embed").headers["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_origins_written_by_hand_as_one_string_show_one_per_line(admin, ws, app):
    """config.json's allowed_origins may be a comma-separated string, which the panel and
    /embed use; the settings page joined its characters, one per line (h, t, t, p, …), so
    the admin's next save was refused at line 1 until the box was cleared."""
    ws.write_config({**ws.config(), "allowed_origins": "https://chat.example.com, http://desk.local:3000"})
    assert app.test_client().get("/embed").headers["Content-Security-Policy"] == \
        "frame-ancestors 'self' https://chat.example.com http://desk.local:3000"
    html = admin.get("/console/settings")
    assert ">https://chat.example.com\nhttp://desk.local:3000</textarea>" in html
    saved = admin.post("/console/settings", {"traditional": "s2twp", "retention_days": "90", "min_agents": "2",
                                              "allowed_origins": "https://chat.example.com\nhttp://desk.local:3000"},
                       status=200).text
    assert "设置已保存" in saved
    assert ws.config()["allowed_origins"] == ["https://chat.example.com", "http://desk.local:3000"]


def test_digits_python_reads_as_digits_but_int_cannot_are_refused_not_a_500(admin, ws):
    before = ws.config()
    html = admin.post("/console/settings", {"traditional": "s2twp", "retention_days": "²", "min_agents": "2",
                                             "allowed_origins": ""}, status=400).text
    assert html.count('class="error field-error"') == 1 and ws.config() == before
    assert "ship" in admin.get("/console/?page=²")  # the first page
    admin.get("/console/entries/ship/history")
    assert admin.post("/console/entries/ship/revert", {"version": "¹"}, status=400)


def test_numbers_too_big_for_sqlite_are_a_missing_version_or_phrasing_not_a_500(editor, ws):
    huge = "99999999999999999999999"
    html = editor.post("/console/entries/ship/revert", {"version": huge, "current": "1"}, status=404).text
    assert f"条目 ship 没有第 {huge} 版" in html
    for action, data in (("approve", {}), ("reject", {}), ("move", {"to": "ship"})):
        html = editor.post(f"/console/learn/{huge}/{action}", data, status=200).text
        assert f"没有编号为 {huge} 的学习问法" in html


# -- a form posted after the login ended or changed (CSRF) --------------------------------------

def _log_in_again(browser: Browser) -> str:
    """Log out and in again, as another tab would: the page's token goes stale. Returns it."""
    stale = browser.token
    browser.post("/logout", status=200)
    browser.get("/login")
    browser.post("/login", data={"name": "ed", "password": PASSWORD}, status=200)
    browser.token = stale
    return stale


def test_an_entry_form_posted_after_a_login_elsewhere_for_a_missing_entry_is_a_chinese_404(editor):
    editor.get("/console/entries/ship")
    _log_in_again(editor)
    html = editor.post("/console/entries/nope", entry_form(question="问", answer="答", version="1"), status=404).text
    assert "没有编号为 nope 的条目" in html and "Internal Server Error" not in html


def test_a_new_entry_posted_after_a_login_elsewhere_comes_back_filled_in(editor, ws):
    editor.get("/console/entries/new")
    _log_in_again(editor)
    form = entry_form(question="可以寄到新加坡吗", answer="刚刚打好的一段很长的答案。", similar=["新加坡能发货吗"])
    html = editor.post("/console/entries/new", form, status=400).text
    assert "登录已过期或在别处重新登录" in html and "CSRF" not in html
    assert "刚刚打好的一段很长的答案。" in html and 'value="新加坡能发货吗"' in html
    assert ws.kb().store.count(text="新加坡") == 0
    # The form came back with the current session's token: one more click saves it.
    assert "已新建条目" in editor.post("/console/entries/new", form, status=200).text


def test_a_form_posted_from_another_origin_does_not_come_back_ready_to_save(editor, ws):
    """A form failing its CSRF check came back filled in with a valid token whatever page
    posted it: a page of another origin on the same site (a help desk at chat.shop.example
    beside kefu.shop.example gets the SameSite=Lax cookie) could post an entry without a
    token, and one click of the editor's saved it. Its text is only shown, to copy."""
    form = {**entry_form(question="退款加微信", answer="请加微信 fake123 办理退款"), "csrf_token": "forged"}
    resp = editor.client.post("/console/entries/new", data=form, headers={"Origin": "https://chat.shop.example"})
    assert resp.status_code == 400
    assert "请加微信 fake123 办理退款" in resp.text and "readonly" in resp.text
    assert 'name="question"' not in resp.text and ws.kb().store.count(text="fake123") == 0
    # The page's own origin, and a browser that sends no Origin, still get the form back.
    resp = editor.client.post("/console/entries/new", data=form, headers={"Origin": "http://localhost"})
    assert resp.status_code == 400 and 'name="question"' in resp.text


def test_an_edit_posted_after_a_login_elsewhere_keeps_its_text_and_version(editor, ws):
    editor.get("/console/entries/ship")
    _log_in_again(editor)
    form = entry_form(question="运费怎么算", answer="改过的运费答案", version="1")
    html = editor.post("/console/entries/ship", form, status=400).text
    assert "登录已过期或在别处重新登录" in html and "改过的运费答案" in html
    assert 'name="version" value="1"' in html
    # Someone else saves meanwhile: the retried edit is still refused, not saved over it.
    ws.kb().update("ship", {"answer": "别人的答案"}, author="other")
    editor.post("/console/entries/ship", form, status=409)
    assert ws.kb().store.get("ship").answer == "别人的答案"


def test_other_forms_posted_after_logout_show_what_was_typed_and_a_way_back(editor, ws):
    editor.get("/console/huashu/new")
    stale = editor.token
    editor.post("/logout", status=200)
    resp = editor.client.post("/console/huashu/save",
                              data={"csrf_token": stale, "id": "h900", "kind": "empathy", "text": "刚打的话术"},
                              headers={"Referer": "http://localhost/console/huashu/new"})
    html = resp.text
    assert resp.status_code == 400 and "登录已过期或在别处重新登录，请重新登录。" in html and "CSRF" not in html
    assert "刚打的话术" in html and "话术内容" in html
    assert 'href="/login?next=/console/huashu/new"' in html


def test_a_form_posted_after_a_new_password_ended_the_login_shows_what_was_typed(editor, ws):
    """A new password (or removing the user) ends the login on the server while the cookie,
    with its CSRF token, stays: the form passed its CSRF check and was redirected to the
    login page, losing the edit without a word."""
    editor.get("/console/entries/ship")
    ws.users().set_password("ed", "another-password")
    resp = editor.client.post("/console/entries/ship", data={"csrf_token": editor.token, **entry_form(
        question="运费怎么算", answer="刚改的答案", version="1")},
        headers={"Referer": "http://localhost/console/entries/ship"})
    html = resp.text
    assert resp.status_code == 400 and "登录已过期或在别处重新登录，请重新登录。" in html
    assert "刚改的答案" in html and 'href="/login?next=/console/entries/ship"' in html
    assert ws.kb().store.get("ship").version == 1
    assert editor.client.get("/console/entries/ship").status_code == 302  # a page still goes to the login


def test_values_typed_before_the_session_ended_are_shown_in_chinese(editor, admin):
    editor.get("/console/entries/ship")
    stale = editor.token
    editor.post("/logout", status=200)
    html = editor.client.post("/console/entries/ship", data={"csrf_token": stale, **entry_form(
        question="运费怎么算", answer="改过的答案", status="published")}).text
    assert re.search(r"状态\s*<textarea[^>]*>已发布</textarea>", html) and ">published<" not in html
    admin.get("/console/users")
    stale = admin.token
    admin.post("/logout", status=200)
    html = admin.client.post("/console/users/add", data={"csrf_token": stale, "name": "xiaomei", "role": "editor",
                                                     "shared": "1"}).text
    assert re.search(r"角色\s*<textarea[^>]*>编辑</textarea>", html) and ">editor<" not in html
    assert re.search(r"团队共用\s*<textarea[^>]*>是</textarea>", html)


def test_history_names_learning_changes_in_chinese(editor, ws):
    learn(ws, ("运费贵不贵", "accept", "ship", "a1"))
    editor.get("/console/learn")
    rid = row_id(ws, "运费贵不贵")
    editor.post(f"/console/learn/{rid}/approve", {"status": "candidate"}, status=200)
    editor.post(f"/console/learn/{rid}/reset", {"status": "approved"}, status=200)
    badges = re.findall(r'<span class="badge">([^<]*)</span>', editor.get("/console/entries/ship/history"))
    assert badges[:2] == ["撤销学习问法", "批准学习问法"]


def test_a_message_matched_by_its_end_only_says_so_in_chinese(editor):
    html = editor.get("/console/try?q=" + "我想问一下" * 120 + "运费怎么算")
    assert re.search(r"消息超过\d+字，只匹配了结尾部分", html) and "longer than" not in html


def test_a_long_pasted_message_is_hit_tested_by_post(editor):
    """~450 Chinese characters are ~4 KB once in a URL: gunicorn refused such a GET with
    its English "414 URI Too Long". Both hit-test forms post instead."""
    message = "您好，我上周在你们店里买了一件衣服，" * 25 + "请问邮费多少钱"
    page = editor.get("/console/try")
    assert re.search(r'<form method="post"[^>]*class="card try-form">\s*<input type="hidden" name="csrf_token"', page)
    html = editor.post("/console/try", {"q": message}, status=200).text
    assert "ship" in rows_of_hits(html) and message in html
    page = editor.get("/console/entries/ship")
    assert '<form method="post" class="card entry-form" id="entry-form" action="/console/entries/ship">' in page
    assert re.search(r'<form method="post" action="/console/try#try" class="try-form">', page)
    html = editor.post("/console/try", {"q": message, "entry": "ship"}, status=200).text
    assert "本条目排在 <strong>第 1 名</strong>" in html and "命中测试" in html
    assert '<form method="post" class="card entry-form" id="entry-form" action="/console/entries/ship">' in html
    editor.post("/console/try", {"q": message, "entry": "no-such-entry"}, status=404)
    # Posted with a stale token: the message comes back to copy, labelled in Chinese.
    resp = editor.client.post("/console/try", data={"csrf_token": "stale", "q": message, "entry": "ship"})
    assert resp.status_code == 400 and message in resp.text and "条目" in resp.text


def rows_of_hits(html: str) -> list[str]:
    return re.findall(r'<td class="mono"><a href="/console/entries/([^"]+)">', html)


def test_the_entry_form_warns_of_words_drafts_will_flag(editor):
    html = editor.post("/console/entries/new", entry_form(question="这款保温杯好吗", answer="全网最低价，保证正品。"),
                       status=200).text
    assert 'id="answer-flags"' in html and "保证（" in html
    assert 'id="answer-flags"' not in editor.get("/console/entries/ship")  # a plain answer: no warning


def test_try_it_says_what_the_panel_does_with_no_good_match(editor):
    """It promised 助手会先澄清, while the panel's first draft for no good match is a
    holding line (the clarifying or confirming question comes second); and showed the
    flag's code name no_match."""
    html = editor.get("/console/try?q=" + "今天天气怎么样")
    assert "无可靠答案" in html and "首条草稿请客服核实后再答复" in html
    assert "no_match" not in html and "先澄清" not in html


def test_huashu_pages_name_kinds_tones_and_scripts_in_chinese(editor):
    """The 话术 list and form showed the stored codes (greeting_first, any, simplified)."""
    for page in ("/console/huashu", "/console/huashu/0"):
        shown = re.sub(r"<[^>]*>", " ", editor.get(page))  # the text, not the option values
        assert "首次问候" in shown and "简体" in shown and "任何" in shown, page
        for code in ("greeting_first", "simplified", "anxious"):
            assert code not in shown, (page, code)


@pytest.mark.parametrize("rows", [1, 2])
def test_a_file_refused_for_its_rejected_rows_is_told_in_chinese_for_one_row_or_many(rows):
    from kefu.kb.errors import ImportFileError, RowsRejected
    from kefu.web.messages import problem_zh

    refused = RowsRejected("a.csv", [ImportFileError("a.csv", 2, "answer", "is missing or empty")] * rows)
    assert problem_zh(str(refused)).startswith(f"有 {rows} 行有问题，所以这个文件一行也没有导入")


def test_the_entry_form_says_which_line_of_a_long_answer_holds_a_flagged_word(editor):
    """In an answer of several lines (steps, a list) the warning named the word only, and
    the editor had to search every line for it."""
    answer = "退货流程：\n1. 打开「我的订单」\n\n2. 我们保证48小时内审核\n3. 全网最低价"
    html = editor.post("/console/entries/new", entry_form(question="怎么退货呀", answer=answer), status=200).text
    flags = re.search(r'<p class="warn" id="answer-flags">(.*?)</p>', html, re.S).group(1)
    assert "保证（承诺，第 4 行）" in flags and "（极限词，第 5 行）" in flags, flags
    one_line = editor.post("/console/entries/new", entry_form(question="这款保温杯好吗", answer="全网最低价，保证正品。"),
                           status=200).text
    assert "保证（承诺）" in one_line  # one line: no line number to give


@pytest.mark.parametrize("typed, tags", [("孕妇，辣条", ["孕妇", "辣条"]), ("满减|包邮", ["满减", "包邮"]),
                                         ("巧克力、糖; 成分", ["巧克力", "糖", "成分"]), ("运费 包邮", ["运费", "包邮"]),
                                         ("促销活动，赠品 双十二", ["促销活动", "赠品", "双十二"]),
                                         ("满减、包邮\u3000新品,  秒杀 ", ["满减", "包邮", "新品", "秒杀"])])
def test_the_tag_field_parts_tags_at_separators_and_spaces(typed, tags):
    """The console parted tags at , ， 、 ; ； but not at |, which a file's tags cell also
    parts them at: 满减|包邮 was one tag typed here, two imported. And with a comma typed it
    no longer parted at spaces: 促销活动，赠品 双十二 was two tags, 赠品 双十二 one, though the
    field's placeholder says 用逗号或空格分隔."""
    from kefu.web.console import _split_tags

    assert _split_tags(typed) == tags


def test_the_states_of_an_entry_holding_a_question_are_read_from_one_list(monkeypatch):
    """The console read a refusal's state back from its English with a table of its own
    words ("not valid yet" → not_yet), which went stale as soon as DuplicateQuestion.STATES
    was reworded; the states were listed again for the CLI's renewal command. The words
    come from STATES, and every state has its Chinese and its command."""
    from kefu.cli import _RENEW
    from kefu.kb.errors import DuplicateQuestion
    from kefu.web.messages import UNSUGGESTED_ZH, reason_zh

    assert set(UNSUGGESTED_ZH) == set(DuplicateQuestion.STATES) == set(_RENEW)
    monkeypatch.setitem(DuplicateQuestion.STATES, "not_yet", "which starts later (on {bound}): move its valid_from")
    for state, said in (("expired", "该条目已过期（有效期至 2020-01-01）"), ("not_yet", "该条目还未生效（2020-01-01 起生效）"),
                        ("unreadable", "该条目的有效期无法识别（2020-01-01）"), ("draft", "该条目是草稿")):
        exc = DuplicateQuestion("d11", "双十一有什么活动", state=state, bound="2020-01-01")
        assert said in reason_zh(exc.reason) and "条目 d11" in reason_zh(exc.reason), (state, reason_zh(exc.reason))


def test_a_similar_question_that_is_another_entrys_question_is_refused_naming_it(editor, ws):
    """Adding 能開發票嗎？ (the invoice entry's question) to the returns entry saved without a
    word, and the message then went to returns ahead of invoice."""
    form = untouched_form(editor.get("/console/entries/return"))
    html = editor.post("/console/entries/return", {**form, "similar": form["similar"] + ["能開發票嗎？"]},
                       status=400).text
    error = re.search(r'id="err-similar"[^>]*>([^<]*)<', html).group(1)
    assert error == ("相似问法「能開發票嗎？」已是条目 invoice（「能开发票吗」）的标准问题："
                     "同一个问法只能对应一个条目，请从其中一个条目删去")
    html = editor.post("/console/entries/new", entry_form(question="寄回地址在哪", similar=["包邮吗"], answer="答。"),
                       status=400).text
    assert "相似问法「包邮吗」已是条目 ship（「运费怎么算」）的相似问法" in html
    assert "能開發票嗎？" not in ws.kb().store.get("return").similar


def test_a_field_error_marks_its_field_for_the_page_to_focus(editor, admin, ws):
    """Only the question, answer and validity fields were marked invalid: an error about
    a similar question, the id, the tags or a setting left its field unmarked, for the
    eye and for console.js, which brings the first marked field into view and focuses it."""
    form = untouched_form(editor.get("/console/entries/return"))
    html = editor.post("/console/entries/return", {**form, "similar": form["similar"] + ["能開發票嗎？"]},
                       status=400).text
    marked = re.findall(r'<input name="similar" value="([^"]*)"[^>]*aria-invalid="true" aria-describedby="err-similar"',
                        html)
    assert marked == ["能開發票嗎？"]
    html = editor.post("/console/entries/new", entry_form(id="ship", question="寄回地址在哪", answer="答。"),
                       status=400).text
    assert re.search(r'id="f-id"[^>]*aria-invalid="true" aria-describedby="err-id"', html)
    html = admin.post("/console/settings", {"traditional": "s2twp", "retention_days": "0", "min_agents": "2",
                                             "allowed_origins": ""}, status=400).text
    assert re.findall(r'id="(s-[\w-]+)"[^>]*aria-invalid="true"', html) == ["s-retention"]
    js = editor.client.get("/static/console.js").text
    assert 'querySelector("main [aria-invalid=true]")' in js and "scrollIntoView" in js and ".focus(" in js


def test_a_similar_question_an_expired_entry_holds_is_refused_saying_it_is_expired(editor, ws):
    """The form said the phrasing was entry ship's, not that ship had expired: the editor,
    who took it for gone, could not tell why, nor that renewing it was the way."""
    ws.kb().update("ship", {"valid_to": "2020-01-01"}, author="t")
    html = editor.post("/console/entries/new", entry_form(question="寄回地址在哪", similar=["包邮吗"], answer="答。"),
                       status=400).text
    error = re.search(r'id="err-similar"[^>]*>([^<]*)<', html).group(1)
    assert error == ("相似问法「包邮吗」已是条目 ship（「运费怎么算」）的相似问法，该条目已过期（有效期至 2020-01-01）："
                     "要继续使用，请到条目 ship 把失效日期改晚，不必让另一个条目也用这个问法（同一个问法只能对应一个条目）")


def test_a_similar_question_left_out_as_the_question_itself_is_told(editor, ws):
    """The page said only 没有改动 when the one similar question added was the standard
    question in another script: it was dropped, and the editor did not learn why."""
    form = untouched_form(editor.get("/console/entries/invoice"))  # without the category <select>
    html = editor.post("/console/entries/invoice", {**form, "category": ws.kb().store.get("invoice").category,
                                                    "similar": form["similar"] + ["能開發票嗎？"]}, status=200).text
    assert "没有改动" in html and "相似问法「能開發票嗎？」与标准问题相同，已略去" in html
    assert ws.kb().store.get("invoice").version == 1


def test_a_question_of_only_marks_is_refused_and_a_long_one_is_saved_with_a_warning(editor, ws):
    before = ws.kb().store.count()
    html = editor.post("/console/entries/new", entry_form(question="？？？😅", answer="答。"), status=400).text
    assert re.search(r'id="err-question"[^>]*>([^<]*)<', html).group(1) == "没有文字（只有标点、符号或表情），请写出要问的问题"
    assert ws.kb().store.count() == before
    pasted = "亲，" + "退货请在签收后七天内申请，" * 6 + "谢谢。"
    html = editor.post("/console/entries/new", entry_form(question=pasted, answer="答。"), status=200).text
    assert "已新建条目" in html and f"提醒：标准问题有 {len(pasted)} 个字（超过 80 个字）" in html
    assert ws.kb().store.count() == before + 1
    # said once: a later save that leaves the question as it is (an answer edit) says nothing of it
    entry = ws.kb().store.find_existing({"question": pasted})
    form = untouched_form(editor.get(f"/console/entries/{entry.id}"))
    html = editor.post(f"/console/entries/{entry.id}", {**form, "category": entry.category, "answer": "新的答。"},
                       status=200).text
    assert "已保存" in html and "提醒：标准问题有" not in html


def test_an_approve_refused_for_another_entrys_phrasing_is_said_in_chinese():
    from kefu.kb.errors import DuplicateSimilar
    from kefu.kb.learned import _not_approved
    from kefu.web.messages import error_zh, problem_zh

    refused = _not_approved(7, DuplicateSimilar("similar", "邮费多少", "ship", "运费怎么算", "similar"))
    assert error_zh(str(refused)) == ("学习问法 #7 不能批准：相似问法'邮费多少'已是条目 ship（'运费怎么算'）的相似问法："
                                      "如果那个条目能回答它，请移到那个条目；否则请拒绝")
    row = DuplicateSimilar("similar", "邮费", "k1", "运费多少", "question", "a.csv, line 3", "line 2")
    assert problem_zh(str(row)) == ("a.csv，第 3 行，相似问法：相似问法'邮费'已是条目 k1（'运费多少'，本文件第 2 行）的标准问题："
                                    "同一个问法只能对应一个条目，请从其中一个条目删去")


def test_an_imported_rows_phrasing_of_a_draft_entry_is_said_in_chinese_with_its_state():
    """An import's note (or problem) of a phrasing a draft holds gave the state in English."""
    from kefu.kb.errors import DuplicateSimilar
    from kefu.web.messages import import_note_zh, problem_zh

    row = DuplicateSimilar("similar", "邮费", "k1", "运费多少", "question", "a.csv, line 3", state="draft")
    assert problem_zh(str(row)) == ("a.csv，第 3 行，相似问法：相似问法'邮费'已是条目 k1（'运费多少'）的标准问题，"
                                    "该条目是草稿，不会推荐：请到条目 k1 把状态改为已发布，"
                                    "不必让另一个条目也用这个问法（同一个问法只能对应一个条目）")
    assert import_note_zh(f"a.csv, line 3: entry 'k9': {row.reason}").startswith(
        "a.csv，第 3 行：条目 k9：相似问法'邮费'已是条目 k1（'运费多少'）的标准问题，该条目是草稿")


def test_a_revert_refused_for_another_entrys_phrasing_says_which_on_the_history_page(editor, ws):
    """Another entry took a similar question of the archived version since: the revert
    would make two entries hold it."""
    ws.kb().archive("ship")
    ws.kb().add({"id": "post", "question": "邮费怎么算", "similar": ["包郵嗎"], "answer": "全场包邮。"})
    html = editor.post("/console/entries/ship/revert", {"version": "1", "current": "2"}, status=409).text
    assert ("没有恢复：第 1 版的相似问法「包邮吗」已是条目 post（「邮费怎么算」）的相似问法：同一个问法只能对应一个条目，"
            "请从其中一个条目删去") in html
    assert ws.kb().store.get("ship").status == "archived"


def test_an_imported_rows_shared_phrasing_note_is_said_in_chinese():
    """The 导入 page showed the note of a row kept with another entry's phrasing in English."""
    from kefu.web.messages import import_note_zh

    note = ("faq.csv, line 3: entry 'k7': similar question '能开票吗' is already a similar question of entry 'k2' "
            "('能开发票吗？'): one phrasing can lead to one entry only; remove it from one of them")
    assert import_note_zh(note) == ("faq.csv，第 3 行：条目 k7：相似问法'能开票吗'已是条目 k2（'能开发票吗？'）的相似问法："
                                    "同一个问法只能对应一个条目，请从其中一个条目删去")


def test_rows_merged_under_a_question_cell_are_said_in_chinese():
    from kefu.web.messages import import_note_zh

    note = ("sheet 售后, rows 3-4: the '标准问题' cell is merged with row 2's, so their '相似问题' cells were read "
            "as more similar questions of row 2's entry")
    assert import_note_zh(note) == ("工作表 售后，第 3–4 行：'标准问题' 单元格与第 2 行合并，"
                                    "这些行的 '相似问题' 已作为第 2 行条目的相似问法读入")


def test_the_huashu_list_shows_a_hand_edited_line_whose_text_is_not_a_string(editor, ws):
    """The delete button's confirmation quotes the line's text cut to 40 characters: a line
    edited by hand to `"text": null` or a number (which the loader refuses) made the list,
    the one place to fix it from, fail with a server error."""
    from kefu import corpus

    own = ws.home / "huashu.jsonl"
    bad = [{"id": "h901", "kind": "closing", "stage": "告别", "tone": "any", "text": None},
           {"id": "h902", "kind": "closing", "stage": "告别", "tone": "any", "text": 12345}]
    own.write_text(corpus.HUASHU.read_text(encoding="utf-8") + "".join(json.dumps(b) + "\n" for b in bad),
                   encoding="utf-8")
    html = editor.get("/console/huashu")
    assert "删除话术 h901「None」" in html and "删除话术 h902「12345」" in html


def test_a_huashu_link_finds_its_line_re_saved_with_a_half_width_id(editor, ws):
    """Ids are told apart half-width (ｈ００１ is h001): a link from a list loaded while a line
    read ｈ９１０, opened after it was re-saved as h910, said the line was gone."""
    from kefu import corpus

    own = ws.home / "huashu.jsonl"
    line = {"id": "ｈ９１０", "kind": "closing", "stage": "告别", "tone": "any", "text": "再见～"}
    own.write_text(corpus.HUASHU.read_text(encoding="utf-8") + json.dumps(line, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    html = editor.get("/console/huashu")
    link = next(a for a in re.findall(r'<a href="([^"]+)">编辑', html) if "ｈ９１０" in unquote(a)).replace("&amp;", "&")
    own.write_text(own.read_text(encoding="utf-8").replace("ｈ９１０", "h910"), encoding="utf-8")
    form = editor.get(link)
    assert 'name="id" value="h910"' in form and "再见～" in form


def test_a_drafts_later_start_stored_as_an_older_date_form_is_said_as_a_date():
    """An older kefu stored a start date as 20301201, read as the whole day; the console
    said its start as 2030-12-01 00:00, as if a moment had been set."""
    from types import SimpleNamespace

    from kefu.web.console import _not_yet

    assert _not_yet(SimpleNamespace(valid_from="20301201", status="draft")).startswith("有效期从 2030-12-01 开始")
    assert "2030-12-01 08:30" in _not_yet(SimpleNamespace(valid_from="2030-12-01T08:30", status="draft"))

"""Log in and out, and the role checks every other route goes through."""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for

from .state import client_address, current_user, locked, login_throttle

bp = Blueprint("auth", __name__)


def requires(role: str):
    """Only users with `role` or above. Anonymous: the login page (HTML) or 401 (API);
    a lower role: 403."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.blueprint == "api":
                    if g.get("bad_token"):
                        abort(401, "the API token is not valid: unknown or revoked (`kefu token add` makes a new one)")
                    abort(401, "login or an API token is required")
                if request.method == "POST" and g.get("login_ended"):
                    # A form posted after its login ended on the server (a new password,
                    # the user removed): the redirect to the login page lost what was typed.
                    return typed_again(SESSION_GONE)
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not user.can(role):
                abort(403, f"this needs the {role} role")
            return view(*args, **kwargs)
        wrapped.required_role = role
        return wrapped
    return decorate


SESSION_GONE = "登录已过期或在别处重新登录，请重新登录。"
# Flask-WTF's reasons, in the pages' language. A form posted after its session ended or
# was replaced (a logout, or a login in another tab) fails with one of the first three.
CSRF_REASONS_ZH = {
    "The CSRF session token is missing.": SESSION_GONE,
    "The CSRF tokens do not match.": SESSION_GONE,
    "The CSRF token has expired.": SESSION_GONE,
    "The CSRF token is missing.": "表单缺少安全令牌（CSRF），请回到原页面刷新后再提交。",
    "The CSRF token is invalid.": "表单的安全令牌（CSRF）无效，请回到原页面刷新后再提交。",
}
# Form fields not worth showing back: secrets and the form's own bookkeeping.
_HIDDEN_FIELDS = {"csrf_token", "password", "version", "base", "rev", "index", "upload_id", "cancel", "list_kind"}
_MORE_LABELS = {"text": "话术内容", "kind": "类型", "stage": "阶段", "tone": "语气", "words": "敏感词",
                "safe": "安全用语", "allowed_origins": "允许嵌入的来源", "retention_days": "保留天数",
                "min_agents": "最少客服人数", "name": "名称", "role": "角色", "q": "消息", "entry": "条目", "shared": "团队共用",
                "traditional": "繁体用语", "on_conflict": "已有条目", "skip_bad_rows": "跳过有问题的行",
                "prune": "归档文件中已没有的条目",
                "terms": "店铺词汇", "term": "词"}
_CHECKED = {"1": "是"}  # a ticked checkbox
# Views that can show their own form again, with what was typed, when its CSRF check
# fails: endpoint -> (role, view(message) -> response). Registered by their blueprints.
CSRF_RETRY: dict[str, tuple] = {}


def _back_path() -> str:
    """The page the failed form was on: the referring page on this site, else the posted
    URL when it can be opened, else the panel."""
    from urllib.parse import urlsplit

    from flask import current_app
    from werkzeug.exceptions import HTTPException

    ref = urlsplit(request.referrer or "")
    back = ref.path + (f"?{ref.query}" if ref.query else "")
    if ref.netloc == request.host and _same_site(back):
        return back
    try:
        current_app.url_map.bind(request.host).match(request.path, method="GET")
        return request.path
    except HTTPException:
        return url_for("panel.page")


def csrf_failed(exc):
    """A page's form failed its CSRF check: say why in Chinese and lose nothing typed.

    The entry forms come back filled in (with a token valid for the current session);
    other forms' typed text is shown to copy, with a link to log in and return."""
    message = CSRF_REASONS_ZH.get(exc.description, SESSION_GONE)
    if request.endpoint == "auth.login":
        return render_template("login.html", error="页面已过期，请重新登录。"), 400
    user = current_user()
    if request.endpoint == "auth.logout" and user is None:
        # Nothing to protect: the login already ended, which is what 退出 asked for.
        session.clear()
        flash("已退出登录")
        return redirect(url_for("auth.login"))
    role, retry = CSRF_RETRY.get(request.endpoint, (None, None))
    if retry and user is not None and user.can(role) and _posted_here():
        # Logged in again (perhaps in another tab): the new session's token is in the form.
        return retry("登录已过期或在别处重新登录，刚才没有保存；填写的内容都在，请检查后再保存一次。")
    return typed_again(message)


def _posted_here() -> bool:
    """Whether the failed form was posted by one of kefu's own pages. A page of another
    origin on the same site (a help desk beside kefu) gets the SameSite=Lax cookie: its
    form must not come back with a valid token, one click from being saved. Browsers send
    Origin with every form post; one that sends none is taken as kefu's own."""
    from urllib.parse import urlsplit

    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def typed_again(message: str):
    """A form that was not saved, as its login ended: `message`, what was typed (to copy)
    and a link to log in and return to the page."""
    from .console import FIELD_LABELS

    typed = [(name, _value_label(name, value)) for name, value in request.form.items(multi=True)
             if name not in _HIDDEN_FIELDS and value.strip()]
    back = _back_path()
    return render_template("session_expired.html", message=message, typed=typed, back=back,
                           labels={**FIELD_LABELS, **_MORE_LABELS}, login_url=url_for("auth.login", next=back)), 400


def _value_label(name: str, value: str) -> str:
    """A form value as its page shows it (状态 已发布, not published); other values as typed."""
    from .console import ON_CONFLICT_LABELS, STATUS_LABELS
    from .learn_pages import TABS
    from .messages import ROLE_ZH
    from .settings import VARIANTS

    known = {"status": {**TABS, **STATUS_LABELS}, "role": ROLE_ZH, "traditional": VARIANTS,
             "on_conflict": ON_CONFLICT_LABELS, "shared": _CHECKED, "skip_bad_rows": _CHECKED, "prune": _CHECKED}
    return known.get(name, {}).get(value, value)


@bp.route("/login", methods=["GET", "POST"])
def login():
    from kefu.kb.users import user_name, verify

    error = None
    name = ""
    if request.method == "POST":
        # As the store keeps names: failures of ｅｄ (full-width) count against ed.
        name = user_name(request.form.get("name", ""))
        with locked() as ws:
            # Checked before the password, the same way for a name that does not exist.
            wait = login_throttle(ws).attempt(name, client_address())
            if wait:
                return _too_many(wait, name)
            credentials = ws.users().credentials(request.form.get("name", "").strip())
        # Hashed outside the lock (Users.credentials): it would hold every suggestion meanwhile.
        user = verify(credentials, request.form.get("password", ""))
        if user is None:
            error = "用户名或密码不正确"
        else:
            with locked() as ws:
                if ws.users().credentials(user.name) != credentials:
                    # A new password, role or removal meanwhile, which ends the logins it finds.
                    return render_template("login.html", error="用户名或密码不正确", name=name), 401
                login_throttle(ws).succeeded(name)
                if session.get("sid"):
                    ws.users().end_session(session["sid"])
                sid = ws.users().start_session(user.name)
            session.clear()
            session["sid"] = sid
            g.pop("user", None)
            target = _same_site(request.args.get("next", "")) or \
                (url_for("console.entries") if user.can("editor") else url_for("panel.page"))
            return redirect(target)
    # A failed login keeps the name typed: only the password is asked again.
    return render_template("login.html", error=error, name=name), (401 if error else 200)


def _too_many(wait: int, name: str):
    """Too many failed logins of this name or from this address (kb/throttle.py)."""
    error = f"登录失败次数过多，请 {-(-wait // 60)} 分钟后再试。"  # whole minutes, rounded up
    return render_template("login.html", error=error, name=name), 429, {"Retry-After": str(wait)}


def _same_site(target: str) -> str | None:
    """`target` if it is a path on this site, else None: an open redirect would hand a
    phishing page our login. Browsers drop tabs and newlines in a URL and read a backslash
    as a slash, so "/<tab>/evil.example" and "/<backslash>evil.example" lead off-site."""
    from urllib.parse import urlsplit

    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/logout", methods=["POST"])
def logout():
    if session.get("sid"):
        with locked() as ws:
            ws.users().end_session(session["sid"])
    session.clear()
    flash("已退出登录")
    return redirect(url_for("auth.login"))

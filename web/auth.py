"""Log in and out, and the role checks every other route goes through."""

from __future__ import annotations

import functools

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for

from .state import current_user, locked

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
                    abort(401, "login or an API token is required")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not user.can(role):
                abort(403, f"this needs the {role} role")
            return view(*args, **kwargs)
        wrapped.required_role = role
        return wrapped
    return decorate


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        with locked() as ws:
            user = ws.users().check(name, request.form.get("password", ""))
        if user is None:
            error = "用户名或密码不正确"
        else:
            session.clear()
            session["user"] = user.name
            g.pop("user", None)
            target = request.args.get("next", "")
            # Only same-site paths: an open redirect would hand a phishing page our login.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("console.entries") if user.can("editor") else url_for("panel.page")
            return redirect(target)
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    flash("已退出登录")
    return redirect(url_for("auth.login"))

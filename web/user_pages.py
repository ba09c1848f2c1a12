"""Console pages for the admin: users and their roles, API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from .auth import requires
from .messages import ROLE_ZH, user_error_zh
from .state import author, locked

bp = Blueprint("admin", __name__, url_prefix="/console")


def _users_page(token: dict | None = None, error: str | None = None, status: int = 200):
    from kefu.kb.users import ROLES

    with locked() as ws:
        users = ws.users()
        rows, tokens = users.all(), users.tokens()
    return render_template("console/users.html", users=rows, tokens=tokens, roles=ROLES,
                           new_token=token, error=error), status


@bp.get("/users")
@requires("admin")
def users():
    return _users_page()


@bp.post("/users/add")
@requires("admin")
def add_user():
    from kefu.kb.users import UserError

    form = request.form
    try:
        with locked() as ws:
            user = ws.users().add(form.get("name", ""), form.get("password", ""), form.get("role", "agent"),
                                  shared=form.get("shared") == "1")
    except UserError as exc:
        return _users_page(error=user_error_zh(str(exc)), status=400)
    flash(f"已添加用户 {user.name}（{ROLE_ZH.get(user.role, user.role)}{'，团队共用' if user.shared else ''}）")
    return redirect(url_for(".users"))


@bp.post("/users/remove")
@requires("admin")
def remove_user():
    from kefu.kb.users import UserError

    name = request.form.get("name", "")
    if name == author():
        return _users_page(error="不能删除自己（请让另一位管理员操作）", status=400)
    try:
        with locked() as ws:
            ws.users().remove(name)
    except UserError as exc:
        return _users_page(error=user_error_zh(str(exc)), status=400)
    flash(f"已删除用户 {name}")
    return redirect(url_for(".users"))


@bp.post("/users/role")
@requires("admin")
def set_role():
    from kefu.kb.users import UserError

    name, role = request.form.get("name", ""), request.form.get("role", "")
    if name == author():
        return _users_page(error="不能修改自己的角色（请让另一位管理员操作）", status=400)
    try:
        with locked() as ws:
            user = ws.users().set_role(name, role)
    except UserError as exc:
        return _users_page(error=user_error_zh(str(exc)), status=400)
    flash(f"已将 {user.name} 的角色改为{ROLE_ZH.get(user.role, user.role)}（其登录已结束，需重新登录）")
    return redirect(url_for(".users"))


@bp.post("/tokens/add")
@requires("admin")
def add_token():
    from kefu.kb.users import UserError

    name = request.form.get("name", "").strip()
    if not name:
        return _users_page(error="请填写令牌名称（例如接入的系统名）", status=400)
    try:
        with locked() as ws:
            token = ws.users().add_token(name, request.form.get("role", "agent"))
    except UserError as exc:
        return _users_page(error=user_error_zh(str(exc)), status=400)
    # Shown in this response only: the store keeps just its hash.
    return _users_page(token={"name": name, "token": token})


@bp.post("/tokens/revoke")
@requires("admin")
def revoke_tokens():
    name = request.form.get("name", "")
    with locked() as ws:
        n = ws.users().revoke_tokens(name)
    flash(f"已吊销 {name} 的 {n} 个令牌")
    return redirect(url_for(".users"))

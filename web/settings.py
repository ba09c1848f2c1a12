"""Admin settings of a data folder: drafts' traditional wording, feedback retention, the
help desks allowed to embed the panel, and the learning trust rule."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, flash, redirect, render_template, request, url_for

from kefu.kb.feedback import RETENTION_DAYS
from kefu.kb.learned import MIN_AGENTS
from kefu.kb.text import typed_number

from .auth import requires
from .state import locked, reset_assistant

bp = Blueprint("settings", __name__, url_prefix="/console")

VARIANTS = {"s2twp": "台湾用语（s2twp）", "s2hk": "香港用语（s2hk）"}


class _Stale(Exception):
    """The settings changed since the form was loaded (raised under config.json's lock)."""


def _current(ws, config: dict | None = None) -> dict:
    config = ws.config() if config is None else config
    return {"traditional": config.get("traditional", "s2twp"),
            "retention_days": str(config.get("retention_days", 90)),
            "allowed_origins": _origin_lines(config.get("allowed_origins", [])),
            "min_agents": str(ws.learner().store.rule.min_agents)}


def _origin_lines(value) -> str:
    """config.json's origins for the form, one a line: a list, or a comma-separated string
    written there by hand, which the panel and /embed read as a list too."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return "\n".join(line for line in (str(item).strip() for item in items) if line)


def _rev(values: dict) -> str:
    """A fingerprint of the settings a form shows: it carries it, so a save over what
    another admin (or `kefu learn config`) saved since is refused, not written back."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]


def _page(values: dict, rev: str, errors: dict | None = None, status: int = 200, stale: bool = False):
    """The form; `stale`: opened by a link from a page of settings changed since."""
    from flask import current_app

    return render_template("console/settings.html", values=values, rev=rev, errors=errors or {},
                           variants=VARIANTS, fixed_origins=current_app.config["KEFU_ALLOWED_ORIGINS"],
                           conflict=status == 409, stale=stale), status


def _number(values: dict, name: str, bounds: tuple[int, int], errors: dict) -> int | None:
    """The whole number typed in field `name` within `bounds`, else None and its error.
    Full-width digits (３０, typed with a Chinese input method) are the digits they show,
    as in ids and dates."""
    number = typed_number(values[name])
    if number is None or not bounds[0] <= number <= bounds[1]:
        errors[name] = f"请填写 {bounds[0]}–{bounds[1]} 之间的整数"
        return None
    return number


@bp.get("/settings")
@requires("admin")
def settings():
    with locked() as ws:
        values = _current(ws)
    rev = _rev(values)
    return _page(values, rev, stale=request.args.get("rev") not in (None, rev))


@bp.post("/settings")
@requires("admin")
def save_settings():
    from kefu.kb.learned import TrustRule

    from . import parse_origins

    form = request.form
    values = {k: form.get(k, "") for k in ("traditional", "retention_days", "allowed_origins", "min_agents")}
    errors: dict[str, str] = {}
    if values["traditional"] not in VARIANTS:
        errors["traditional"] = "请选择台湾或香港用语"
    retention = _number(values, "retention_days", RETENTION_DAYS, errors)
    min_agents = _number(values, "min_agents", MIN_AGENTS, errors)
    origins = []
    for n, line in enumerate(values["allowed_origins"].splitlines(), 1):
        try:
            origins += parse_origins(line)
        except ValueError:
            errors["allowed_origins"] = (f"第 {n} 行「{line.strip()}」不是有效的来源：每行一个，形如 "
                                         "https://chat.example.com（http 或 https + 主机名，可带 :端口，"
                                         "不带路径、空格或通配符 *）")
            break
    rev = form.get("rev") or None  # none: a page of an older kefu, saved as before
    if errors:
        return _page(values, rev or "", errors, 400)

    reindex = []

    def change(config: dict) -> dict:
        # Compared under config.json's lock, which every writer of it takes in turn; the
        # trust rule is written under it too, or a worker saving between this check and
        # that write would pass it, and have its rule overwritten without a word.
        if rev is not None and _rev(_current(ws, config)) != rev:
            raise _Stale
        learner = ws.learner()
        if learner.store.rule.min_agents != min_agents:
            learner.store_trust(TrustRule(min_agents))
            reindex.append(learner.kb)
        return {**config, "traditional": values["traditional"], "retention_days": retention,
                "allowed_origins": origins}

    with locked() as ws:
        try:
            ws.update_config(change)
        except _Stale:
            # A refresh would post the form again, refused again: the page links to the latest.
            return _page(values, rev, {"": "设置已被他人修改（在另一个页面或用命令行），你的改动没有保存；"
                                           "请记下你的改动，打开最新设置后再改。"}, 409)
        for kb in reindex:  # outside config.json's lock: other writers need not wait for it
            kb.build_index()  # a write: an index that cannot follow is told (index_error)
    reset_assistant()
    flash("设置已保存")
    return redirect(url_for(".settings"))

"""The JSON API: the same dataclasses the CLI prints with --json.

Auth: a console login (session cookie; writes then need the X-CSRFToken header) or
`Authorization: Bearer <token>` for integrations (tokens from `kefu token add`).
Errors: {"error": {"code", "message", "field"}} with a matching status code.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .auth import requires
from .openapi import SPEC
from .state import assistant, current_user, locked

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_MESSAGE = 100_000  # characters (a 50 KB paste fits); longer is refused with 413


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def _error(status: int, code: str, message: str, field: str | None = None):
    return jsonify({"error": {"code": code, "message": message, "field": field}}), status


def register_errors(app) -> None:
    """JSON errors under /api, whatever raised them."""
    from kefu.kb.errors import (DuplicateEntry, EmptyQuery, EntryNotFound, ImportFileError,
                                InvalidEntry, KefuError, VersionNotFound)
    from kefu.kb.feedback import BadFeedback, UnknownSuggestion

    def is_api() -> bool:
        return request.path.startswith("/api/")

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return _error(exc.status, exc.code, exc.message, exc.field)

    @app.errorhandler(KefuError)
    def kefu_error(exc: KefuError):
        status, code, field = 400, "invalid", getattr(exc, "field", None)
        if isinstance(exc, (EntryNotFound, VersionNotFound, UnknownSuggestion)):
            status, code = 404, "not_found"
        elif isinstance(exc, DuplicateEntry):
            status, code, field = 409, "conflict", "id"
        elif isinstance(exc, EmptyQuery):
            field = "q" if request.path == "/api/search" else "message"
        elif isinstance(exc, (InvalidEntry, ImportFileError, BadFeedback)):
            code = "invalid_field" if field else "invalid"
        if is_api():
            return _error(status, code, str(exc), field)
        from flask import render_template

        return render_template("error.html", status=status, message=str(exc)), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if is_api():
            return _error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description)
        from flask import render_template

        return render_template("error.html", status=exc.code, message=exc.description), exc.code


@bp.before_request
def _csrf_for_sessions():
    """Cookie-authenticated writes must carry the page's CSRF token; token auth needs none
    (a browser never attaches a Bearer header on its own)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if current_user() is None or g.get("token_auth"):
        return  # anonymous: the route answers 401
    from flask_wtf.csrf import CSRFError, validate_csrf

    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except CSRFError as exc:  # pragma: no cover - validate_csrf raises ValidationError
        abort(400, str(exc))
    except Exception as exc:
        abort(400, f"CSRF check failed: {exc}")


def _body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "invalid_json", "the request body must be a JSON object (Content-Type: application/json)")
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return data


def _text(data: dict, name: str, required: bool = True, limit: int = MAX_MESSAGE) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError(400, "invalid_field", f"{name} must be a non-empty string", name)
    if len(value) > limit:
        raise ApiError(413, "too_long", f"{name} has {len(value)} characters; the limit is {limit}", name)
    return value


def _agent() -> str:
    user = current_user()
    return user.name if user else "api"


MAX_AGENT = 64  # characters of the `agent` field: a help desk's agent id or e-mail


def _feedback_agent(data: dict) -> str:
    """Who gave the feedback: the logged-in user or token, or `<that user>/<agent>` when
    the body names the help-desk agent. One integration token is usually shared by a
    whole team (a Chatwoot Dashboard App), and learning counts *different* agents, so
    the panel names each one; the prefix keeps one token from speaking for another
    token's or user's agents."""
    agent = data.get("agent")
    if agent is None:
        return _agent()
    if not isinstance(agent, str) or not agent.strip():
        raise ApiError(400, "invalid_field", "agent must be a non-empty string", "agent")
    agent = agent.strip()
    if len(agent) > MAX_AGENT or "/" in agent or not agent.isprintable():
        raise ApiError(400, "invalid_field",
                       f"agent must be at most {MAX_AGENT} printable characters without '/'", "agent")
    return f"{_agent()}/{agent}"


@bp.post("/suggest")
@requires("agent")
def suggest():
    from kefu.suggest.assistant import turn_problem

    data = _body()
    message = _text(data, "message")
    context = data.get("context") or []
    if not isinstance(context, list):
        raise ApiError(400, "invalid_field", 'context must be a list of {"role", "text"} objects', "context")
    for n, turn in enumerate(context):
        if problem := turn_problem(turn):
            where = f"context[{n}]" + (f".{problem[0]}" if problem[0] else "")
            raise ApiError(400, "invalid_field", f"{where}: {problem[1]}", "context")
    if sum(len(t.get("text", "")) for t in context) > MAX_MESSAGE:
        raise ApiError(413, "too_long", f"context is longer than {MAX_MESSAGE} characters", "context")
    values = data.get("values") or {}
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise ApiError(400, "invalid_field", "values must map variable names to strings", "values")
    with locked():
        result = assistant().suggest(message, context, values)
    return jsonify(result.to_dict())


@bp.post("/feedback")
@requires("agent")
def feedback():
    data = _body()
    sid = _text(data, "suggestion_id", limit=64)
    action = _text(data, "action", limit=16)
    draft = data.get("draft")
    if draft is not None and (not isinstance(draft, int) or isinstance(draft, bool)):
        raise ApiError(400, "invalid_field", "draft must be a draft number (1, 2, 3)", "draft")
    text = _text(data, "text", required=False)
    agent = _feedback_agent(data)
    with locked() as ws:
        row = ws.record_feedback(sid, action, draft, text, agent=agent)
    return jsonify({"feedback_id": row, "suggestion_id": sid, "action": action, "draft": draft,
                    "agent": agent}), 201


@bp.get("/search")
@requires("agent")
def search():
    from kefu.suggest.retrieve import Retriever

    q = request.args.get("q", "")
    if len(q) > MAX_MESSAGE:
        raise ApiError(413, "too_long", f"q is longer than {MAX_MESSAGE} characters", "q")
    k = request.args.get("k", "5")
    if not k.isdigit() or not 1 <= int(k) <= 50:
        raise ApiError(400, "invalid_field", "k must be a number from 1 to 50", "k")
    with locked() as ws:
        result = Retriever(ws.kb(), top_k=int(k)).search(q)
    return jsonify(result.to_dict())


@bp.get("/entries")
@requires("agent")
def list_entries():
    args = request.args
    limit = args.get("limit", "50")
    offset = args.get("offset", "0")
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        raise ApiError(400, "invalid_field", "limit must be a number from 1 to 500", "limit")
    if not offset.isdigit():
        raise ApiError(400, "invalid_field", "offset must be a number", "offset")
    with locked() as ws:
        entries = ws.kb().store.entries(status=args.get("status"), category=args.get("category"),
                                        tag=args.get("tag"), text=args.get("q"),
                                        limit=int(limit), offset=int(offset))
    return jsonify([e.to_dict() for e in entries])


@bp.get("/entries/<path:entry_id>")
@requires("agent")
def get_entry(entry_id: str):
    with locked() as ws:
        return jsonify(ws.kb().store.get(entry_id).to_dict())


_FIELDS = ("id", "question", "similar", "answer", "category", "tags", "status", "valid_from", "valid_to")


def _entry_fields(data: dict) -> dict:
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown field {unknown[0]!r}", unknown[0])
    return data


@bp.post("/entries")
@requires("editor")
def create_entry():
    data = _entry_fields(_body())
    with locked() as ws:
        entry = ws.kb().add(data, author=_agent())
    return jsonify(entry.to_dict()), 201


@bp.put("/entries/<path:entry_id>")
@requires("editor")
def update_entry(entry_id: str):
    data = _entry_fields(_body())
    data.pop("id", None)
    with locked() as ws:
        entry = ws.kb().update(entry_id, data, author=_agent())
    return jsonify(entry.to_dict())


@bp.delete("/entries/<path:entry_id>")
@requires("editor")
def archive_entry(entry_id: str):
    """Entries are archived, never deleted: their history stays and can be reverted."""
    with locked() as ws:
        entry = ws.kb().archive(entry_id, author=_agent())
    return jsonify(entry.to_dict())


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)

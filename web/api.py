"""The JSON API: the same dataclasses the CLI prints with --json.

Auth: a console login (session cookie; writes then need the X-CSRFToken header) or
`Authorization: Bearer <token>` for integrations (tokens from `kefu token add`).
Errors: {"error": {"code", "message", "field"}} with a matching status code.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from kefu.kb.entry import is_content_hash
from kefu.kb.store import SQLITE_MAX_INTEGER
from kefu.kb.text import HALF_WIDTH, MAX_MESSAGE, whole_number

from .auth import requires
from .openapi import SPEC
from .panel_view import panel_view
from .state import assistant, current_user, locked

bp = Blueprint("api", __name__, url_prefix="/api")
# Of a library error's code (`error_code`); else 400. A folder whose configuration cannot be
# used is the server's trouble, not the request's.
STATUS = {"not_found": 404, "conflict": 409, "too_long": 413, "misconfigured": 503}
BUSY_RETRY = 5  # seconds a client is asked to wait when another kefu holds the store's write lock


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.retry_after = retry_after


def _error(status: int, code: str, message: str, field: str | None = None, retry_after: int | None = None):
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return jsonify({"error": {"code": code, "message": message, "field": field}}), status, headers


def register_errors(app) -> None:
    """JSON errors under /api, whatever raised them."""
    from kefu.kb.errors import DuplicateEntry, EmptyQuery, ImportFileError, KefuError, error_code

    def is_api() -> bool:
        # "/api" itself too: a client given the API's base URL expects JSON, not a page.
        return request.path == "/api" or request.path.startswith("/api/")

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return _error(exc.status, exc.code, exc.message, exc.field, exc.retry_after)

    @app.errorhandler(KefuError)
    def kefu_error(exc: KefuError):
        # The code as the CLI's --json gives it (any error naming a field is invalid_field,
        # an archived entry's draft too); an empty message stays invalid, naming the parameter.
        code, field = error_code(exc), getattr(exc, "field", None)
        status = STATUS.get(code, 400)
        if isinstance(exc, DuplicateEntry):
            field = "id"
        elif isinstance(exc, EmptyQuery):
            field = "q" if request.path == "/api/search" else "message"
        elif code == "misconfigured":
            field = None  # config.json's field, which no request holds
            current_app.logger.error("%s", exc)  # the admin reads the server's log
        if is_api():
            return _error(status, code, str(exc), field)
        from flask import render_template

        from .messages import error_zh, problem_zh

        # A 话术 or word file edited by hand names its line: in the console's language too.
        detail = problem_zh(str(exc)) if isinstance(exc, ImportFileError) else exc
        message = f"服务器的配置有误，请联系管理员（{detail}）" if code == "misconfigured" else error_zh(str(exc))
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(sqlite3.OperationalError)
    def store_busy(exc: sqlite3.OperationalError):
        # Another kefu (a large `kefu import`, `kefu learn finetune`) kept the store's write
        # lock for the 30 s a write waits: as the CLI's `busy`, nothing is wrong with the
        # request, and it may be sent again. Any other OperationalError stays the server's 500.
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise exc
        current_app.logger.warning("the store is busy: %s", exc)
        if is_api():
            return _error(503, "busy", f"the store is busy ({exc}): another kefu is writing to it; "
                          "try again in a moment", retry_after=BUSY_RETRY)
        from flask import render_template

        message = "知识库正忙：另一个 kefu 命令（如导入）正在写入，请稍后再试。"
        return render_template("error.html", status=503, message=message), 503, {"Retry-After": str(BUSY_RETRY)}

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # werkzeug's own headers but its Content-Type: a 405's Allow, which HTTP requires.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if is_api():
            message = exc.description
            if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
                usable = sorted(set(exc.valid_methods) - {"HEAD", "OPTIONS"})
                message = f"{request.method} is not allowed here; use {' or '.join(usable)}"
            response, status, _ = _error(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), message)
            response.headers.extend(headers)
            if status == 401 and "WWW-Authenticate" not in response.headers:
                response.headers["WWW-Authenticate"] = 'Bearer realm="kefu"'  # which HTTP requires of a 401
            return response, status
        from flask import render_template

        from .messages import STATUS_ZH, error_zh

        # werkzeug's own English text for the status, or a message given to abort().
        default = exc.description == type(exc).description
        message = STATUS_ZH.get(exc.code, exc.description) if default else error_zh(exc.description)
        limit = request.max_content_length
        if exc.code == 413 and limit and request.content_length is not None and request.content_length <= limit:
            # The body was within the upload limit: a multipart form's text field went over
            # MAX_FORM_MEMORY_SIZE (or it had over MAX_FORM_PARTS parts), a file never does.
            field, parts = request.max_form_memory_size, request.max_form_parts
            rules = ([f"一个文本字段最多 {field / 1000:g} KB"] if field else []) + \
                ([f"最多 {parts} 个字段"] if parts else [])
            message = f"提交的表单太大：{'，'.join(rules)}（文件不受此限，一次最多 {limit / 2**20:g} MB）。"
        elif exc.code == 413 and limit:
            # An upload over MAX_CONTENT_LENGTH: say how much may be sent, or the editor can only guess.
            message = f"上传的内容太大：一次最多 {limit / 2**20:g} MB（大文件请拆分后分几次导入）。"
        return render_template("error.html", status=exc.code, message=message), exc.code, headers


@bp.before_request
def _csrf_for_sessions():
    """Cookie-authenticated writes must carry the page's CSRF token; token auth needs none
    (a browser never attaches a Bearer header on its own)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if current_user() is None or g.get("token_auth"):
        return  # anonymous: the route answers 401
    from flask_wtf.csrf import validate_csrf
    from wtforms.validators import ValidationError

    sent = request.headers.get("X-CSRFToken", "")
    try:
        validate_csrf(sent)
    except ValidationError as exc:
        # Its own code: the panel tells the agent to log in again (the session ended or
        # was replaced by a login in another tab), instead of showing this message. A
        # script that sent no token at all needs to be told where one comes from.
        todo = "Log in again." if sent else ("Send the X-CSRFToken header (the csrf-token meta tag of a kefu "
                                             "page, once logged in), or use an API token (Bearer).")
        raise ApiError(400, "csrf_failed", f"CSRF check failed: {exc} {todo}") from None


def _body() -> dict:
    from werkzeug.exceptions import RequestEntityTooLarge

    limit = request.max_content_length
    too_large = ApiError(413, "too_large", f"the request body is over {limit} bytes")
    try:
        # Read first: get_json(silent=True) would take a body over the limit for "no JSON" (400).
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if limit is not None and request.content_length is None and len(data) >= limit and \
            request.environ["wsgi.input"].read(1):
        raise too_large  # chunked (no Content-Length): werkzeug stops at the limit and keeps quiet
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested thousands deep: no request we answer looks like that
        data = None
    if data is None:
        raise ApiError(400, "invalid_json", "the request body must be a JSON object (Content-Type: application/json)")
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    for name, value in data.items():
        strings = list(_strings(value))
        if any(_has_lone_surrogate(text) for text in strings):
            # JSON may escape half of a UTF-16 pair ("\ud800"); no UTF-8 text holds one,
            # and storing or segmenting it fails deep inside.
            raise ApiError(400, "invalid_field", f"{name} holds an invalid character (a lone UTF-16 surrogate)",
                           name)
        # Every field of every route: an entry's answer, a variable's value, an edit's text.
        if (longest := max(map(len, strings), default=0)) > MAX_MESSAGE:
            raise ApiError(413, "too_long", f"{name} has a text of {longest} characters; the limit is {MAX_MESSAGE}",
                           name)
    return data


def _strings(value):
    """Every string in a parsed JSON value, keys too."""
    stack = [value]
    while stack:  # not recursive: the body may nest as deep as the JSON parser allows
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _has_lone_surrogate(text: str) -> bool:
    """Whether `text` cannot be UTF-8 encoded."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _number_arg(name: str, default: str, low: int, high: int = SQLITE_MAX_INTEGER) -> int:
    """A query argument that must be a whole number in [low, high]; 400 naming it otherwise."""
    value = whole_number(request.args.get(name, default))
    if value is None or not low <= value <= high:
        raise ApiError(400, "invalid_field", f"{name} must be a number from {low} to {high}", name)
    return value


def _text(data: dict, name: str, required: bool = True) -> str | None:
    """A string field (its length was checked with the body's)."""
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError(400, "invalid_field", f"{name} must be a non-empty string", name)
    return value


MAX_ID = 64  # characters of a suggestion id as the API takes it (kefu's own are 12)


def _suggestion_id(data: dict, name: str, required: bool = True) -> str | None:
    """A suggestion id field: one longer than any id is malformed (400), not too long (413)."""
    value = _text(data, name, required)
    if value is not None and len(value) > MAX_ID:
        raise ApiError(400, "invalid_field", f"{name} is no suggestion id (those have at most {MAX_ID} characters)",
                       name)
    return value


def _agent() -> str:
    user = current_user()
    return user.name if user else "api"


MAX_AGENT = 64  # characters of the `agent` field: a help desk's agent id or e-mail


def _feedback_agent(data: dict) -> str:
    """Who gave the feedback: the logged-in user or token, or `<that user>/<agent>` when
    the body names the help-desk agent. One integration token, or one login, is usually
    shared by a whole team (a Chatwoot Dashboard App), and learning counts *different*
    agents, so the panel names each one; the prefix keeps one token from speaking for
    another token's or user's agents. Only tokens and shared logins (`kefu user add
    --shared`) name agents: a personal login naming several would pass the trust rule
    alone, so its feedback stays its own whatever the body says."""
    agent = data.get("agent")
    if agent is None:
        return _agent()
    if not isinstance(agent, str) or not agent.strip():
        raise ApiError(400, "invalid_field", "agent must be a non-empty string", "agent")
    agent = agent.strip()
    if len(agent) > MAX_AGENT or "/" in agent or not agent.isprintable():
        raise ApiError(400, "invalid_field",
                       f"agent must be at most {MAX_AGENT} printable characters without '/'", "agent")
    user = current_user()
    return f"{_agent()}/{agent}" if user is None or user.shared else _agent()


@bp.post("/suggest")
@requires("agent")
def suggest():
    from kefu.suggest.assistant import turn_problem

    data = _body()
    message = _text(data, "message")
    context = data.get("context")
    if context is None:
        context = []
    elif not isinstance(context, list):
        raise ApiError(400, "invalid_field", 'context must be a list of {"role", "text"} objects', "context")
    for n, turn in enumerate(context):
        if problem := turn_problem(turn):
            where = f"context[{n}]" + (f".{problem[0]}" if problem[0] else "")
            raise ApiError(400, "invalid_field", f"{where}: {problem[1]}", "context")
    if sum(len(t.get("text", "")) for t in context) > MAX_MESSAGE:
        raise ApiError(413, "too_long", f"context is longer than {MAX_MESSAGE} characters", "context")
    values = data.get("values")
    if values is None:
        values = {}
    elif not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise ApiError(400, "invalid_field", "values must map variable names to strings", "values")
    replaces = _suggestion_id(data, "replaces", required=False)
    with locked():
        helper = assistant()
        result = helper.suggest(message, context, values, replaces)
    out = result.to_dict()
    # The CLI's shape, plus what the panel shows in Chinese (see panel_view.py).
    out["panel"] = panel_view(out, message, context, helper.composer.traditional)
    return jsonify(out)


@bp.post("/feedback")
@requires("agent")
def feedback():
    data = _body()
    sid = _suggestion_id(data, "suggestion_id")
    action = _text(data, "action")
    draft = data.get("draft")
    if draft is not None and (not isinstance(draft, int) or isinstance(draft, bool)):
        raise ApiError(400, "invalid_field", "draft must be a draft number (1, 2, 3)", "draft")
    text = _text(data, "text", required=False)
    agent = _feedback_agent(data)
    with locked() as ws:
        logged = ws.record_feedback(sid, action, draft, text, agent=agent)
    return jsonify({"feedback_id": logged.id, "suggestion_id": sid, "action": action, "draft": draft,
                    "agent": agent, "note": logged.note}), 201


@bp.route("/search", methods=["GET", "POST"])
@requires("agent")
def search():
    """GET takes `q` and `k` in the URL; POST in a JSON body, for a message longer than the
    request line `kefu serve` takes (8 KB, some 900 Chinese characters)."""
    from kefu.suggest.retrieve import Retriever

    if request.method == "POST":
        data = _body()  # checks q's length
        q = data.get("q")
        if not isinstance(q, str):
            raise ApiError(400, "invalid_field", "q must be a string", "q")
        k = data.get("k", 5)
        if type(k) is not int or not 1 <= k <= 50:
            raise ApiError(400, "invalid_field", "k must be a number from 1 to 50", "k")
    else:
        q = request.args.get("q", "")
        if len(q) > MAX_MESSAGE:
            raise ApiError(413, "too_long", f"q is longer than {MAX_MESSAGE} characters", "q")
        k = _number_arg("k", "5", 1, 50)
    with locked() as ws:
        result = Retriever(ws.kb(), top_k=k).search(q)
    return jsonify(result.to_dict())


@bp.get("/entries")
@requires("agent")
def list_entries():
    from kefu.kb.entry import STATUSES

    args = request.args
    limit = _number_arg("limit", "50", 1, 500)
    offset = _number_arg("offset", "0", 0)
    status = args.get("status") or None
    if status is not None and status not in STATUSES:
        # An unknown status would match nothing: an empty list that looks like an answer.
        raise ApiError(400, "invalid_field", f"status must be one of {', '.join(STATUSES)}", "status")
    with locked() as ws:
        entries = ws.kb().store.entries(status=status, category=args.get("category"),
                                        tag=args.get("tag"), text=args.get("q"),
                                        limit=limit, offset=offset)
    return jsonify([e.to_output() for e in entries])


@bp.get("/entries/<path:entry_id>")
@requires("agent")
def get_entry(entry_id: str):
    with locked() as ws:
        return jsonify(ws.kb().store.get(entry_id).to_output())


_FIELDS = ("id", "question", "similar", "answer", "category", "tags", "status", "valid_from", "valid_to")


def _entry_fields(data: dict) -> dict:
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ApiError(400, "invalid_field", f"unknown field {unknown[0]!r}", unknown[0])
    for name in ("similar", "tags"):
        # The spec says array: a string would be taken as one item, as a file's cell is
        # ("甲|乙" one similar question), which a caller of the API never means.
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ApiError(400, "invalid_field", f"{name} must be an array of strings", name)
    return data


@bp.post("/entries")
@requires("editor")
def create_entry():
    data = _entry_fields(_body())
    with locked() as ws:
        entry = ws.kb().add(data, author=_agent())
    return jsonify(entry.to_output()), 201


@bp.put("/entries/<path:entry_id>")
@requires("editor")
def update_entry(entry_id: str):
    body = _body()
    # The version the change was made on (as GET gave it): 409 when someone changed the
    # entry since, compared inside the store's write transaction (as the console's form).
    expected = body.pop("version", None)
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool) or expected < 0):
        raise ApiError(400, "invalid_field", "version must be a whole number (the entry's version)", "version")
    expected_hash = _expected_hash(body.pop("content_hash", None), expected)
    data = _entry_fields(body)
    given_id = data.pop("id", None)  # as GET gave it, fine; another id would be ignored
    with locked() as ws:
        current = ws.kb().store.get(entry_id)
        if given_id is not None and (not isinstance(given_id, str)
                                     or given_id.strip().translate(HALF_WIDTH) != current.id):
            # A 200 that kept the old id would look like a rename that worked.
            raise ApiError(400, "invalid_field", f"id cannot be changed (this entry's is {current.id!r}): add an "
                           "entry with the new id and archive this one", "id")
        before = current.version
        entry = ws.kb().update(entry_id, data, author=_agent(), expected_version=expected,
                               expected_hash=expected_hash)
    return jsonify(_saved(entry, before))


@bp.delete("/entries/<path:entry_id>")
@requires("editor")
def archive_entry(entry_id: str):
    """Entries are archived, never deleted: their history stays and can be reverted.
    `?version=N`: 409 when the entry is no longer at version N (as PUT's `version`), and
    `&content_hash=H` as PUT's `content_hash`."""
    expected = _number_arg("version", "", 0) if "version" in request.args else None
    expected_hash = _expected_hash(request.args.get("content_hash"), expected)
    with locked() as ws:
        before = ws.kb().store.get(entry_id).version
        entry = ws.kb().archive(entry_id, author=_agent(), expected_version=expected, expected_hash=expected_hash)
    return jsonify(_saved(entry, before))


@bp.get("/entries/<path:entry_id>/history")
@requires("editor")
def entry_history(entry_id: str):
    """Every version of the entry, oldest first, as `kefu history --json` gives it without --limit."""
    with locked() as ws:
        return jsonify([asdict(c) for c in ws.kb().store.history(entry_id)])


@bp.post("/entries/<path:entry_id>/revert")
@requires("editor")
def revert_entry(entry_id: str):
    """`{to, version, content_hash}`: the content of version `to` as a new version (`kefu
    revert`, the console's 恢复到此版本); `version` and `content_hash`, optional, as PUT's:
    409 when the entry changed since."""
    body = _body()
    values = {}
    for name, required in (("to", True), ("version", False)):
        value = body.get(name)
        if value is None and not required:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ApiError(400, "invalid_field", f"{name} must be a whole number (a version of the entry)", name)
        values[name] = value
    expected_hash = _expected_hash(body.get("content_hash"), values.get("version"))
    with locked() as ws:
        before = ws.kb().store.get(entry_id).version
        entry = ws.kb().revert(entry_id, values["to"], author=_agent(), expected_version=values.get("version"),
                               expected_hash=expected_hash)
    return jsonify(_saved(entry, before))


def _expected_hash(value, expected: int | None) -> str | None:
    """A change's `content_hash`: the content hash of the `version` it was made on (as GET
    gave both), which tells that version from one of the same number made after a restore
    of an older backup took the entry back."""
    if value is None:
        return None
    if not is_content_hash(value):
        raise ApiError(400, "invalid_field", "content_hash must be the entry's content_hash "
                       "(16 hex digits, as GET gives it)", "content_hash")
    if expected is None:
        raise ApiError(400, "invalid_field", "content_hash goes with version: give the version it is the hash of",
                       "content_hash")
    return value


def _saved(entry, before: int) -> dict:
    """The entry after a change, with `changed` as `kefu edit --json` and `kefu archive
    --json` give it: false when the store saw the content the entry had and recorded no
    version (the same values, an entry archived already)."""
    return {**entry.to_output(), "changed": entry.version != before}


@bp.get("/openapi.json")
def openapi():
    return jsonify(SPEC)

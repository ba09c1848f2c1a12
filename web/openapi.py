"""The OpenAPI 3.1 description of /api, served at /api/openapi.json."""

from __future__ import annotations


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {str(code): _json(_ref("Error"), text) for code, text in (
    (400, "Bad input; `field` names the offending field"),
    (401, "Login or a valid Bearer token is required (a revoked token gets this too)"),
    (403, "The user's role is too low"), (404, "No such entry or suggestion"),
    (409, "The id exists already, or another entry (published or draft) has the standard question, or the "
          "entry is no longer the `version` a change was made on (`field` is version); or "
          "feedback contradicting feedback already recorded for the suggestion (a reject of a draft whose "
          "entry a draft of it was already accepted or edited for, or the other way round)"),
    (413, "A text field, or the request body, is too long"),
    (429, "Too many different unknown Bearer tokens from this address lately; `Retry-After` says when to try again"),
    (503, "The server's data folder is misconfigured (`code` misconfigured: its config.json, 话术 "
          "or word-list file cannot be used, or its index was built with other models); the message says what "
          "to fix. Or `code` busy: another kefu held the store's write lock too long; `Retry-After` says when "
          "to send the request again"))}

# What kb.entry.normalize_when reads besides, and how a bound comes back.
_WHEN_MORE = (", local time unless it has an offset (+08:00, Z); also with a space instead of T, fractions of a "
              "second, typed in full width (２０２６－１１－１１), or year first as a spreadsheet writes it "
              "(2026/11/11 20:00, 2026.11.11, 2026年11月11日; a month and day without the year, 11月11日, is "
              "refused, field named). Returned in one form: 2026-11-11, "
              "2026-11-11T20:00:00, 2026-11-11T20:00:00.500000, 2026-11-11T20:00:00+08:00")

_ENTRY_FIELDS = {
    "id": {"type": "string"}, "question": {"type": "string"},
    "similar": {"type": "array", "items": {"type": "string"}}, "answer": {"type": "string"},
    "category": {"type": "string", "examples": ["售前", "售中", "售后", "投诉", "账户"]},
    "tags": {"type": "array", "items": {"type": "string"}},
    "status": {"type": "string", "enum": ["draft", "published", "archived"]},
    # Not `format: date-time`: a bound is a whole day, or a moment in local time unless it
    # has an offset, neither of which is an RFC 3339 date-time.
    "valid_from": {"type": ["string", "null"], "description": "YYYY-MM-DD (from local midnight) or "
                   "YYYY-MM-DDTHH:MM[:SS]" + _WHEN_MORE,
                   "examples": ["2026-11-11", "2026-11-11T20:00", "2026-11-11T20:00+08:00"]},
    "valid_to": {"type": ["string", "null"], "description": "YYYY-MM-DD (the whole day) or "
                 "YYYY-MM-DDTHH:MM[:SS]" + _WHEN_MORE,
                 "examples": ["2026-11-11", "2026-11-11T23:59:59", "2026-11-11T23:59:59+08:00"]},
}
# A bound as the store keeps and the API returns it (kb.entry.normalize_when; what an
# older kefu stored, 20261129 or 2026-11-29 18:00, migration m020 rewrote so).
_STORED_WHEN = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{6})?([+-]\d{2}:\d{2})?)?$"

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "kefu API", "version": "1",
             "description": "Reply suggestions and the FAQ knowledge base of a shop's customer service. "
                            "Authenticate with `Authorization: Bearer <token>` (`kefu token add NAME`) "
                            "or a console session plus the `X-CSRFToken` header on writes."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "field": {"type": ["string", "null"]}}}}},
            "EntryInput": {"type": "object", "properties": _ENTRY_FIELDS, "required": ["question", "answer"],
                           "additionalProperties": False},
            "EntryChanges": {"type": "object", "properties": {**_ENTRY_FIELDS, "id": {
                "type": "string", "description": "cannot be changed: the entry's own id, or 400 (optional)"},
                "version": {
                "type": "integer", "description": "the version the change was made on: 409 when the entry "
                                                  "has changed since (optional)"},
                "content_hash": {"type": "string", "description": "with `version`, that version's content_hash: "
                                                                  "409 when the version number now names other "
                                                                  "content (after a restore; optional)"}},
                             "additionalProperties": False},
            "Entry": {"type": "object", "properties": {
                **_ENTRY_FIELDS, **{name: {**_ENTRY_FIELDS[name], "pattern": _STORED_WHEN}
                                    for name in ("valid_from", "valid_to")},
                "created_at": {"type": "string"}, "updated_at": {"type": "string"},
                "author": {"type": ["string", "null"]}, "version": {"type": "integer"},
                "content_hash": {"type": "string", "description": "the hash of the content this version has"},
                "window": {"type": ["string", "null"], "enum": ["expired", "not_yet", "unreadable", None],
                           "description": (
                    "where now stands to valid_from/valid_to: expired after the end, not_yet before the "
                    "start, null inside; outside, the entry is not suggested, whatever its status says; "
                    "unreadable when a stored bound is no date (written into the store by hand): fix it")}}},
            "EntrySaved": {"allOf": [_ref("Entry"), {"type": "object", "properties": {"changed": {
                "type": "boolean", "description": "false when the entry already had this content: no version "
                                                  "was recorded"}}}]},
            "Change": {"type": "object", "properties": {
                "entry_id": {"type": "string"}, "version": {"type": "integer"},
                "action": {"type": "string", "description": "create, edit, archive, import, prune, learn, "
                                                            "unlearn or `revert to vN`"},
                "author": {"type": ["string", "null"]}, "at": {"type": "string"},
                "before": {"type": ["object", "null"], "description": "the content before (null when created)"},
                "after": {"type": "object", "description": "the content this version has"}}},
            "Turn": {"type": "object", "required": ["text"], "properties": {"role": {"type": "string", "enum": ["customer", "agent"]},
                                                      "text": {"type": "string"}}},
            "SuggestRequest": {"type": "object", "required": ["message"], "properties": {
                "message": {"type": "string", "description": "The customer's latest message"},
                "context": {"type": "array", "items": _ref("Turn"), "description": "Earlier turns, oldest first"},
                "values": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Variables for the drafts, e.g. {\"订单号\": \"…\"}"},
                "replaces": {"type": "string", "description": (
                    "The suggestion_id shown for this message moments ago, as it was being typed: "
                    "unless feedback names it, it is marked superseded and statistics count the message once")}}},
            "Draft": {"type": "object", "properties": {
                "text": {"type": "string"}, "entry_ids": {"type": "array", "items": {"type": "string"}},
                "style": {"type": "string"}, "missing_variables": {"type": "array", "items": {"type": "string"}},
                "flags": {"type": "array", "items": {"type": "object"}},
                "explanation": {"type": "array", "items": {"type": "string"}},
                "slots": {"type": "array", "items": {"type": "object", "properties": {
                    "variable": {"type": "string"}, "start": {"type": "integer"}, "end": {"type": "integer"},
                    "blank": {"type": "string"}, "fallback": {"type": ["string", "null"]}}}, "description": (
                    "Where each variable stands in `text` (code points, as flags count): its value, "
                    "else its `fallback` (the text shown without a value; null for a variable "
                    "without one), else `blank` (the 【请填写…】 shown)")}}},
            "Suggestion": {"type": "object", "properties": {
                "suggestion_id": {"type": "string"}, "script": {"type": "string", "enum": ["simplified", "traditional"]},
                "intent": {"type": "string"}, "stage": {"type": "string"}, "sentiment": {"type": "string"},
                "urgency": {"type": "string"}, "first_message": {"type": "boolean"}, "no_match": {"type": "boolean"},
                "hits": {"type": "array", "items": {"type": "object"}}, "drafts": {"type": "array", "items": _ref("Draft")},
                "notes": {"type": "array", "items": {"type": "string"}},
                "references": {"type": "array", "items": {"type": "object"},
                               "description": "Quotable passages of imported documents, with source"},
                "panel": {"type": "object", "description": (
                    "For the agent panel, not in the CLI's --json: `notes` and `explanations` (one list "
                    "per draft) in Chinese, line for line; `questions` and `matched`, each hit's question "
                    "and the phrasing it matched on, in the customer's script; `entry`, the id of the entry "
                    "the drafts answer (the first hit a "
                    "draft answers; null when none does); `small_talk`, true when the message only "
                    "greets or thanks (a 话术 reply; its no-match flag is no missing answer); `blanks`, "
                    "each blank a draft's variable may be written as, in either script, with the "
                    "variable (【請填寫訂單號】: 订单号)"), "properties": {
                    "notes": {"type": "array", "items": {"type": "string"}},
                    "explanations": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
                    "questions": {"type": "object", "additionalProperties": {"type": "string"}},
                    "matched": {"type": "object", "additionalProperties": {"type": "string"}},
                    "entry": {"type": ["string", "null"]},
                    "small_talk": {"type": "boolean"},
                    "blanks": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
            "FeedbackRequest": {"type": "object", "required": ["suggestion_id", "action"], "properties": {
                "suggestion_id": {"type": "string"},
                "action": {"type": "string", "enum": ["accept", "edit", "reject", "no_match"]},
                "draft": {"type": "integer", "minimum": 1}, "text": {"type": "string"},
                "agent": {"type": "string", "maxLength": 64, "pattern": "^[^/]+$",
                          "description": "The help-desk agent who acted (e.g. Chatwoot's agent id), when one "
                                         "token or shared login serves a team: recorded as `<user>/<agent>`, so "
                                         "learning's trust rule counts each agent. A personal login's feedback "
                                         "is its own (the field is checked, then not used). Default: the "
                                         "token's or login's user"}}},
            "FeedbackRecorded": {"type": "object", "properties": {
                "feedback_id": {"type": "integer"}, "suggestion_id": {"type": "string"},
                "action": {"type": "string"}, "draft": {"type": ["integer", "null"]},
                "agent": {"type": "string", "description": "Who the feedback is credited to"},
                "note": {"type": ["string", "null"],
                         "description": "Why learning and the statistics count this feedback for nothing, "
                                        "else null: they take one say per customer message, entry and side, "
                                        "and another agent's was recorded first"}}},
        },
    },
    "security": [{"bearer": []}, {"session": []}],
    "paths": {
        "/api/suggest": {"post": {
            "summary": "Reply drafts for a customer message (role agent)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SuggestRequest")}}},
            "responses": {"200": _json(_ref("Suggestion")), **_ERRORS}}},
        "/api/feedback": {"post": {
            "summary": "What the agent did with a suggestion (role agent)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FeedbackRequest")}}},
            "responses": {"201": _json(_ref("FeedbackRecorded"), "Recorded"), **_ERRORS}}},
        "/api/search": {
            "get": {"summary": "Ranked entries for a message (role agent)",
                    "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                                   {"name": "k", "in": "query",
                                    "schema": {"type": "integer", "minimum": 1, "maximum": 50}}],
                    "responses": {"200": _json({"type": "object"}), **_ERRORS}},
            "post": {"summary": "Ranked entries for a message too long for a URL (role agent)",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["q"],
                         "properties": {"q": {"type": "string"},
                                        "k": {"type": "integer", "minimum": 1, "maximum": 50}}}}}},
                     "responses": {"200": _json({"type": "object"}), **_ERRORS}}},
        "/api/entries": {
            "get": {"summary": "List entries (role agent)",
                    "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                                   for n in ("q", "category", "status", "tag", "limit", "offset")],
                    "responses": {"200": _json({"type": "array", "items": _ref("Entry")}), **_ERRORS}},
            "post": {"summary": "Create an entry (role editor)",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("EntryInput")}}},
                     "responses": {"201": _json(_ref("Entry"), "Created"), **_ERRORS}}},
        "/api/entries/{entry_id}": {
            "parameters": [{"name": "entry_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"summary": "One entry (role agent)", "responses": {"200": _json(_ref("Entry")), **_ERRORS}},
            "put": {"summary": "Change some fields of an entry (role editor); a history version is recorded",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("EntryChanges")}}},
                    "responses": {"200": _json(_ref("EntrySaved")), **_ERRORS}},
            "delete": {"summary": "Archive an entry (role editor); it keeps its history",
                       "parameters": [{"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 0},
                                       "description": "The version the archive was decided on: 409 when the entry changed since"},
                                      {"name": "content_hash", "in": "query", "schema": {"type": "string"},
                                       "description": "With version, that version's content_hash (as PUT's)"}],
                       "responses": {"200": _json(_ref("EntrySaved")), **_ERRORS}}},
        "/api/entries/{entry_id}/history": {
            "parameters": [{"name": "entry_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"summary": "Every version of an entry, oldest first: who changed what, when (role editor)",
                    "responses": {"200": _json({"type": "array", "items": _ref("Change")}), **_ERRORS}}},
        "/api/entries/{entry_id}/revert": {
            "parameters": [{"name": "entry_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": {"summary": "Give an entry the content of an earlier version, recorded as a new one (role editor)",
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["to"],
                         "properties": {"to": {"type": "integer", "minimum": 0,
                                               "description": "The version to go back to (versions start at 1): 404 "
                                                              "when the entry has no such one, as kefu revert --to"},
                                        "version": {"type": "integer", "minimum": 0,
                                                    "description": "The version the revert was decided on: 409 "
                                                                   "when the entry changed since"},
                                        "content_hash": {"type": "string",
                                                         "description": "With version, that version's content_hash "
                                                                        "(as PUT's)"}}}}}},
                     "responses": {"200": _json(_ref("EntrySaved")), **_ERRORS}}},
        "/api/openapi.json": {"get": {"summary": "This document", "security": [],
                                      "responses": {"200": _json({"type": "object"})}}},
    },
}

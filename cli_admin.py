"""`kefu terms`, `user`, `token`: the shop dictionary, and who may use the console and the API.
Registered by cli.py, whose helpers they use."""

from __future__ import annotations

import dataclasses

import click

from kefu.cli import Context, author, counted, emit, handle_errors, json_option, needs_store

@click.group()
def terms() -> None:
    """The user dictionary of shop terms (products, brands, slang) used for segmentation."""


@terms.command(name="add")
@click.argument("words", nargs=-1, required=True)
@json_option
@click.pass_obj
@handle_errors
def terms_add(c: Context, words, as_json) -> None:
    """Add shop terms (stored normalised: simplified, half-width, lower case); the index is
    re-segmented now (no re-embedding)."""
    emit(c.kb().add_terms(words, author=author()), as_json, _terms_added_text)


def _terms_added_text(d: dict) -> str:
    lines = [f"added {counted(len(d['added']), 'term')}" + (f": {' '.join(d['added'])}" if d["added"] else "")]
    lines += [f"note: {typed} is already a term" + (f", as {word}" if word != typed else "")
              for typed, word in d["existing"].items()]
    return "\n".join(lines)


@terms.command(name="list")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def terms_list(c: Context, as_json) -> None:
    """List the shop terms."""
    words = c.store().terms()
    emit(words, as_json, lambda w: "\n".join(w) or "(no terms)")


@terms.command(name="remove")
@click.argument("words", nargs=-1, required=True)
@json_option
@click.pass_obj
@handle_errors
@needs_store
def terms_remove(c: Context, words, as_json) -> None:
    """Remove shop terms; the index is re-segmented now (no re-embedding)."""
    kb = c.kb()
    unknown = kb.store.unknown_terms(words)
    emit({"removed": kb.remove_terms(words), "unknown": unknown}, as_json,
         lambda d: "\n".join([f"removed {counted(d['removed'], 'term')}"] + [f"note: {w} is not a term" for w in d["unknown"]]))


# -- console users and API tokens ---------------------------------------------------

@click.group()
def user() -> None:
    """Console users and their roles: agent (panel), editor (entries, 话术, imports), admin
    (users, API tokens and settings)."""


def _new_password() -> str:
    import secrets

    return secrets.token_urlsafe(12)


@user.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "editor", "admin"]), default="agent", show_default=True)
@click.option("--password", help="At least 8 characters (default: a random one, printed once).")
@click.option("--shared", is_flag=True,
              help="A login a whole team uses (the panel inside a help desk): its feedback may name the "
                   "agent who gave it, and learning counts those agents. A personal login's feedback is its own.")
@json_option
@click.pass_obj
@handle_errors
def user_add(c: Context, name, role, password, shared, as_json) -> None:
    """Create a console user; prints the password when kefu made it up."""
    made_up = password is None
    password = _new_password() if made_up else password  # "" (an unset $PW) is refused, not replaced unseen
    u = c.users().add(name, password, role, shared)
    emit({"name": u.name, "role": u.role, "shared": u.shared, **({"password": password} if made_up else {})},
         as_json, lambda d: f"user {d['name']} ({d['role']}{', shared' if d['shared'] else ''}) created"
         + (f", password: {d['password']}" if made_up else ""))


@user.command(name="list")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def user_list(c: Context, as_json) -> None:
    """List console users and their roles."""
    emit([dataclasses.asdict(u) for u in c.users().all()], as_json,
         lambda d: "\n".join(f"{u['name']}\t{u['role']}" + ("\tshared" if u["shared"] else "") for u in d)
         or "no users yet: kefu user add NAME --role editor")


@user.command(name="remove")
@click.argument("name")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def user_remove(c: Context, name, as_json) -> None:
    """Remove a console user (their sessions end on their next request; the last admin stays)."""
    c.users().remove(name)
    emit({"removed": name}, as_json, lambda d: f"removed user {d['removed']}")


@user.command(name="role")
@click.argument("name")
@click.argument("role", type=click.Choice(["agent", "editor", "admin"]))
@json_option
@click.pass_obj
@handle_errors
@needs_store
def user_role(c: Context, name, role, as_json) -> None:
    """Change a user's role, keeping their password (their logins end; the last admin stays admin)."""
    was = c.users().get(name).role
    u = c.users().set_role(name, role)
    emit({"name": u.name, "role": u.role, "was": was}, as_json,
         lambda d: f"{d['name']} is already {d['role']}" if d["role"] == d["was"]
         else f"role of {d['name']} changed from {d['was']} to {d['role']}")


@user.command(name="share")
@click.argument("name")
@click.option("--off", is_flag=True, help="Make it a personal login again.")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def user_share(c: Context, name, off, as_json) -> None:
    """Mark an existing login as shared by a team (its feedback may name the agent), or not."""
    u = c.users().set_shared(name, not off)
    emit({"name": u.name, "role": u.role, "shared": u.shared}, as_json,
         lambda d: f"user {d['name']} is now {'shared by a team' if d['shared'] else 'a personal login'}")


@user.command(name="passwd")
@click.argument("name")
@click.option("--password", help="At least 8 characters (default: a random one, printed once).")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def user_passwd(c: Context, name, password, as_json) -> None:
    """Set a user's password."""
    made_up = password is None
    password = _new_password() if made_up else password  # "" (an unset $PW) is refused, not replaced unseen
    c.users().set_password(name, password)
    emit({"name": name, **({"password": password} if made_up else {})}, as_json,
         lambda d: f"password of {d['name']} changed" + (f" to: {d['password']}" if made_up else ""))


@user.command(name="unlock")
@click.argument("name")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def user_unlock(c: Context, name, as_json) -> None:
    """Clear a user's failed logins, so the login throttle lets them in again (passwd does too)."""
    emit({"name": name, "cleared": c.users().unlock(name)}, as_json,
         lambda d: f"cleared {counted(d['cleared'], 'failed login')} of {d['name']}")


@click.group()
def token() -> None:
    """API tokens for integrations (a help desk, scripts): `Authorization: Bearer <token>`."""


@token.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "editor", "admin"]), default="agent", show_default=True)
@json_option
@click.pass_obj
@handle_errors
def token_add(c: Context, name, role, as_json) -> None:
    """Create a token; it is shown only now (kefu keeps its hash)."""
    users = c.users()
    # Allowed (a new token beside the old one, while an integration switches), but said:
    # `kefu token revoke NAME` revokes them all.
    same_name = sum(t["name"] == name for t in users.tokens())

    def text(d: dict) -> str:
        line = f"token for {d['name']} ({d['role']}): {d['token']}\n(shown once: store it now)"
        if d["same_name"]:
            line += (f"\nnote: {counted(d['same_name'], 'other token')} named {d['name']} "
                     f"{'exists and keeps' if d['same_name'] == 1 else 'exist and keep'} working; "
                     f"`kefu token revoke {d['name']}` revokes them all, this one too")
        return line
    emit({"name": name, "role": role, "token": users.add_token(name, role), "same_name": same_name}, as_json, text)


@token.command(name="list")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def token_list(c: Context, as_json) -> None:
    """List tokens by name and role (the tokens themselves are not kept)."""
    emit(c.users().tokens(), as_json,
         lambda d: "\n".join(f"{t['name']}\t{t['role']}\t{t['created_at']}" for t in d) or "no tokens")


@token.command(name="revoke")
@click.argument("name")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def token_revoke(c: Context, name, as_json) -> None:
    """Revoke every token with this name."""
    from kefu.kb.users import UserNotFound

    revoked = c.users().revoke_tokens(name)
    if not revoked:  # a mistyped name revoked nothing: an error, as for `user remove`
        raise UserNotFound(f"no token named {name!r} (`kefu token list` shows them)")
    emit({"name": name, "revoked": revoked}, as_json, lambda d: f"revoked {counted(d['revoked'], 'token')} named {d['name']}")


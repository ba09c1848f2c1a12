"""The `kefu` command line: a thin edge that parses options, calls kb/ and suggest/, prints.

Every command prints readable text, or JSON with --json; library errors become a
one-line message and a non-zero exit.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Callable, NoReturn

import click

from kefu import __version__
from kefu.kb.store import SQLITE_MAX_INTEGER
from kefu.kb.text import counted
from kefu.suggest.workspace import Workspace  # light: its heavy imports happen on use



class DataFolder(click.Path):
    """A folder option that refuses an empty value: `--data-dir "$KB"` with KB unset would
    otherwise make the current folder the data folder (an empty KEFU_HOME counts as unset)."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("empty: name a folder (. for the current one)", param, ctx)
        return super().convert(value, param, ctx)


class InputPath(click.Path):
    """A file or folder to read: click.Path, whose error for one that does not exist (or is
    of the wrong kind) keeps the path given, so that `--json` names it as the error's `file`
    as it names a file that exists but cannot be read."""

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            from kefu.kb.importers import path_text

            exc.path = path_text(value)  # error_detail's "file"
            raise


def default_home() -> Path:
    # The XDG spec has a relative XDG_DATA_HOME ignored: followed, it put the data folder
    # under whatever folder the command happened to run in.
    xdg = Path(os.environ.get("XDG_DATA_HOME") or ".")
    return (xdg if xdg.is_absolute() else Path.home() / ".local" / "share") / "kefu"


class Context(Workspace):
    """The CLI's workspace: progress goes to stderr."""

    def __init__(self, home: Path, models: str | None, threads: int | None = None):
        super().__init__(home, models, threads, progress=progress)

    def kb(self):
        if self._kb is None:
            refuse_empty_store(self.home / "kefu.db")
            # An index update that failed after a write is logged for the server; here the
            # command's error says it (handle_errors), once. Only while this command runs:
            # the logger is the process's (a test runs many commands, then other code).
            ctx = click.get_current_context(silent=True)
            if ctx is not None:
                logger = logging.getLogger("kefu.index")
                logger.addFilter(_not_told_twice)
                ctx.call_on_close(lambda: logger.removeFilter(_not_told_twice))
        return super().kb()

    def store(self):
        if self._kb is None and self._store is None:
            refuse_empty_store(self.home / "kefu.db")
        return super().store()

    def opened_store(self):
        """The store this command opened (with the knowledge base or alone), else None."""
        return self._kb.store if self._kb is not None else self._store


def _not_told_twice(record: logging.LogRecord) -> bool:
    return not getattr(record, "index_not_updated", False)


_LOGGED: dict[str, int] = {}  # stage -> the last quarter a log line was written for


def to_stderr(message: str = "", nl: bool = True) -> None:
    """A line on stderr: progress, a note, a warning. It is a courtesy to whoever watches:
    when stderr's reader has gone (`kefu purge 2>&1 | head -1`, a log pipe that died, a
    terminal hung up), the command goes on with stderr pointed at /dev/null. A
    BrokenPipeError here stopped a purge or an import between two of its transactions,
    and a restore before its purge, with status 141."""
    try:
        click.echo(message, err=True, nl=nl)
    except OSError:  # EPIPE; EIO from a terminal that is gone
        _stderr_gone()


def _stderr_gone() -> None:
    """Point stderr at /dev/null: what Python or a library writes there later, and the
    text still in its buffer, go there too, without an error."""
    _to_devnull(sys.stderr)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()


def _to_devnull(stream) -> None:
    """Point `stream`'s file descriptor at /dev/null, so that writing to it, Python's flush
    at exit too, cannot fail again once its reader has gone."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # no file (a test's runner): nothing to point
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def progress(stage: str, done: int, total: int) -> None:
    """Progress of long work on stderr: a live line on a terminal; in a log (a pipe, CI)
    a line each time the work passes another quarter. Callers report in steps of their
    own (256 texts, 1,000 entries), which rarely land on an exact quarter."""
    if sys.stderr.isatty():
        to_stderr(f"\r{stage}: {done}/{total}" + ("\n" if done >= total else ""), nl=False)
        return
    quarter = 4 * done // max(total, 1)
    if quarter > _LOGGED.get(stage, 0) or done >= total:
        to_stderr(f"{stage}: {done}/{total}")
    _LOGGED[stage] = 0 if done >= total else max(quarter, _LOGGED.get(stage, 0))


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(fn)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, `timeout`, cron or systemd stopping a job) or SIGHUP (the terminal or
    ssh session gone), raised where the command is, as Ctrl-C is: Python's default ended the
    process on the spot, so a backup's partial file or an export's temporary one stayed
    behind, and a restore could stop after the store was replaced, before its purge. Being a
    KeyboardInterrupt, it meets the cleanup Ctrl-C meets. `signum`: which of the two."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def sigterm_stops():
    """SIGTERM and SIGHUP raise Terminated while the block runs; one ignored by whoever
    started kefu (`nohup` ignores SIGHUP) or handled (a nested command, gunicorn's own) is
    left so."""
    import signal
    import threading

    signals = [signal.SIGTERM, signal.SIGHUP]
    if threading.current_thread() is not threading.main_thread():
        signals = []

    def stop(signum, frame):
        raise Terminated(signum)
    previous = {sig: signal.signal(sig, stop) for sig in signals if signal.getsignal(sig) is signal.SIG_DFL}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def handle_errors(fn):
    """The edge every command has: its text arguments decoded when they were not UTF-8
    (`_decoded`), and kefu's named errors, and what the system says about files (cannot
    create or write one, a store that is not a database), made a one-line message and
    exit status 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import sqlite3

        from kefu.kb.errors import KefuError

        # Glob patterns and import sources name files: like paths, they keep the bytes the
        # file system has.
        kwargs = {k: v if k in ("patterns", "sources") else _decoded(v) for k, v in kwargs.items()}
        try:
            try:
                with sigterm_stops():
                    result = fn(*args, **kwargs)
            except SystemExit:  # the command's own failure status (import: a failed file)
                when_stopped(None)
                sys.stdout.flush()
                if (behind := _index_behind()) is not None:
                    to_stderr(f"Error: {behind}")
                raise
            when_stopped(None)  # done: its output says what it did, not a stop after it
            # Written out here, where a reader that went away is caught, not at exit.
            sys.stdout.flush()
            if (behind := _index_behind()) is not None:
                raise IndexBehind(behind)
            return result
        except KefuError as exc:
            raise KefuClickError(exc, _explained(exc)) from None
        except BrokenPipeError:
            _reader_gone()
        except Terminated as stopped:
            _stopped(stopped.signum)
        except KeyboardInterrupt:
            # click's own handling exits 1, the status of kefu's errors (a bad line of a
            # file): a script could not tell that the user stopped the command
            import signal

            _stopped(signal.SIGINT)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None
        except sqlite3.DatabaseError as exc:
            # kefu's other SQLite files (a backup, a restore's source) name themselves in
            # KefuErrors: what SQLite raises here is about the store.
            ctx = click.get_current_context(silent=True)
            c = ctx.find_object(Context) if ctx is not None else None
            where = f": {c.home / 'kefu.db'}" if c is not None else ""
            if "locked" in str(exc) or "busy" in str(exc):
                from kefu.kb.errors import StoreBusy

                busy = StoreBusy(f"the store is busy ({exc}){where}; another kefu is writing to it: try again in a moment")
                raise KefuClickError(busy) from None
            store = c.opened_store() if c is not None else None
            if store is not None and store.read_only:
                raise click.ClickException(f"this user cannot write the store{where} (the file or its folder is "
                                           "read-only), so only reading commands and `kefu backup` work there: "
                                           "run kefu as a user who can write it") from None
            if any(w in str(exc) for w in ("disk I/O", "readonly", "unable to open", "disk is full")):
                from kefu.kb.store import full_disk_note

                full = full_disk_note(c.home) if c is not None else ""
                raise click.ClickException(f"SQLite could not do it: {exc}{where}{full}") from None
            raise click.ClickException(f"the store cannot be read ({exc}){where}; is it a kefu store? Restore a "
                                       "backup (`kefu restore FILE`) or use another --data-dir") from None
    return wrapper


def when_stopped(done: Callable[[], tuple[dict, str] | None] | None) -> None:
    """Tell a stop of this command what it has done so far (`_stopped`): `done()` gives the
    JSON its --json error carries as `done` and the line stderr gets ("" for none), or None;
    `done` None once the command has ended."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta["kefu.done"] = done


def _stopped(signum: int) -> NoReturn:
    """A command stopped by Ctrl-C, SIGTERM or SIGHUP: `Aborted!`, `Terminated` or `Hangup`
    on stderr, exit status 128 + the signal's number (130, 143, 129) as a shell reports
    it, and with --json the error on stdout too, as any failed command has it
    (`interrupted_error`): a script reading stdout as JSON got nothing at all. Not after
    the command printed its JSON already (`kefu serve --json` announcing the server, any
    command's output or error before its store is closed).
    What the command had done (`when_stopped`: an import's files already in the store)
    comes with it, under the error's `done` and on a line of its own on stderr."""
    from kefu.__main__ import interrupted_error

    error = interrupted_error(signum)
    ctx = click.get_current_context(silent=True)
    done = ctx.meta.get("kefu.done") if ctx is not None else None
    done = done() if done is not None else None
    to_stderr("\n" + error["error"]["message"])  # a hangup's terminal may be gone: to_stderr goes on then
    if done is not None:
        error["error"]["done"], said = done
        if said:
            to_stderr(said)
    if ctx is not None and ctx.meta.get("kefu.json") and not _STDOUT["emitted"]:
        try:
            _STDOUT["emitted"] = True
            click.echo(json.dumps(error, ensure_ascii=False, indent=2))
            sys.stdout.flush()
        except (OSError, ValueError):  # stdout's reader gone too: no one to tell
            _to_devnull(sys.stdout)
    sys.exit(128 + signum)


def _explained(error: Exception) -> str:
    """The error's message, with where the models come from after an IndexMismatch: `kefu
    reindex` alone rebuilds with config.json's models, `--models` switches the folder."""
    from kefu.kb.errors import IndexMismatch, KefuError

    message = str(error)
    ctx = click.get_current_context(silent=True)
    c = ctx.find_object(Context) if ctx is not None else None
    if isinstance(error, IndexMismatch) and c is not None:
        try:  # the library's fix, `kefu reindex`, rebuilds with config.json's models, not --models'
            message = f"{error.problem}; {c.models_advice()}"
        except KefuError:  # a damaged config.json: its own error comes with the next command
            pass
    return message


def _reader_gone():
    """The reader of stdout went away (`kefu export | head -1`): stop quietly, with the
    status of a command that SIGPIPE ended (128 + 13), as `cat` or `grep` does. stdout is
    pointed at /dev/null first, so Python's flush at exit cannot fail on it again. No note
    on the `?` shown: the reader that went away never saw them (nor the rest)."""
    _STDOUT["unshown"] = 0
    _to_devnull(sys.stdout)
    sys.exit(141)


def _index_behind():
    """The IndexNotUpdated the command's writes left (saved, but the index is stale), if any."""
    ctx = click.get_current_context(silent=True)
    c = ctx.find_object(Context) if ctx is not None else None
    kb = c._kb if c is not None else None
    return kb.index_error if kb is not None else None


class IndexBehind(click.ClickException):
    """The command's writes were saved and its output printed, but the index could not
    follow them: exit status 3, so that a script neither takes the write for failed (a
    retry would find it done) nor misses it. With --json stdout holds the command's JSON
    already; the message goes to stderr only."""

    exit_code = 3

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


class KefuClickError(click.ClickException):
    """A library error as click prints it, keeping the error for `--json` (`error_json`)."""

    def __init__(self, error: Exception, message: str | None = None):
        super().__init__(message or str(error))
        self.error = error


def error_json(exc: click.ClickException) -> dict:
    """{"error": {...}} for a failed command: the message, the code the web API gives the
    same error (`error_code`: not_found, conflict, invalid_field, invalid, busy…) or usage, the
    error's type, and the file, line (or item, page) and field when the error names them."""
    from kefu.kb.errors import error_detail

    error = getattr(exc, "error", exc)
    body = {**error_detail(error), "message": exc.format_message()}
    if isinstance(exc, click.UsageError):
        body["code"] = "usage"
        if isinstance(exc, click.BadParameter) and exc.param is not None:
            body["field"] = exc.param.name
    return {"error": body}


class JsonErrorsGroup(click.Group):
    """With --json anywhere in the command, a failed command also prints its error as
    JSON on stdout (`error_json`); the one-line message on stderr and the exit status stay."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["kefu.json"] = "--json" in (args[:args.index("--")] if "--" in args else args)
        fit_stdout(ctx, as_json=ctx.meta["kefu.json"])
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:  # an option of kefu itself (`kefu --threads 0 … --json`)
            _name_the_variable(exc)
            self._echo_error(ctx, exc)
            raise

    def invoke(self, ctx: click.Context):
        import signal

        failed = None
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            _name_the_variable(exc)
            _say_where_kefus_own_option_goes(ctx, exc)
            self._echo_error(ctx, exc)
            failed = exc
            raise
        except KeyboardInterrupt:  # outside the command's own handling (handle_errors): as it closes
            _stopped(signal.SIGINT)
        finally:
            # The store is closed here, not as click's main leaves the context: Ctrl-C
            # there, the command's output printed, was click's to handle (`Aborted!`,
            # status 1, which a script reads as an error of kefu's), not a stop (130).
            try:
                ctx.close()
            except KeyboardInterrupt:
                if failed is not None:
                    failed.show()  # the command's error, which click no longer gets to print
                _stopped(signal.SIGINT)

    @staticmethod
    def _echo_error(ctx: click.Context, exc: click.ClickException) -> None:
        if ctx.meta.get("kefu.json") and not isinstance(exc, IndexBehind):
            try:
                _STDOUT["emitted"] = True  # a stop as the store closes adds no second object
                click.echo(json.dumps(error_json(exc), ensure_ascii=False, indent=2))
            except OSError:  # stdout's reader gone (`kefu … --json | true`): the message and status still come
                _to_devnull(sys.stdout)
        _shown_to_any_stderr(exc)


def _shown_to_any_stderr(exc: click.ClickException) -> None:
    """click prints the error on stderr after kefu re-raised it: when stderr's reader had
    gone (a cron job's log pipe that died), the BrokenPipeError ended kefu with status 1,
    a usage error's 2 lost. Printed or not, the status stays the error's own."""
    show = exc.show

    def show_or_not(file=None) -> None:
        try:
            show(file)
        except OSError:
            _stderr_gone()
    exc.show = show_or_not


# This command's output, as `_stdout_fallback` writes it, where its note sends a reader, and
# whether its JSON was printed (`emit`).
_STDOUT = {"json": False, "unshown": 0, "exactly": "--json gives them exactly", "emitted": False}


def _stdout_fallback(error: UnicodeEncodeError) -> tuple[str, int]:
    """What stdout writes for characters its encoding has no bytes for (an emoji on a GBK
    terminal, simplified Chinese on a Big5 one): JSON escapes them (the JSON stays exact);
    text shows `?`, and the command says so at its end (`fit_stdout`)."""
    chars = error.object[error.start:error.end]
    if _STDOUT["json"]:
        return json.dumps(chars)[1:-1], error.end  # non-ASCII only: \uXXXX (a pair beyond the BMP)
    _STDOUT["unshown"] += len(chars)
    return "?" * len(chars), error.end


codecs.register_error("kefu.stdout", _stdout_fallback)


def fit_stdout(ctx: click.Context, as_json: bool) -> None:
    """Make stdout take any text when its encoding cannot (a terminal or pipe set to GBK,
    Big5 or ASCII): a customer's emoji otherwise ended the command with a UnicodeEncodeError
    traceback, after a part of the output. A stream with an error handler of its own
    (PYTHONIOENCODING=gbk:replace) is left as it is. A closed stdout takes the output away."""
    _STDOUT.update(json=as_json, unshown=0, exactly="--json gives them exactly", emitted=False)
    if sys.stdout is None:  # started with stdout closed (`>&-`): Python has none, and its flush failed
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    stream = sys.stdout
    try:
        "\U0001f600".encode(stream.encoding)  # an emoji: any encoding that takes it takes all (UTF-8, GB18030)
        return
    except (UnicodeError, LookupError, TypeError, AttributeError):
        pass
    if getattr(stream, "errors", None) != "strict" or not hasattr(stream, "reconfigure"):
        return
    stream.reconfigure(errors="kefu.stdout")

    def note() -> None:
        if _STDOUT["unshown"]:
            to_stderr(f"note: ? stands for {counted(_STDOUT['unshown'], 'character')} this terminal's encoding "
                      f"({stream.encoding}) cannot show: {_STDOUT['exactly']}, or use a UTF-8 terminal "
                      "(PYTHONIOENCODING=utf-8)")
    ctx.call_on_close(note)


def stdout_exactly(advice: str) -> None:
    """What gives this command's output exactly when a ? stands in it: not --json, which it lacks."""
    _STDOUT["exactly"] = advice


def stdout_json() -> None:
    """The command prints JSON whatever --json says (`kefu export --format jsonl`)."""
    _STDOUT["json"] = True


def _name_the_variable(exc: click.ClickException) -> None:
    """A bad value read from an environment variable (KEFU_THREADS=0 in a service's
    environment) names the variable: the option click names was never typed."""
    from click.core import ParameterSource

    param, ctx = getattr(exc, "param", None), getattr(exc, "ctx", None)
    if (isinstance(exc, click.BadParameter) and exc.param_hint is None and param is not None and ctx is not None
            and isinstance(param.envvar, str) and ctx.get_parameter_source(param.name) == ParameterSource.ENVIRONMENT):
        exc.param_hint = f"{param.get_error_hint(ctx)} (from ${param.envvar})"


def _say_where_kefus_own_option_goes(ctx: click.Context, exc: click.ClickException) -> None:
    """`kefu search --data-dir D …` said only "No such option '--data-dir'": an option of
    kefu itself typed after the command says that it goes before it."""
    if not isinstance(exc, click.NoSuchOption) or exc.ctx is None or exc.ctx.find_root() is not ctx:
        return
    own = {opt for param in ctx.command.params for opt in param.opts if opt not in ("--help", "--version")}
    if exc.option_name in own:
        command = exc.ctx.command_path.removeprefix(ctx.command_path).strip()
        exc.message = (f"{exc.message.rstrip('.')}: {exc.option_name} is an option of kefu itself, given before "
                       f"the command (kefu {exc.option_name} … {command} …)")
        exc.possibilities = None


def _decoded(value):
    """A text argument that was not UTF-8 (a terminal set to GBK or Big5: Python keeps its
    bytes as lone surrogates, which SQLite, OpenCC and printing cannot take) decoded as a
    message is (`decode_text`); paths (Path objects) stay as the file system has them."""
    if isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value):
        return decode_text(os.fsencode(value))
    if isinstance(value, (tuple, list)):
        return type(value)(_decoded(v) for v in value)
    return value


def require_store(home: Path) -> Path:
    """The store file of `home`; a one-line error when there is none. Opening a store
    creates it, so without this check a mistyped --data-dir or KEFU_HOME would answer
    from a new, empty store (no match, no entries) instead of saying what is wrong."""
    db = home / "kefu.db"
    if not db.is_file():
        raise click.ClickException(f"no store at {home}: run `kefu init` first (or check --data-dir / KEFU_HOME)")
    refuse_empty_store(db)
    return db


def refuse_empty_store(db: Path) -> None:
    """A one-line error when the store file exists but is empty (0 bytes: a disk that was
    full, a copy cut short). SQLite takes such a file for a new database: every command
    would answer from an empty store (no match, exit 0) as if nothing were lost."""
    if _empty_store(db):
        raise click.ClickException(f"the store file {db} is empty; restore a backup (`kefu restore FILE`) "
                                   "or run `kefu init` to start a new store")


def _empty_store(db: Path) -> bool:
    """Whether the store file exists with 0 bytes and no write-ahead log that holds pages."""
    def size(path: Path) -> int | None:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return None
    return size(db) == 0 and not size(db.with_name(db.name + "-wal"))


def needs_store(fn):
    """For commands that read or change existing content (below @click.pass_obj): they
    fail, creating nothing, when the data folder has no store. Commands that make
    content (init, import, add, restore, terms add, user add, token add) go without it."""
    @functools.wraps(fn)
    def wrapper(c: "Context", *args, **kwargs):
        require_store(c.home)
        return fn(c, *args, **kwargs)
    return wrapper


def long_work(fn):
    """For commands whose first line of output came after seconds of silence (below
    @click.pass_obj): `kefu learn replay` of 3,000 lines said nothing for ~17 s, most of it
    loading the models, before its first progress line. The workspace now says each slow
    step it begins (`Workspace.said`) on stderr (stdout, --json too, stays the result)."""
    @functools.wraps(fn)
    def wrapper(c: "Context", *args, **kwargs):
        c.said = to_stderr
        return fn(c, *args, **kwargs)
    return wrapper


def refuse_overwrite(path: Path, force: bool) -> None:
    """A one-line error when `path` exists and --force was not given: never write over a file unasked."""
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists: give another name, or --force to overwrite it")


def emit(data, as_json: bool, text) -> None:
    if dataclasses.is_dataclass(data):
        data = dataclasses.asdict(data)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        _STDOUT["emitted"] = True  # the command's JSON: an interruption after it adds none (`_stopped`)
    else:
        click.echo(text(data) if callable(text) else text)


def author() -> str:
    return os.environ.get("KEFU_AUTHOR") or os.environ.get("USER") or "cli"


@click.group(cls=JsonErrorsGroup)
@click.option("--data-dir", type=DataFolder(file_okay=False, path_type=Path), envvar="KEFU_HOME",
              help="Data folder (default: $KEFU_HOME, else $XDG_DATA_HOME/kefu, else ~/.local/share/kefu).")
@click.option("--models", envvar="KEFU_MODELS",
              help="Embedding models, comma-separated: use, e5, or a sentence-transformers "
                   "name/path (default: the data folder's config, else 'use,e5').")
@click.option("--threads", type=click.IntRange(1, 64), envvar="KEFU_THREADS",
              help="Threads of the e5 encoder (default: usable cores, at most 4; use 1 on a "
                   "machine whose cores are busy with other work).")
@click.version_option(version=__version__, prog_name="kefu")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, models: str | None, threads: int | None) -> None:
    """kefu (客服): FAQ knowledge base and reply suggestions for online-shop customer service."""
    # ~ expanded as in --models: KEFU_HOME=~/kb in a systemd unit or an env file reaches
    # kefu unexpanded, and named a folder `~` in the current folder.
    c = Context(data_dir.expanduser() if data_dir else default_home(), models, threads)
    ctx.obj = c
    ctx.call_on_close(c.close)


@cli.command()
@click.option("--sample", is_flag=True, help="Also import the shipped sample shop corpus.")
@json_option
@click.pass_obj
@handle_errors
def init(c: Context, sample: bool, as_json: bool) -> None:
    """Create the data folder and its config; build the index."""
    from kefu.kb.errors import IndexMismatch

    db = c.home / "kefu.db"
    if _empty_store(db):  # asked to start anew over an empty store file
        for path in (db, db.with_name("kefu.db-wal"), db.with_name("kefu.db-shm")):
            path.unlink(missing_ok=True)
    kb = c.kb()  # loads the models: a model that cannot load leaves config.json as it was
    c.config()  # a damaged config.json is named now, not after minutes of indexing
    try:
        kb.check_index_models()
    except IndexMismatch:
        # Other models than the index was built with: the index is built anew first, and
        # config.json names them just before it goes live (as a fine-tuned model switches).
        kb.rebuild(before_publish=lambda: c.switch_config(c.models))
    else:
        c.switch_config(c.models)
    report = None
    if sample:
        from kefu.corpus import ENTRIES, TERMS
        from kefu.kb.io import read_entries

        # Run again, it only adds what is missing: entries an editor changed or terms
        # removed stay as they are.
        if kb.store.count() == 0:
            kb.add_terms(TERMS.read_text(encoding="utf-8").split(), author="sample")
        report = kb.import_entries(read_entries(ENTRIES), on_conflict="skip", author="sample").counts()
    index = kb.index()
    out = {"data_dir": str(c.home), "models": c.models, "entries": kb.store.count(),
           "indexed": index.n_entries, "sample": report}

    def text(d: dict) -> str:
        line = (f"kefu data folder {d['data_dir']}: {counted(d['entries'], 'entry', 'entries')}, "
                f"{d['indexed']} indexed, models {d['models']}")
        if d["sample"] and d["sample"]["skipped"]:
            skipped = d["sample"]["skipped"]
            line += (f"\nsample: {d['sample']['added']} added, {skipped} already there kept as "
                     f"{'it is' if skipped == 1 else 'they are'}")
        return line
    emit(out, as_json, text)


# -- entries ----------------------------------------------------------------------

def _indented(text: str, pad: str) -> str:
    """Every line of `text` after `pad` (a blank line stays empty): an answer of several lines
    stays one block in text output, apart from the lines after it."""
    return "\n".join(pad + line if line.strip() else "" for line in text.split("\n"))


def _entry_text(e: dict) -> str:
    lines = [f"{e['id']}  [{e['category']}] {e['status']}  v{e['version']}",
             f"问: {e['question']}"]
    lines += [f"  ~ {s}" for s in e["similar"]]
    lines.append("答: " + _indented(e["answer"], "    ").lstrip())
    if e["tags"]:
        lines.append("标签: " + ", ".join(e["tags"]))
    if e["valid_from"] or e["valid_to"]:
        lines.append(f"有效期: {e['valid_from'] or '…'} ~ {e['valid_to'] or '…'}{_window_note(e)}")
    return "\n".join(lines)


def _window_note(e: dict) -> str:
    return f"  {_WINDOW_ZH[w]}" if (w := e["window"]) else ""


# As the console marks an entry outside its validity: neither is suggested, whatever the status says.
_WINDOW_ZH = {"expired": "已过期", "not_yet": "未生效", "unreadable": "有效期无法识别"}


def _to_terminal() -> bool:
    """Whether stdout is a terminal, a person reading rather than a script."""
    return sys.stdout.isatty()


def entry_options(fn):
    """Options shared by `add` and `edit`; only the ones given are applied."""
    for decorator in reversed([
        click.option("--question", "-q", help="Standard question."),
        click.option("--similar", "-s", multiple=True, help="A similar question (repeat; replaces the list)."),
        click.option("--answer", "-a", help="Answer text (- reads it from stdin: an answer of several lines)."),
        click.option("--category", "-c", help="售前 / 售中 / 售后 / 投诉 / 账户 or your own."),
        click.option("--tag", "-t", "tags", multiple=True, help="A tag (repeat; replaces the list)."),
        click.option("--status", type=click.Choice(["draft", "published", "archived"])),
        click.option("--valid-from", help="When the entry may first be suggested: YYYY-MM-DD (from local "
                                          "midnight) or an ISO date-time, local time unless it has an offset "
                                          "(2026-11-11T20:00, 2026-11-11T20:00+08:00); year first as a "
                                          "spreadsheet writes it too (2026/11/11 20:00, 2026.11.11, 2026年11月11日)."),
        click.option("--valid-to", help="When it is last suggested: YYYY-MM-DD (the whole day) or an ISO "
                                        "date-time, local time unless it has an offset; or as --valid-from "
                                        "takes it (2026/11/11, 2026年11月11日)."),
    ]):
        fn = decorator(fn)
    return fn


def _changes(question, similar, answer, category, tags, status, valid_from, valid_to) -> dict:
    if answer == "-":  # `-a - < answer.txt`: steps and lists are hard to quote in a shell
        answer = read_message(answer)
    values = {"question": question, "similar": list(similar) or None, "answer": answer,
              "category": category, "tags": list(tags) or None, "status": status,
              "valid_from": valid_from, "valid_to": valid_to}
    return {k: v for k, v in values.items() if v is not None}


@cli.command()
@click.option("--id", "entry_id", help="Entry id (generated when omitted).")
@entry_options
@json_option
@click.pass_obj
@handle_errors
def add(c: Context, entry_id, as_json, **fields) -> None:
    """Add an entry (published unless --status says otherwise)."""
    from kefu.kb.errors import DuplicateEntry, DuplicateQuestion

    data = _changes(**fields)
    if entry_id:
        data["id"] = entry_id
    try:
        entry = c.kb().add(data, author=author())
        _typed_notes(data.get("question"), data.get("similar", []))
    except DuplicateEntry as exc:  # point to the command that changes it
        taken = f" (question {exc.stored_question!r})" if exc.stored_question else ""
        raise KefuClickError(exc, f"entry id {exc.entry_id!r} already exists{taken}: change it with "
                                  f"`kefu edit {exc.entry_id}`, or give another --id") from None
    except DuplicateQuestion as exc:
        raise _renewing(c, exc) from None
    emit(entry.to_output(), as_json, _entry_text)


# The command that brings back an entry holding a question but not suggested (DuplicateQuestion.state);
# for "unreadable", only the bounds that cannot be read (see _renewing).
_RENEW = {"expired": "--valid-to YYYY-MM-DD", "not_yet": "--valid-from YYYY-MM-DD",
          "unreadable": "--valid-from YYYY-MM-DD --valid-to YYYY-MM-DD", "draft": "--status published"}


def _renewing(c, exc) -> Exception:
    """A DuplicateQuestion with the `kefu edit` that renews the entry holding the question,
    when it is one that is not suggested (an editor who took it for gone adds it again)."""
    from kefu.kb.entry import window_state

    if exc.state not in _RENEW:
        return exc
    options = _RENEW[exc.state]
    if exc.state == "unreadable":  # a bound that reads is right as it is: leave it
        entry = c.kb().store.get(exc.entry_id)
        bad = ["--valid-from YYYY-MM-DD"] if window_state(entry.valid_from, None) == "unreadable" else []
        bad += ["--valid-to YYYY-MM-DD"] if window_state(None, entry.valid_to) == "unreadable" else []
        options = " ".join(bad) or options
    return KefuClickError(exc, f"{exc}: `kefu edit {exc.entry_id} {options}`")


def if_version_option(fn):
    """The version the change was made on, and its content hash, as the API's `version` and
    `content_hash` and the console's form carry them: a script that read the entry (`kefu
    show --json`) and changes it later does not undo what someone else saved in between,
    even at a version number a restore of an older backup made come again."""
    fn = click.option("--if-hash", "expected_hash", metavar="HASH",
                      help="With --if-version: only if version N still has this content "
                           "(the content_hash of `kefu show --json`).")(fn)
    return click.option("--if-version", "expected", type=click.IntRange(min=0), metavar="N",
                        help="Only if the entry still is version N (else an error: it changed since).")(fn)


def _check_if_hash(expected: int | None, expected_hash: str | None) -> None:
    from kefu.kb.entry import is_content_hash

    if expected_hash is not None and not is_content_hash(expected_hash):
        raise click.UsageError(f"--if-hash {expected_hash!r} is no content hash: give the content_hash "
                               "(16 hex digits) of `kefu show --json`")
    if expected_hash is not None and expected is None:
        raise click.UsageError("--if-hash goes with --if-version: give the version the hash is of")


@cli.command()
@click.argument("entry_id")
@entry_options
@if_version_option
@json_option
@click.pass_obj
@handle_errors
@needs_store
def edit(c: Context, entry_id, expected, expected_hash, as_json, **fields) -> None:
    """Change fields of an entry; the old version is kept in its history."""
    from kefu.kb.errors import DuplicateQuestion

    changes = _changes(**fields)
    if not changes:
        raise click.UsageError("nothing to change: give at least one field option")
    _check_if_hash(expected, expected_hash)
    stored = c.kb().store.get(entry_id)
    before = stored.version
    try:
        entry = c.kb().update(entry_id, changes, author=author(), expected_version=expected,
                              expected_hash=expected_hash)
    except DuplicateQuestion as exc:
        raise _renewing(c, exc) from None
    # A new question may be one of the similar questions kept: those leave the list too.
    _typed_notes(changes.get("question", stored.question), changes.get("similar", stored.similar),
                 "question" in changes)
    _emit_saved(entry, before, as_json, "the entry already has these values")


def _typed_notes(question: str | None, similar: list[str], given: bool = True) -> None:
    """Notes on stderr, as the console flashes them after a save: a similar question left
    out as the standard question itself, and a standard question long enough to be an
    answer given as --question (saved all the same)."""
    from kefu.kb.entry import LONG_QUESTION, same_as_question

    for same in same_as_question(question, similar):
        to_stderr(f"note: similar question {same.strip()!r} is the standard question itself, so it was left out")
    if given and question and len(question.strip()) > LONG_QUESTION:
        to_stderr(f"note: the standard question has {len(question.strip())} characters (more than {LONG_QUESTION}): "
                  "saved, but is it an answer given as --question?")


def _emit_saved(entry, before: int, as_json: bool, unchanged: str) -> None:
    """The entry after an edit, archive or revert, with `changed` (false: the store saw the
    content it already had and recorded no version, as the console says 没有改动) and,
    in text, a note saying why (`unchanged`) then."""
    data = {**entry.to_output(), "changed": entry.version != before}
    note = f"\nnothing changed: {unchanged}; no new version recorded (still v{entry.version})"
    emit(data, as_json, lambda d: _entry_text(d) + ("" if d["changed"] else note))


@cli.command()
@click.argument("entry_id")
@if_version_option
@json_option
@click.pass_obj
@handle_errors
@needs_store
def archive(c: Context, entry_id, expected, expected_hash, as_json) -> None:
    """Archive an entry: it stays in the store and its history, but is no longer suggested."""
    _check_if_hash(expected, expected_hash)
    before = c.kb().store.get(entry_id).version
    _emit_saved(c.kb().archive(entry_id, author=author(), expected_version=expected, expected_hash=expected_hash),
                before, as_json, "it is archived already")


@cli.command()
@click.argument("entry_id")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def show(c: Context, entry_id, as_json) -> None:
    """Show one entry."""
    emit(c.store().get(entry_id).to_output(), as_json, _entry_text)


def _at_most_sqlite(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """At most SQLite's largest INTEGER: a bigger one (a finger left on the 9) cannot even
    be passed to it and failed with OverflowError's traceback; no store holds more entries.
    Only the top is capped: below the least (`--limit 0`) stays a usage error."""
    return min(value, SQLITE_MAX_INTEGER)


@cli.command(name="list")
@click.option("--status", type=click.Choice(["draft", "published", "archived"]))
@click.option("--category")
@click.option("--tag")
@click.option("--text", help="Only entries whose question, similar questions or answer contain this "
                                "(several words: each of them).")
@click.option("--limit", type=click.IntRange(1), callback=_at_most_sqlite, default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), callback=_at_most_sqlite, default=0)
@json_option
@click.pass_obj
@handle_errors
@needs_store
def list_(c: Context, status, category, tag, text, limit, offset, as_json) -> None:
    """List entries, with filters and paging (--limit, --offset); says when there are more."""
    store = c.store()
    entries = store.entries(status, category, tag, text, limit, offset)
    # Piped, four fields a line with a plain status, as scripts split and match them
    # (awk '$2=="published"', the status fed back to `kefu edit --status`); a person at a
    # terminal also sees a window mark (已过期, 未生效) as a fifth field, after the question.
    marks = _to_terminal()
    emit([e.to_output() for e in entries], as_json,
         lambda rows: "\n".join("\t".join([e["id"], e["status"], e["category"], e["question"]]
                                          + ([_WINDOW_ZH[e["window"]]] if marks and e["window"] else []))
                                for e in rows)
         or "(no entries)")
    total = store.count(status, category, tag, text)
    if len(entries) < total:
        # On stderr: the listing itself stays one entry a line for scripts.
        if entries:
            after = offset + len(entries)
            more = f"; the next ones: --offset {after}" if after < total else ""
            to_stderr(f"showing {offset + 1}-{after} of {counted(total, 'entry', 'entries')} "
                      f"(--limit N, --offset N){more}")
        else:
            to_stderr(f"--offset {offset} is past the end: {total} {'entry matches' if total == 1 else 'entries match'}")


@cli.command()
@click.argument("entry_id")
@click.option("--limit", type=click.IntRange(1),
              help="Show the newest N versions (oldest of them first); stderr says if there are more. "
                   "[default: 50; with --json, every version]")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def history(c: Context, entry_id, limit, as_json) -> None:
    """Show the versions of an entry: who changed what, when."""
    every = c.store().history(entry_id)
    if limit is None:  # an entry edited daily has hundreds: they flooded the terminal; a script reads them all
        limit = len(every) if as_json else 50
    changes = every[-limit:]

    def text(rows):
        out = []
        for ch in rows:
            before, after = ch["before"] or {}, ch["after"] or {}
            changed = [k for k in after if before.get(k) != after.get(k)]
            out.append(f"v{ch['version']}  {ch['at']}  {ch['author'] or '-'}  {ch['action']}"
                       f"  ({', '.join(changed)})")
            if ch["before"]:  # what changed, cut short (--json has it whole)
                out += [f"    {k}: {_change(before.get(k), after.get(k))}" for k in changed]
        return "\n".join(out)
    emit([dataclasses.asdict(ch) for ch in changes], as_json, text)
    if len(changes) < len(every):  # on stderr, as `kefu list` says it: stdout stays the listing
        to_stderr(f"showing the last {len(changes)} of {len(every)} versions (--limit N for more)")


def _short(value, width: int = 40) -> str:
    text = "、".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
    text = " ".join(text.split()) or "-"
    return text if len(text) <= width else text[:width - 1] + "…"


def _change(before, after, width: int = 40) -> str:
    """One changed field, `before → after`: a list as the items added (+) and removed (-),
    as the console's history shows it; a text cut short from a little before where the two
    sides differ, since both cut at their first `width` characters read the same when an
    answer changed past them."""
    if isinstance(before, list) and isinstance(after, list):
        changes = [f"+{x}" for x in after if x not in before] + [f"-{x}" for x in before if x not in after]
        return _short(changes, 2 * width) if changes else f"(order changed) {_short(after, 2 * width)}"
    old, new = _short(before, 10 ** 6), _short(after, 10 ** 6)
    if max(len(old), len(new)) <= width:
        return f"{old} → {new}"
    same = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    start = max(0, same - width // 4)
    if start:  # the common beginning, but for a few characters of context
        old, new = "…" + old[start:], "…" + new[start:]
    return f"{_short(old, width)} → {_short(new, width)}"


@cli.command()
@click.argument("entry_id")
@click.option("--to", "version", type=int, required=True, help="Version number to go back to.")
@if_version_option
@json_option
@click.pass_obj
@handle_errors
@needs_store
def revert(c: Context, entry_id, version, expected, expected_hash, as_json) -> None:
    """Give an entry back the content it had at an earlier version (recorded as a new version)."""
    _check_if_hash(expected, expected_hash)
    before = c.kb().store.get(entry_id).version
    _emit_saved(c.kb().revert(entry_id, version, author=author(), expected_version=expected,
                              expected_hash=expected_hash), before, as_json,
                f"version {version} has the content the entry has now")


def check_encoding(value: str | None) -> str | None:
    """--encoding checked before any file is read: with a name Python does not decode text
    with (base64, rot13), every file would fail alike."""
    from kefu.kb.importers.encoding import text_codec

    if value is not None:
        try:
            text_codec(value)
        except LookupError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


# -- index, search, eval ------------------------------------------------------------------

@cli.command()
@json_option
@click.pass_obj
@handle_errors
@needs_store
@long_work
def reindex(c: Context, as_json) -> None:
    """Rebuild the index from the store into a new folder and switch to it atomically.
    With --models other than config.json's, the folder switches to them (config.json too)."""
    from kefu.suggest.workspace import DEFAULT_MODELS

    config = c.config()
    switch = None
    if c._models:
        # An index of other models than config.json names would be refused by every later
        # command: the models given are recorded, as `kefu --models X init` does, when the
        # new index is complete, just before it goes live.
        if c._models != config.get("models", DEFAULT_MODELS):
            switch = c._models
    index = c.kb().rebuild(before_publish=(lambda: c.switch_config(switch)) if switch else None)
    # Rows are phrasings, plus one prototype per entry with learned phrasings.
    emit({"entries": index.n_entries, "rows": len(index.rows), "phrasings": len(index.rows) - len(index.prototypes),
          "models": list(index.models), "config_switched": switch is not None},
         as_json, lambda d: f"indexed {counted(d['entries'], 'entry', 'entries')} "
                            f"({counted(d['phrasings'], 'phrasing')}) with {', '.join(d['models'])}"
                            + ("; config.json now names these models" if d["config_switched"] else ""))


def read_message(message: str) -> str:
    """`-` reads the message from standard input (a long paste can exceed the OS argument
    limit), its bytes decoded by `decode_text`; an argument handle_errors decoded already.
    One final line break (`echo`, `print`) is no part of the message: it counted toward
    the length limit, so a message of exactly the limit was refused."""
    if message != "-":
        return message
    if sys.stdin is None:  # started with stdin closed (`<&-`, some service managers): Python has none
        raise click.ClickException("- reads standard input, and this command has none (it was closed): "
                                   "pipe the text in (`… - < file.txt`) or give it as an argument")
    if sys.stdin.isatty():  # else the command seems to hang
        to_stderr("reading standard input: type or paste the text, then Ctrl-D on a line of its own")
    text = decode_text(sys.stdin.buffer.read())
    return text.removesuffix("\r\n") if text.endswith("\r\n") else text.removesuffix("\n")


def _chinese_or_emoji(ch: str) -> bool:
    o = ord(ch)
    return 0x3000 <= o <= 0x303F or 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or \
        0xFF00 <= o <= 0xFFEF or 0x1F000 <= o <= 0x1FAFF  # emoji; GBK bytes make some planes beyond


def decode_text(data: bytes) -> str:
    """Text typed or piped in: UTF-8; mostly UTF-8 with a stray byte (that byte becomes
    U+FFFD: read as GB18030 the whole message would turn to nonsense); else decoded as an
    imported file is (GB18030 or Big5, whichever reads as Chinese: a terminal set to GBK
    passes GBK bytes, which Python keeps as undecodable surrogates); else UTF-8 with every
    undecodable byte U+FFFD, and the rest of the message is still answered."""
    from kefu.kb.errors import ImportFileError
    from kefu.kb.importers.encoding import decode

    data = data.removeprefix(codecs.BOM_UTF8)  # a file saved by Notepad: no part of the message
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    # Chinese characters, their punctuation or emoji read as UTF-8 are the evidence: GBK
    # bytes also make valid UTF-8 here and there (C6 AB is ƫ, EB B2 BB a Hangul syllable),
    # but hardly ever those.
    if not bad or sum(map(_chinese_or_emoji, lenient)) >= 2 * bad:
        return lenient
    try:
        return decode(data, "<message>")[0]
    except ImportFileError:
        return lenient


def _result_text(r: dict) -> str:
    out = [f"({r['script']}, {r['took_ms']:.1f} ms)"]
    out += [f"! {w}" for w in r["warnings"]]
    if r["no_match"]:
        out.append("没有合适的答案 (no good match)" + (" — closest:" if r["hits"] else ""))
    for i, h in enumerate(r["hits"], 1):
        out.append(f"{i}. [{h['confidence']:.2f}] {h['entry_id']} [{h['category']}] {h['question']}")
        if h["matched"] != h["question"]:
            out.append(f"   matched: {h['matched']}")
        if i == 1 and not r["no_match"]:
            out.append(f"   答: {h['answer']}")
    return "\n".join(out + _references_text(r["references"]))


@cli.command()
@click.argument("message")
@click.option("--top-k", "-k", type=click.IntRange(1, 50), default=5, show_default=True)
@json_option
@click.pass_obj
@handle_errors
@needs_store
@long_work
def search(c: Context, message, top_k, as_json) -> None:
    """Find the entries that answer a customer MESSAGE (simplified or traditional script; - reads stdin)."""
    from kefu.suggest.assistant import check_length
    from kefu.suggest.retrieve import Retriever

    text = read_message(message)
    check_length(text, [], {})  # as suggest and /api/search refuse it (only its end would be matched)
    retriever = Retriever(c.kb(), top_k=top_k)
    retriever.warm_up()  # so took_ms is the search itself, not loading
    result = retriever.search(text)
    emit(result.to_dict(), as_json, _result_text)


@cli.command(name="eval")
@click.option("--dataset", required=True, type=InputPath(exists=True, file_okay=False, path_type=Path),
              help="Folder with kb.jsonl and queries.jsonl (formats: README, Measuring your own knowledge base).")
@click.option("--learn", "learn", type=InputPath(exists=True, dir_okay=False, path_type=Path),
              help="Feedback file (learn.jsonl): scores before and after replaying it, every accept trusted.")
@click.option("--learn-parts", default="phrasings,prior", show_default=True,
              help="What the replay may use: phrasings (learned similar questions), prior (use statistics),"
                   " finetune (fine-tune the model on the accepts, kept only if the held-out part improves).")
@click.option("--encoding", callback=lambda _ctx, _param, value: check_encoding(value),
              help="Text encoding of the dataset files and --learn file (default: detected; UTF-8, GB18030/GBK or Big5).")
@json_option
@click.pass_obj
@handle_errors
@long_work
def eval_(c: Context, dataset, learn, learn_parts, encoding, as_json) -> None:
    """Measure recall@1/5, MRR, no-match P/R/F1 and latency on a benchmark folder."""
    from kefu.suggest.evaluate import evaluate

    if learn is None and click.get_current_context().get_parameter_source("learn_parts").name != "DEFAULT":
        raise click.UsageError("--learn-parts says what a --learn FILE replay may use: give the file too")
    parts = tuple(p.strip() for p in learn_parts.split(",") if p.strip())
    report = evaluate(dataset, c.load_models, progress=progress,
                      learn=learn, learn_parts=parts, encoding=encoding)

    from kefu.kb.text import terminal_columns  # a kind named in Chinese takes two columns a character

    def scores(d):
        lines = [f"queries {d['n_queries']} (answerable {d['n_answerable']})",
                 f"recall@1 {d['recall@1']:.3f}  recall@5 {d['recall@5']:.3f}  MRR {d['mrr']:.3f}",
                 f"gated: recall@1 {d['gated']['recall@1']:.3f}  MRR {d['gated']['mrr']:.3f}",
                 "no match: precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}".format(**d["no_match"]),
                 "latency ms: p50 {p50}  p95 {p95}  (floor: encodes + FAISS p50 {floor_p50}  p95 {floor_p95})"
                 .format(**d["latency_ms"]),
                 "by kind:"]
        for kind, k in d["by_kind"].items():
            kind_scores = (f"R@1 {k['recall@1']:.3f}  MRR {k['mrr']:.3f}" if k["n_answerable"]
                           else f"flagged no match {k['no_match']['recall']:.3f}")
            lines.append(f"  {kind}{' ' * max(1, 13 - terminal_columns(kind))}n={k['n_queries']:<4d} {kind_scores}")
        return lines

    def text(d):
        if "before" not in d:
            return "\n".join([f"{d['dataset']}  ({d['model']})"] + scores(d))
        learned = d["learn"]
        lines = [f"{d['dataset']}  ({d['before']['model']})",
                 f"replayed {learned['file']}: {counted(learned['events'], 'event')} ({learned['duplicates']} seen before),"
                 f" {counted(learned['trusted_phrasings'], 'trusted phrasing')}; parts: {', '.join(learned['parts'])}"]
        if learned["finetune"]:
            lines.append(f"fine-tuning: {learned['finetune']['reason']}")
        for key in ("before", "after"):
            lines += [f"\n{key}:"] + ["  " + line for line in scores(d[key])]
        delta = d["after"]["recall@1"] - d["before"]["recall@1"]
        lines.append(f"\nrecall@1 {delta:+.3f}; no-match precision "
                     f"{d['after']['no_match']['precision'] - d['before']['no_match']['precision']:+.3f}")
        return "\n".join(lines)
    emit(report, as_json, text)


def _suggestion_text(s: dict) -> str:
    head = (f"[{s['script']}] intent {s['intent']} ({s['stage']}), {s['sentiment']}, urgency {s['urgency']}"
            f"{'  — 没有合适的答案 (no good match)' if s['no_match'] else ''}  id {s['suggestion_id']}")
    out = [head] + [f"! {n}" for n in s["notes"]]
    for i, d in enumerate(s["drafts"], 1):
        out.append(f"\n草稿 {i} ({d['style']}{', ' + ', '.join(d['entry_ids']) if d['entry_ids'] else ''}):")
        out.append(_indented(d["text"], "  "))
        if d["missing_variables"]:
            out.append("  待填写: " + ", ".join(d["missing_variables"]))
        for f in d["flags"]:
            out.append(f"  ⚠ {f['word']} ({f['reason']}, {f['source']})")
        out += [f"  · {why}" for why in d["explanation"]]  # why: the match, the 话术 lines used
    out += _references_text(s["references"])
    return "\n".join(out)


def _references_text(refs: list[dict]) -> list[str]:
    """Document passages, quotable, each under its source (never presented as an answer)."""
    out = ["\n参考资料 (document passages, not curated answers):"] if refs else []
    for r in refs:
        where = Path(r["source"]).name + (f", 第{r['page']}页" if r["page"] else "") + (f" · {r['section']}" if r["section"] else "")
        out += [f"  [{where}]", "  " + r["text"].replace("\n", "\n  ")]  # a table's rows, indented too
    return out


@cli.command()
@click.argument("message")
@click.option("--context", "context_file", type=InputPath(exists=True, dir_okay=False, path_type=Path),
              help="Recent conversation, oldest first: JSON Lines (or a JSON array) of "
                   "{\"role\": \"customer\"|\"agent\", \"text\": …}, or lines of text as the panel "
                   "takes them (客户：… / 客服：…, or pasted from the chat app).")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="A variable for the drafts, e.g. --var 订单号=2026112812345678 (repeat).")
@json_option
@click.pass_obj
@handle_errors
@needs_store
@long_work
def suggest(c: Context, message, context_file, variables, as_json) -> None:
    """Reply drafts for a customer MESSAGE (- reads stdin), in the customer's script, with their entries."""
    from kefu.suggest.assistant import read_context

    from kefu.kb.text import to_simplified

    values, repeated, spelt = {}, [], {}  # spelt: a name as drafts match it (订单号) -> as given
    for item in variables:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--var")
        # 訂單號 and 订单号 are one variable (drafts match names in either script): the last wins
        if (same := to_simplified(name)) in spelt:
            values.pop(spelt[same])
            repeated += [same] if same not in repeated else []
        spelt[same] = name
        values[name] = value
    context = read_context(context_file) if context_file else []
    suggestion = c.assistant().suggest(read_message(message), context, values)
    if repeated:
        suggestion.notes.append(f"--var given more than once, the last value used: {', '.join(repeated)}")
    emit(suggestion.to_dict(), as_json, _suggestion_text)


@cli.command()
@click.argument("suggestion_id")
@click.argument("action", type=click.Choice(["accept", "edit", "reject", "no_match"]))
@click.option("--draft", type=click.IntRange(1), help="Which draft (1-3) the agent accepted, edited or rejected.")
@click.option("--text", help="The text the agent actually sent (for edit).")
@click.option("--agent", help="The agent who acted (default: $KEFU_AUTHOR, else $USER, else cli).")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def feedback(c: Context, suggestion_id, action, draft, text, agent, as_json) -> None:
    """Record what the agent did with a suggestion: accept, edit, reject, or no_match.

    The agent is --agent, else $KEFU_AUTHOR, else $USER, else cli: learning's trust rule counts
    different agents, so give each agent's feedback their own name. Learning counts one say per
    customer message, entry and side: a second agent's is logged, and a note says so."""
    from kefu.kb.feedback import MissingFeedback

    if agent is not None and not agent.strip():
        raise click.BadParameter("must name the agent", param_hint="--agent")
    agent = agent.strip() if agent is not None else author()
    try:
        logged = c.record_feedback(suggestion_id, action, draft, text, agent=agent)
    except MissingFeedback as exc:  # named as the API's field: here it is an option
        raise KefuClickError(exc, exc.naming(f"--{exc.field}")) from None
    emit({"feedback_id": logged.id, "suggestion_id": suggestion_id, "action": action, "draft": draft,
          "agent": agent, "note": logged.note}, as_json,
         lambda d: f"recorded {d['action']} for suggestion {d['suggestion_id']} by {d['agent']}"
                   + (f"\nnote: {d['note']}" if d["note"] else ""))


@cli.command()
@json_option
@click.pass_obj
@handle_errors
@needs_store
def purge(c: Context, as_json) -> None:
    """Delete now the suggestions, feedback and learning data past retention_days, and say how many."""
    emit(c.feedback_log().purge(progress), as_json,
         lambda d: f"deleted what was logged before {d['cutoff']} ({counted(d['retention_days'], 'day')}): "
                   f"{counted(d['suggestions'], 'suggestion')}, {counted(d['feedback'], 'feedback row')}, "
                   f"{counted(d['learn_events'], 'learning event')}, {counted(d['learned'], 'learned phrasing')}, "
                   f"{counted(d['message_vectors'], 'message vector')}")


@cli.command()
@json_option
@click.pass_obj
@handle_errors
@needs_store
def lint(c: Context, as_json) -> None:
    """List published entries whose answers contain flagged words (极限词, promises, sensitive words, and what
    the platforms penalise: 站外交易, 诱导好评, 索要隐私, 违规操作, 功效宣称); those in 话术 lines on stderr."""
    from kefu import corpus
    from kefu.kb.io import iter_jsonl, read_text
    from kefu.suggest.phrases import GIVEN_ID, repeated_ids
    from kefu.suggest.safety import REASONS, WARNABLE, word_list_problems

    words = c.data_file("sensitive_words.txt", corpus.SENSITIVE_WORDS)
    safety = c.safety()  # a list that cannot be read fails as it does for suggest (misconfigured), naming it
    for n, line, bad in word_list_problems(words):  # on stderr: --json output keeps its shape
        to_stderr(f"warning: {words}, line {n}: {bad!r} is not a reason ({', '.join(REASONS)}), so {line!r} is "
                  "read as one word, which no draft holds (fix the reason, or write the word without the space)")
    if not WARNABLE & set(safety.words.values()):  # an older kefu's list in the data folder; stderr keeps --json clean
        to_stderr(f"note: {words} has none of the groups {', '.join(sorted(WARNABLE))}; an older kefu's "
                  "copy files 加微信, 好评返现 and 刷单 under 敏感: merge in the new kefu's "
                  "corpus/sensitive_words.txt (see README, Upgrading kefu)")
    huashu = c.data_file("huashu.jsonl", corpus.HUASHU)
    c.phrases()  # a line the assistant cannot read is the error, naming it
    ids = []
    for n, d in iter_jsonl(huashu, read_text(huashu, option=None)):  # stderr too, by file and line
        ids.append((n, d.get("id")))
        if given := GIVEN_ID.fullmatch(str(d.get("id") or "")):
            to_stderr(f"warning: {huashu}, line {n}, field 'id': {d['id']} is the id kefu gives line {int(given[1])} "
                      "when it has none: rename it")
        if flags := safety.check(d["text"]):
            to_stderr(f"warning: {huashu}, line {n} (话术 {d.get('id') or f'line{n}'}): "
                      f"{', '.join(f'{f.word} ({f.reason})' for f in flags)}: every draft with this line flags it "
                      "to the agent")
    for same, lines in repeated_ids(ids).items():  # the console refuses saving a line so
        to_stderr(f"warning: {huashu}, lines {', '.join(map(str, lines))}, field 'id': all are {same}, which "
                  "drafts' explanations and the console's links cannot tell apart: give each its own id")
    rows = []
    for e in c.store().iter_published():
        for f in safety.check(e.answer):
            rows.append({"entry_id": e.id, "word": f.word, "reason": f.reason, "start": f.start,
                         "context": e.answer[max(0, f.start - 8):f.end + 8]})
    # one flag a line: the context's line breaks shown as ↵ (--json keeps them); last, the
    # flag's character offset in the answer, which tells apart two flags of one word
    emit(rows, as_json, lambda r: "\n".join(f"{x['entry_id']}\t{x['word']}\t{x['reason']}\t"
                                            f"…{x['context'].replace(chr(10), '↵')}…\tat {x['start']}"
                                            for x in r) or "no flagged entries")


# -- web ------------------------------------------------------------------------------

@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Processes; each loads the models and index once (about 0.5 GB each).")
@click.option("--threads", "web_threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Request threads per process (they share the process's knowledge base under a lock).")
@click.option("--allow-origin", "origins", multiple=True, metavar="ORIGIN",
              help="A help-desk origin whose appContext messages the panel accepts, e.g. https://chat.example.com "
                   "(repeatable; given, it replaces the origins set on the console's settings page).")
@click.option("--login-attempts", default=5, show_default=True, type=click.IntRange(0, 10000),
              envvar="KEFU_LOGIN_ATTEMPTS",
              help="Failed logins of one user name within --login-window before its logins are refused (0: no limit).")
@click.option("--login-attempts-per-address", default=20, show_default=True, type=click.IntRange(0, 10000),
              envvar="KEFU_LOGIN_ATTEMPTS_PER_ADDRESS",
              help="Failed logins (and, apart, different unknown API tokens) from one client address within --login-window "
                   "before its attempts are refused (0: no limit; behind a reverse proxy every client has the "
                   "proxy's address: raise it, or 0).")
@click.option("--login-window", default=15, show_default=True, type=click.IntRange(1, 10080),
              envvar="KEFU_LOGIN_WINDOW_MINUTES", help="Minutes a failed login counts for.")
@click.option("--secure-cookies", is_flag=True, envvar="KEFU_SECURE_COOKIES",
              help="Mark the login cookie Secure, for a server reached over HTTPS only (a reverse proxy "
                   "with TLS): over plain http a browser refuses it and logins fail.")
@click.option("--debug", is_flag=True, help="Flask's development server with the reloader and Werkzeug's debugger "
                                            "(one process; it shows tracebacks to visitors: keep --host 127.0.0.1).")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def serve(c: Context, host, port, workers, web_threads, origins, login_attempts, login_attempts_per_address,
          login_window, secure_cookies, debug, as_json) -> None:
    """Serve the agent panel (/), the editor console (/console) and the API (/api) over HTTP."""
    from kefu.web import parse_origins

    try:
        origins = parse_origins(origins)  # checked here: each worker would fail on its own
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-origin") from None
    # Only models forced on the command line (--models, $KEFU_MODELS): otherwise each worker
    # follows config.json, which `kefu learn finetune` and `kefu --models X init` switch.
    config = {"KEFU_HOME": str(c.home), "KEFU_MODELS": c._models, "KEFU_THREADS": c.threads,
              "KEFU_ALLOWED_ORIGINS": list(origins),  # none given: the data folder's setting
              "KEFU_LOGIN_ATTEMPTS": login_attempts, "KEFU_LOGIN_ATTEMPTS_PER_ADDRESS": login_attempts_per_address,
              "KEFU_LOGIN_WINDOW_MINUTES": login_window, "KEFU_SECURE_COOKIES": secure_cookies}
    # What would make every worker fail to boot is checked first, so it is one line, not
    # a worker's traceback after "kefu serving …": the configuration and the index's
    # models here, the address in run(). The models themselves load in the workers (their
    # threads do not survive a fork).
    c.config()
    c.check_models()  # a model folder that is gone: rebuilding the index would not help
    c.check_index_models()
    # Every suggestion, feedback and login is a write: on a store this user cannot write
    # (a folder made by root, served by a service user) each would be a 500.
    read_only = c.store().read_only
    c.close()  # the workers open their own, after the fork
    if read_only:
        raise click.ClickException(f"this user cannot write the store {c.home / 'kefu.db'} (the file or its folder "
                                   "is read-only), and kefu serve writes to it (every suggestion, feedback and "
                                   "login): run it as a user who can write the data folder")
    url = f"http://{host}:{port}/"

    def announce():
        emit({"url": url, "console": url + "console/", "openapi": url + "api/openapi.json", "data_dir": str(c.home),
              "workers": 1 if debug else workers}, as_json,
             lambda d: f"kefu serving {d['data_dir']} at {d['url']} (console: {d['console']}, API: {d['openapi']})")
        sys.stdout.flush()
        if as_json:
            _stdout_to_stderr()

    if debug:
        from werkzeug.serving import is_running_from_reloader

        if not is_running_from_reloader():  # the reloader's server process runs kefu serve again
            announce()
        from kefu.web import create_app
        from kefu.web.server import debug_request_handler

        create_app(config).run(host=host, port=port, debug=True, use_reloader=True,
                               request_handler=debug_request_handler())
        return
    from kefu.web.server import run

    # run() checks the address before announcing (an OSError, made one line by handle_errors)
    if run(config, host, port, workers, web_threads, announce) is False:
        sys.exit(1)  # a worker could not start: it printed why (`Error: …`)


def _stdout_to_stderr() -> None:
    """What is written to stdout from now on goes to stderr: after `kefu serve --json`'s one
    JSON object came gunicorn's access log (its `-` is stdout) and, with --debug, Flask's
    banner, and a script reading stdout as JSON failed at the server's first request."""
    try:
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no files (a test's runner): nothing to point
        pass


# The other command groups live in their own modules, which import this one's helpers.
from kefu.cli_admin import terms, token, user  # noqa: E402
from kefu.cli_files import backup, export, import_, passages, restore  # noqa: E402
from kefu.cli_learn import learn, stats  # noqa: E402

for command in (import_, passages, export, backup, restore, terms, user, token, learn, stats):
    cli.add_command(command)

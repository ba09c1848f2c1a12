"""`kefu import`, `passages`, `export`, `backup`, `restore`: entries and the store in and out
of files. Registered by cli.py, whose helpers they use."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Callable

import click

from kefu.cli import (Context, InputPath, KefuClickError, _decoded, author, check_encoding, counted, emit,
                      handle_errors, json_option, long_work, needs_store, progress, refuse_overwrite, require_store,
                      stdout_exactly, stdout_json, to_stderr, when_stopped)
from kefu.kb.text import terminal_columns

@click.command(name="import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))  # exists: checked in import_
@click.option("--glob", "patterns", multiple=True, metavar="PATTERN",
              help="In folders, only files whose name matches (repeatable), e.g. '*.xlsx'.")
@click.option("--on-conflict", type=click.Choice(["error", "update", "skip"]), default="error",
              show_default=True, help="What to do with a row whose entry (same id, or same question) "
                                      "exists with other content.")
@click.option("--encoding", callback=lambda _ctx, _param, value: check_encoding(value),
              help="Text encoding of the files (default: detected; UTF-8, UTF-16 with a BOM, GB18030/GBK or Big5).")
@click.option("--dry-run", is_flag=True, help="Show what would be added, updated, pruned or rejected; write nothing.")
@click.option("--prune", is_flag=True, help="Archive entries imported earlier from the same file that it no longer has.")
@click.option("--skip-bad-rows", is_flag=True,
              help="Import a file's valid rows even if some rows are rejected (default: the file imports nothing).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON report to this file; rejected rows go beside it "
                   "(rep.json: rep.rejected.csv; without --report: kefu-import.rejected.csv here).")
@click.option("--template", type=click.Choice(["xlsx", "csv"]),
              help="Write an example FAQ file with the expected columns (to -o, default kefu-template.<fmt>; "
                   "no PATH: it imports nothing).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File for --template; its extension must be the format's.")
@click.option("--force", is_flag=True, help="With --template: overwrite the -o file if it exists.")
@json_option
@click.pass_obj
@handle_errors
@long_work
def import_(c: Context, paths, patterns, on_conflict, encoding, dry_run, prune, skip_bad_rows,
            report_path, template, output, force, as_json) -> None:
    """Import FAQ files (CSV/TSV, XLSX, JSON/JSONL, FAQ Markdown) and documents (DOCX, PDF,
    HTML, TXT, Markdown) from files or folders; each file is all-or-nothing."""
    from kefu.kb.bulk import (REJECTED_SUFFIX, BulkImporter, ImportOptions, rejected_path, source_key, walk,
                              write_rejected)
    from kefu.kb.importers import SUFFIXES
    from kefu.suggest.workspace import OWN_FILES

    if template:
        if paths:  # the file to write is -o's; writing and importing at once would be two commands
            raise click.UsageError(f"--template writes an example file and imports nothing: name it with -o "
                                   f"(default kefu-template.{template}), not as a PATH ({paths[0]})")
        out = output or Path(f"kefu-template.{template}")
        # kefu import reads a file by its extension: a CSV named .xlsx would not import.
        if out.suffix.lower() != f".{template}":
            raise click.BadParameter(f"--template {template} writes {template.upper()}: name the file "
                                     f".{template}, not {out.name!r}", param_hint="--output")
        refuse_overwrite(out, force)  # -o faq.xlsx is also the usual name of the shop's own FAQ
        write_template(template, out)
        emit({"template": str(out)}, as_json, lambda d: f"wrote {d['template']}: fill it in and run `kefu import {d['template']}`")
        return
    if not paths:
        raise click.UsageError("give files or folders to import (or --template xlsx|csv)")
    # Checked here, not by click, so that --template with a path is told about -o even when
    # the path does not exist; the same error as click's own check.
    ctx = click.get_current_context()
    param = next(p for p in ctx.command.params if p.name == "paths")
    for path in paths:
        InputPath(exists=True)(str(path), param, ctx)
    if report_path and not report_path.parent.is_dir():
        raise click.BadParameter(f"folder {report_path.parent} does not exist", param_hint="--report")
    skipped: list[str] = []  # a folder's .xls and .doc files, said rather than passed over
    files = list(walk(paths, patterns, skipped, [c.home / name for name in OWN_FILES]))
    if report_path and any(source_key(report_path) == source_key(f) for f in files):
        raise click.BadParameter(f"{report_path} is a file being imported: name another file for the report",
                                 param_hint="--report")
    if not files:
        matching = "".join(f" matching --glob '{p}'" if i == 0 else f" or '{p}'" for i, p in enumerate(patterns))
        raise click.ClickException(f"no importable files found{matching} (kefu reads {' '.join(SUFFIXES)})"
                                   + "".join(f"\nskipped {s}" for s in skipped))
    if dry_run and not (c.home / "kefu.db").is_file():
        # A dry run writes nothing, not even a new, empty store in a mistyped --data-dir (which
        # then answered "no match" instead of "no store"): it previews into a scratch store.
        import tempfile

        scratch = tempfile.TemporaryDirectory(prefix="kefu-dry-run-")
        click.get_current_context().call_on_close(scratch.cleanup)
        c.home = Path(scratch.name)
    # What is in the data folder before a store is made in it: a store this command makes
    # and leaves empty (every file failed) is removed again, with the folder if it was new.
    made = None if dry_run or (c.home / "kefu.db").exists() else _folder_state(c.home)
    new_home = c.home if made is not None else None
    importer = None
    with _reported_if_stopped(report_path, lambda signum: _stopped_report(
            importer.done if importer is not None else [], files, new_home, skipped, dry_run, signum)):
        try:
            kb = c.kb()
            importer = BulkImporter(kb, ImportOptions(on_conflict, encoding, prune, dry_run, skip_bad_rows,
                                                      author()), starting=_file_starting)
            if not dry_run:  # stopped after a file went in, a script must learn that it did
                when_stopped(lambda: _imported_so_far(importer.done, files, new_home, dry_run))
            results = importer.run(files)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM: a store it made holding nothing goes, as below
            if made is not None and _holds_nothing(c.home / "kefu.db"):
                c.close()
                _undo_new_store(c.home, made)
            raise
        entries = kb.store.count()
        if made is not None and not entries and not kb.store.passage_count():
            c.close()
            _undo_new_store(c.home, made)
        elif not dry_run:
            kb.build_index()  # a failure here is told after the summary (handle_errors)
    report = {"files": _file_reports(results, dry_run), "dry_run": dry_run,
              "totals": _import_totals(results), "entries": entries, "skipped_files": skipped}
    if made is not None and not (c.home / "kefu.db").exists():
        report["no_store"] = str(c.home)  # none was made: nothing came in
    if failure := _first_failure(results):  # the shape of every command's --json error
        report["error"] = failure
    if importer.problems and not dry_run:  # a dry run writes nothing; its output lists the rows
        rejected = rejected_path(report_path.with_suffix(REJECTED_SUFFIX) if report_path
                                 else Path("kefu-import" + REJECTED_SUFFIX), files)
        try:
            write_rejected(importer.problems, rejected)
            report["rejected_file"] = str(rejected)
        except OSError as exc:  # the import itself is done: say where the rows could not go
            to_stderr(f"warning: could not write the rejected rows to {rejected.resolve()}: "
                      f"{exc.strerror or exc} (give --report PATH in a folder you can write)")
            report["rejected_file"] = None
    if report_path:
        report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    emit(report, as_json, _import_text)
    if any(r.status == "failed" or r.rejected for r in results):
        sys.exit(1)


# Files an interrupted import's line names, of those done and of those not
NAMES_SHOWN = 10


def _imported_so_far(done: list, files: list[Path], new_home: Path | None = None,
                     dry_run: bool = False) -> tuple[dict, str]:
    """What an import stopped by Ctrl-C or SIGTERM had done, for its error: the report of
    each file it finished (imported, or failed), as the summary's `files`, their totals,
    and the files it had not finished, in `remaining` (the one it was importing went in
    whole or not at all). Importing them all again is safe: rows already in come back
    unchanged. Stopped after the last file (bringing the index up to date), the index
    catches up at the next search. `new_home`: the data folder when this import was to
    make its store; `no_store` names it when none is left (nothing had gone in)."""
    from kefu.kb.importers import path_text

    remaining = [path_text(p) for p in files[len(done):]]
    data = {"files": _file_reports(done, dry_run), "totals": _import_totals(done), "remaining": remaining}
    if new_home is not None and not (new_home / "kefu.db").exists():
        data["no_store"] = str(new_home)
    if not done:
        return data, ""
    parts = []
    for what, names in (("imported before the stop", [r.file for r in done if r.status == "imported"]),
                        ("failed", [r.file for r in done if r.status == "failed"]),
                        ("not imported", remaining)):
        if names:
            more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
            parts.append(f"{what}: {', '.join(names[:NAMES_SHOWN])}{more}")
    said = "; ".join(parts)
    said += (" (importing them all again is safe: rows already in come back unchanged)" if remaining
             else " (the index catches up at the next search)")
    return data, said


@contextlib.contextmanager
def _reported_if_stopped(report_path: Path | None, report: Callable[[int], dict]):
    """An import stopped (Ctrl-C, SIGTERM, SIGHUP) inside the block writes the --report file
    it was asked for all the same: `report(signum)`. Without it a script (or a person back
    at the terminal) found no report at all, or an earlier run's. One that cannot be written
    is said on stderr; the stop goes on, with its status."""
    try:
        yield
    except KeyboardInterrupt as stopped:
        if report_path is not None:
            import signal

            text = json.dumps(report(getattr(stopped, "signum", signal.SIGINT)), ensure_ascii=False, indent=2)
            try:
                report_path.write_text(text, encoding="utf-8")
            except OSError as exc:
                to_stderr(f"warning: could not write the report to {report_path}: {exc.strerror or exc}")
        raise


def _stopped_report(done: list, files: list[Path], new_home: Path | None, skipped: list[str], dry_run: bool,
                    signum: int) -> dict:
    """The --report of an import stopped by `signum`: the summary's fields for the files it
    finished (`_imported_so_far`), the files it had not (`remaining`), and as its `error` the
    `interrupted` error a stopped command gives (no `entries`: the store was not read again)."""
    from kefu.__main__ import interrupted_error

    data, _ = _imported_so_far(done, files, new_home, dry_run)
    report = {"files": data["files"], "dry_run": dry_run, "totals": data["totals"], "remaining": data["remaining"],
              "skipped_files": skipped}
    if "no_store" in data:
        report["no_store"] = data["no_store"]
    report["error"] = interrupted_error(signum)["error"]
    return report


def _folder_state(home: Path) -> tuple[Path, set[str] | None]:
    """`home` and the names in it now; or, when it does not exist yet, the first folder of
    its path that does not (`home` itself, or one above it) and None."""
    if home.exists():
        return home, set(os.listdir(home))
    missing = home
    while not missing.parent.exists() and missing.parent != missing:
        missing = missing.parent
    return missing, None


def _holds_nothing(db: Path) -> bool:
    """Whether the store this import made has no entry and no passage yet (read apart from
    the command's own connection, which a stop may have left mid-statement). A store not
    yet set up (stopped while it was made) holds nothing either."""
    import sqlite3

    if not db.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as con:
            tables = {name for (name,) in con.execute("select name from sqlite_master where type = 'table'")}
            return not any(table in tables and con.execute(f"select exists (select 1 from {table})").fetchone()[0]
                           for table in ("entries", "passages"))
    except sqlite3.Error:  # unreadable now: not taken for empty, it stays
        return False


def _undo_new_store(home: Path, made: tuple[Path, set[str] | None]) -> None:
    """Remove what an import that wrote nothing left in the data folder (the store it
    opened, its index): a mistyped --data-dir never becomes an empty store that answers
    "no entries" instead of "no store" (README). A folder it made goes whole; in one that
    was there, only the names it added."""
    import shutil

    top, before = made
    if before is None:
        shutil.rmtree(top, ignore_errors=True)
        return
    for name in sorted(set(os.listdir(home)) - before):
        path = home / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _file_reports(results, dry_run: bool) -> list[dict]:
    """Each file's part of the summary. `diff` only in a dry run's: a real run's would be
    the same changes again, which `kefu history` keeps, and an empty list there read as
    "nothing changed"."""
    files = [dataclasses.asdict(r) for r in results]
    if not dry_run:
        for f in files:
            del f["diff"]
    return files


def _first_failure(results) -> dict | None:
    """What makes the import exit 1, as --json errors are given: the first failed file's
    error, else the first rejected row (imported past with --skip-bad-rows); None if neither."""
    for r in results:
        if r.error_detail is not None:
            return r.error_detail
    return next((r.rejected_detail[0] for r in results if r.rejected_detail), None)


# Entries whose dry-run changes the text report prints, as it prints 20 rejected rows: a
# shop's whole spreadsheet printed 18,000 lines, the counts long scrolled away (--json has all).
DIFF_SHOWN = 50


def _shown(value) -> str:
    """A dry-run diff's side as `kefu history` shows a value (a list joined with 、, nothing as
    -), not as a Python value; whole, since the preview is where an editor reads the
    change, an answer's further lines indented under it."""
    text = "、".join(map(str, value)) if isinstance(value, list) else "-" if value is None else str(value)
    return text.replace("\n", "\n        ")


def _import_totals(results) -> dict[str, int]:
    keys = ("added", "updated", "unchanged", "skipped", "pruned")
    totals = {k: sum(getattr(r, k) for r in results) for k in keys}
    totals["passages"] = sum(r.passages.get("added", 0) + r.passages.get("updated", 0) for r in results)
    totals["rejected_rows"] = sum(len(r.rejected) for r in results)
    totals["failed_files"] = sum(r.status == "failed" for r in results)
    return totals


def _cut_left(name: str, width: int) -> str:
    """`name` in at most `width` terminal columns: cut from the left, behind a `…`, so
    that a path keeps its file name."""
    if terminal_columns(name) > width:
        while name and terminal_columns(name) > width - 1:
            name = name[1:]
        name = "…" + name
    return name


def _file_cell(name: str, width: int = 40) -> str:
    """`name` cut from the left and padded to `width` terminal columns, so that the
    columns after a Chinese file name line up under their headers."""
    name = _cut_left(name, width)
    return name + " " * (width - terminal_columns(name))


def _file_starting(i: int, n: int, name: str) -> None:
    """The progress line of each file an import begins, `file: 3/40 faqs/b.csv`: the
    count lines (`files: 2/40`, `rows: 8/8`) named none, so a slow file among 40 was read
    with no word of which. The progress format, `stage: done/total`, with the file after
    it as the summary names it; a line for every file, in a log too, where the counts
    come each quarter. On a terminal it replaces the live count line, and a path too
    long for the width is cut from the left, so that the line is not wrapped."""
    import shutil

    line = f"file: {i}/{n} "
    if sys.stderr.isatty():
        width = max(shutil.get_terminal_size().columns - 1 - len(line), 12)
        to_stderr(f"\r\033[K{line}{_cut_left(name, width)}")
    else:
        to_stderr(line + name)


def _import_text(d: dict) -> str:
    """A summary table, then each failed file's error, rejected rows, notes and the dry-run diff."""
    from kefu.kb.bulk import note_of_file

    lines = [f"{'file':40} {'status':8} {'added':>6} {'updated':>7} {'unchanged':>9} {'skipped':>7} "
             f"{'pruned':>6} {'passages':>8} {'rejected':>8}"]
    for r in d["files"]:
        passages = sum(r["passages"].get(k, 0) for k in ("added", "updated"))
        lines.append(f"{_file_cell(r['file'])} {r['status']:8} {r['added']:>6} {r['updated']:>7} {r['unchanged']:>9} "
                     f"{r['skipped']:>7} {r['pruned']:>6} {passages:>8} {len(r['rejected']):>8}")
    t = d["totals"]
    lines.append(f"{'total':40} {'':8} {t['added']:>6} {t['updated']:>7} {t['unchanged']:>9} "
                 f"{t['skipped']:>7} {t['pruned']:>6} {t['passages']:>8} {t['rejected_rows']:>8}")
    for r in d["files"]:
        if r["error"]:  # several conflicting rows: one a line
            lines.append("ERROR " + r["error"].replace("\n", "\n  "))
        lines += [f"  rejected: {m}" for m in r["rejected"][:20]]
        if len(r["rejected"]) > 20:
            lines.append(f"  … {counted(len(r['rejected']) - 20, 'more rejected row')}")
        lines += [f"  note: {note_of_file(n, r['file'])}" for n in r["notes"]]
        if r["passages"]:  # a document: the table's column counts only the passages written
            lines.append(f"  passages of {r['file']}: " + ", ".join(f"{r['passages'].get(k, 0)} {k}" for k in
                                                                  ("added", "updated", "unchanged", "removed")))
        diff = r.get("diff", [])
        if diff:
            lines.append(f"  changes from {r['file']}:")
        for change in diff[:DIFF_SHOWN]:
            lines.append(f"  {change['action']} {change['id'] or '(new entry)'}")
            for name, (before, after) in change["changes"].items():
                lines.append(f"      {name}: {_shown(before)} → {_shown(after)}")
        if len(diff) > DIFF_SHOWN:
            lines.append(f"  … {counted(len(diff) - DIFF_SHOWN, 'more changed entry', 'more changed entries')}"
                         " (--json lists them all)")
    lines += [f"note: skipped {s}" for s in d.get("skipped_files", [])]
    if "rejected_file" in d:
        lines.append(f"rejected rows written to {d['rejected_file']} (fix them there and import that file)")
    if "no_store" in d:
        lines.append(f"nothing was imported, so no store was made at {d['no_store']}")
    else:
        lines.append(("dry run: nothing was written; " if d["dry_run"] else "")
                     + f"{counted(d['entries'], 'entry', 'entries')} in the store" + _documents_read(d["files"]))
    return "\n".join(lines)


def _documents_read(files: list[dict]) -> str:
    """The last line's part for the documents imported (or previewed): `; 48 passages
    from 3 documents`, the passages they hold now, changed or not; "" when there were
    none. The line counted the entries alone: an import of 40 files, a dozen of them
    manuals, ended with `120 entries in the store` and nothing of what the manuals gave."""
    documents = [f for f in files if f["kind"] == "document" and f["status"] != "failed"]
    if not documents:
        return ""
    held = sum(f["passages"].get(k, 0) for f in documents for k in ("added", "updated", "unchanged"))
    return f"; {counted(held, 'passage')} from {counted(len(documents), 'document')}"


@click.group()
def passages() -> None:
    """Passages of imported documents (reference text beside the answers), by source file."""


@passages.command(name="list")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def passages_list(c: Context, as_json) -> None:
    """List the imported documents: source, type, passages, when their passages last changed."""
    rows = [dataclasses.asdict(s) for s in c.store().passage_sources()]
    emit(rows, as_json, lambda d: "\n".join(f"{r['source']}\t{r['type'] or '-'}\t{counted(r['passages'], 'passage')}"
                                            f"\t{r['imported_at']}" for r in d) or "(no documents imported)")


@passages.command(name="remove")
@click.argument("sources", nargs=-1, required=True)
@json_option
@click.pass_obj
@handle_errors
@needs_store
def passages_remove(c: Context, sources, as_json) -> None:
    """Remove every passage of the SOURCES (a path, or a source as `kefu passages list`
    shows it): all of them, or none when one has no passages."""
    from kefu.kb.errors import SourceNotFound

    kb = c.kb()
    known = [s.source for s in kb.store.passage_sources()]
    named = {_source_typed(name, known): name for name in sources}
    who = author()
    try:
        removed = kb.remove_passages(list(named), author=who)
    except SourceNotFound as exc:  # said as the user typed it, in the terminal's characters
        asked = SourceNotFound([_decoded(named.get(s, s)) for s in exc.sources])
        raise KefuClickError(asked, f"{asked}: nothing was removed (`kefu passages list` shows "
                                    "the sources)") from None
    out = {"removed": [{"source": s, "passages": n} for s, n in removed.items()], "author": who}
    emit(out, as_json, lambda d: "\n".join(f"removed {counted(r['passages'], 'passage')} of {r['source']}"
                                           for r in d["removed"]))


def _source_typed(name: str, known: list[str]) -> str:
    """The source `name` stands for (`source_named`), as a path with the bytes the file
    system has; when that is no source and the name was not UTF-8 (a GBK terminal over a
    UTF-8 locale), the name decoded as a message is, when it is a listed source or an upload
    named so (uploads and listed sources are text, never the terminal's bytes)."""
    from kefu.kb.bulk import source_named

    key = source_named(name, known)
    if key not in known and (text := _decoded(name)) != name and text in known:
        return text
    return key


# -- export, backup, restore ----------------------------------------------------------

@contextlib.contextmanager
def open_output(path: Path, fmt: str, encoding: str = "utf-8"):
    """`path` opened for writing entries in `fmt`, through a file beside it renamed over it
    when complete: a write cut short (a full disk, Ctrl-C) leaves an old file whole and no
    half-written one. A symlink is written through, and the file keeps its mode. A FIFO or
    other special file, or a file in a folder this user cannot write, is written directly
    (no file can go beside it). A one-line error naming `path` if it cannot be written (the
    system's error for a failed write names no file)."""
    import shutil

    from kefu.kb.files import temp_beside

    real = Path(os.path.realpath(path))

    def opened(target):
        return (open(target, "wb") if fmt == "xlsx"
                else open(target, "w", encoding=encoding, newline=""))
    tmp = None
    try:
        if (real.exists() and not real.is_file()) or not os.access(real.parent, os.W_OK | os.X_OK):
            with opened(real) as fh:
                yield fh
            return
        tmp, fd = temp_beside(real)
        with opened(fd) as fh:
            yield fh
        if real.exists():
            shutil.copymode(real, tmp)
        os.replace(tmp, real)
    except OSError as exc:
        _collected_quietly()
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _collected_quietly() -> None:
    """What a failed write left to be collected, collected now without a word: openpyxl's
    half-written parts fail again as they are (`Exception ignored in …`), when the error
    printed says what happened already."""
    import gc

    hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


def write_template(fmt: str, out: Path) -> None:
    """An example FAQ file in the columns kefu reads (Chinese headers, two sample rows)."""
    from kefu.kb.entry import Entry
    from kefu.kb.io import write_entries

    rows = [Entry(id="", question="多久发货？", answer="亲，付款后48小时内发货，预售商品以页面写明的时间为准。",
                  similar=["什么时候发货", "几天能发出"], category="售中", tags=["物流"]),
            Entry(id="", question="支持七天无理由退货吗？", answer="支持的，签收后7天内商品完好可申请无理由退货。",
                  similar=["能退货吗", "不喜欢可以退吗"], category="售后", tags=["退货"])]
    with open_output(out, fmt, encoding="utf-8-sig") as fh:
        write_entries(rows, fmt, fh)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "xlsx"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@click.option("--status", type=click.Choice(["draft", "published", "archived"]), help="Only entries with this status.")
@click.option("--force", is_flag=True, help="Overwrite the -o file if it exists.")
@json_option
@click.pass_obj
@handle_errors
@needs_store
def export(c: Context, fmt, output, status, force, as_json) -> None:
    """Write entries in a format `kefu import` reads back unchanged (to stdout without -o;
    with -o, --json prints the summary as JSON)."""
    from kefu.kb.io import check_fits, write_entries

    if fmt == "xlsx" and not output:
        raise click.UsageError("--format xlsx needs --output FILE")
    if as_json and not output:
        raise click.UsageError("--json prints the summary of a file written with --output; the "
                               "entries themselves come in --format (jsonl for JSON Lines)")
    entries = c.store().entries(status=status)
    if output:
        check_fits(entries, fmt)  # before the file is opened: an existing one stays as it was
        refuse_overwrite(output, force)  # an editor's own FAQ file of the same name is not lost
        # A BOM tells Excel the CSV is UTF-8 (without one, Chinese Windows reads it as GBK)
        with open_output(output, fmt, encoding="utf-8-sig" if fmt == "csv" else "utf-8") as fh:
            n = write_entries(entries, fmt, fh)
        emit({"file": str(output), "format": fmt, "entries": n}, as_json,
             lambda d: f"wrote {counted(d['entries'], 'entry', 'entries')} to {d['file']}")
    else:
        if fmt == "jsonl":
            stdout_json()
        stdout_exactly("-o FILE writes them exactly")
        write_entries(entries, fmt, sys.stdout)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@json_option
@click.pass_obj
@handle_errors
def backup(c: Context, file, force, as_json) -> None:
    """Copy the store to FILE with SQLite's online backup (safe while kefu is in use)."""
    from kefu.kb.store import backup as do_backup
    from kefu.kb.store import check_backup_target

    db = require_store(c.home)
    check_backup_target(db, file)  # before --force is asked for: it would not help
    refuse_overwrite(file, force)
    # A big store takes a while (17 s for 1.4 GB): say what is coming, then count the MB copied.
    do_backup(db, file, lambda: to_stderr(f"backing up {db} ({db.stat().st_size / 1e6:,.0f} MB)…"),
              _backup_progress)
    emit({"store": str(db), "backup": str(file)}, as_json, lambda d: f"backed up {d['store']} to {d['backup']}")


def _backup_progress(done: int, total: int) -> None:
    """The MB a backup copied, rounded as the size it announced (a store's file size), and
    all of it only once the copy is: a last step within the same MB read as done twice."""
    mb = max(round(total / 1e6), 1)
    progress("backing up (MB)", mb if done >= total else min(round(done / 1e6), mb - 1), mb)


@click.command()
@click.argument("file", type=InputPath(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_obj
@handle_errors
def restore(c: Context, file, as_json) -> None:
    """Replace the store's content with a backup FILE, less what is past retention_days; the index is rebuilt on next use."""
    from kefu.kb.store import entry_state, history_state, restored_entries
    from kefu.kb.store import restore as do_restore

    from kefu.kb.users import access_changes, access_state

    c.home.mkdir(parents=True, exist_ok=True)
    # Users, API tokens and console logins are restored too: a token revoked since the
    # backup works again. Not to be done silently.
    existed = (c.home / "kefu.db").exists()
    before = access_state(c.home / "kefu.db")
    # The entries' content and history become the backup's: edits made since are gone, and
    # their versions with them. Said too, as other editors' work may be among them.
    entries_before = entry_state(c.home / "kefu.db")
    with contextlib.ExitStack() as swapped:
        # Ctrl-C stops the restore as any command while the backup is copied and checked
        # (the store untouched); from the swap on it is told and the restore finishes.
        aside = do_restore(file, c.home / "kefu.db",
                           critical=lambda: swapped.enter_context(not_stopped_half_way("the restore")))
        # A backup holds customer messages the retention period has deleted since: they must
        # not come back (to the statistics, the gaps, the review queue) until the next purge.
        purged = c.feedback_log().purge(progress)
        after = access_state(c.home / "kefu.db")
        changes = access_changes(before, after) if before is not None and after is not None else None
        entries_after = entry_state(c.home / "kefu.db")
        # An entry's version number alone does not say it went forward: after a restore of an
        # older backup, an edit comes again at a number the backup has, with other content.
        history_after = None if entries_before is None else history_state(c.home / "kefu.db", entries_before)
        entries = (restored_entries(entries_before, entries_after, history_after)
                   if entries_before is not None and entries_after is not None and history_after is not None
                   else None)

        def text(d: dict) -> str:
            line = f"restored {d['store']} from {d['backup']}"
            p = d["purged"]
            if p["suggestions"] or p["feedback"] or p["learn_events"] or p["learned"] or p["message_vectors"]:
                line += (f"\ndeleted what was logged before {p['cutoff']} ({counted(p['retention_days'], 'day')}, "
                         f"retention_days): {counted(p['suggestions'], 'suggestion')}, "
                         f"{counted(p['feedback'], 'feedback row')}, {counted(p['learn_events'], 'learning event')}, "
                         f"{counted(p['learned'], 'learned phrasing')}, {counted(p['message_vectors'], 'message vector')}")
            if d["replaced_file"]:  # the damaged file was swapped: open connections still read it
                line += (f"\nthe damaged store file was replaced by a new one and kept as {d['damaged_file']}: "
                         "restart any running `kefu serve` (it still reads the old file, and what it saves "
                         "there is lost)")
            if entries is not None and entries.any():
                line += "\n" + _entries_warning(entries)
            if (existed and changes is None) or (changes is not None and changes.any()):
                line += "\n" + access_warning(changes)
            return line
        emit({"store": str(c.home / "kefu.db"), "backup": str(file), "replaced_file": aside is not None,
              "damaged_file": None if aside is None else str(aside),
              "purged": dataclasses.asdict(purged),
              "entry_changes": None if entries is None else dataclasses.asdict(entries),
              "access_changes": None if changes is None else dataclasses.asdict(changes)}, as_json, text)


@contextlib.contextmanager
def not_stopped_half_way(what: str):
    """Ctrl-C (or SIGTERM, SIGHUP) while the block runs is told and otherwise ignored: a restore stopped
    after the store was replaced printed `Aborted!` (so it seemed not done), skipped the purge
    of what is past retention and never named the entries, users and tokens it brought back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def told(signum, frame):
        to_stderr(f"\n{what} cannot be stopped half-way: it finishes")  # a hangup's terminal may be gone
    previous = {sig: signal.signal(sig, told) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _entries_warning(entries) -> str:
    """The entries a restore took back to the backup's version, or forward to it, or over
    edits made since with other content, or away, or back."""
    def ids(names: list[str]) -> str:
        return ", ".join(names[:10]) + (f", … ({len(names) - 10} more)" if len(names) > 10 else "")
    said = []
    if n := len(entries.reverted):
        said.append(f"{counted(n, 'entry', 'entries')} changed since the backup "
                    f"{'is' if n == 1 else 'are'} back to the backup's version, "
                    f"{'its' if n == 1 else 'their'} later versions gone from "
                    f"{'its' if n == 1 else 'their'} history ({ids(entries.reverted)})")
    if n := len(entries.advanced):
        said.append(f"{counted(n, 'entry', 'entries')} older than the backup's {'is' if n == 1 else 'are'} forward "
                    f"to the backup's later version, with {'its' if n == 1 else 'their'} history "
                    f"({ids(entries.advanced)})")
    if n := len(entries.other_content):
        said.append(f"{counted(n, 'entry', 'entries')} edited since with other content than the backup's "
                    f"{'has' if n == 1 else 'have'} the backup's content: those edits are gone "
                    f"({ids(entries.other_content)})")
    if n := len(entries.removed):
        said.append(f"{counted(n, 'entry', 'entries')} added since the backup {'is' if n == 1 else 'are'} gone"
                    f" ({ids(entries.removed)})")
    if n := len(entries.restored):
        said.append(f"{counted(n, 'entry', 'entries')} not in the store replaced {'is' if n == 1 else 'are'} back"
                    f" ({ids(entries.restored)})")
    return "warning: " + "; ".join(said)


def access_warning(changes) -> str:
    """What a restore changed for users, tokens and logins (`changes` None: not known)."""
    if changes is None:
        return "warning: users, API tokens and console logins are now as in the backup"
    said, undo = [], []
    # Each change with the command that undoes it: a user or token gone since is made again.
    for names, noun, what, command in (
            (changes.tokens_back, "revoked API token", "valid again", "kefu token revoke NAME"),
            (changes.tokens_gone, "API token", "made since the backup no longer valid", "kefu token add NAME"),
            (changes.users_back, "removed user", "back, with their old password", "kefu user remove NAME"),
            (changes.users_gone, "user", "added since the backup removed", "kefu user add NAME --role ROLE"),
            (changes.users_changed, "user", "with the backup's password or role", "kefu user passwd NAME")):
        if names:
            said.append(f"{counted(len(names), noun)} {what} ({', '.join(names)})")
            undo.append(command)
    if changes.logins_back:  # a new password ends a user's logins
        said.append(f"{counted(changes.logins_back, 'ended console login')} valid again")
        undo.append("kefu user passwd NAME")
    if changes.logins_ended:  # nothing to undo: log in again
        said.append(f"{counted(changes.logins_ended, 'console login')} ended")
    hint = f" (to undo: {', '.join(f'`{c}`' for c in dict.fromkeys(undo))})" if undo else ""
    return "warning: users, API tokens and console logins are now as in the backup: " + "; ".join(said) + hint


"""Named exceptions raised by the library; the CLI and web edges translate them."""

from __future__ import annotations

from .text import counted


class KefuError(Exception):
    """Base class of every error kefu raises on purpose. `code` is what kind of error it is
    (not_found, conflict, else invalid), the one mapping both edges use: see `error_code`."""

    code = "invalid"


def error_code(error: Exception) -> str:
    """The code the CLI's --json and the web API give an error: its class's `code`, and
    invalid_field for an invalid value of a field it names. Not kefu's own: invalid."""
    code = error.code if isinstance(error, KefuError) else "invalid"
    return "invalid_field" if code == "invalid" and getattr(error, "field", None) else code


def error_detail(error: Exception) -> dict:
    """An error as kefu's JSON gives it (the CLI's --json, `kefu import`'s report): its
    message, type and code (`error_code`), and the file, sheet, line (or item, page),
    field, id and sources when it names them; the errors of the rows it stands for too
    (ImportConflicts, RowsRejected)."""
    body: dict = {"message": str(error), "type": type(error).__name__, "code": error_code(error)}
    # Where in a file: a line, or a table's row; a part that is no line as the file counts
    # it (ImportFileError.unit): a JSON array's turn 2 is "item": 2, not "line": 2 of a file
    # that may be one line, and a PDF's page is "page".
    unit = getattr(error, "unit", None)
    where = unit if unit in ("item", "page") else "line"
    for name, key in (("path", "file"), ("sheet", "sheet"), ("line", where), ("field", "field"),
                      ("entry_id", "id"), ("sources", "sources")):
        if getattr(error, name, None) is not None:
            body[key] = getattr(error, name)
    if isinstance(getattr(error, "errors", None), list):
        body["errors"] = [error_detail(e) for e in error.errors]
    return body


class LearnedNotFound(KefuError):
    """No learned phrasing has this id (these ids: `row_ids`)."""

    code = "not_found"

    def __init__(self, row_ids: list[int], message: str):
        super().__init__(message)
        self.row_ids = row_ids


class EntryNotFound(KefuError):
    code = "not_found"

    def __init__(self, entry_id: str):
        super().__init__(f"no entry with id {entry_id!r}")
        self.entry_id = entry_id


class DuplicateEntry(KefuError):
    """The entry exists already: by its id (`field` "id"; `stored_question`, the question of
    the entry holding it, to tell which one), or (`question`, for a row without an id) by its
    question (`field` "question")."""

    code = "conflict"

    def __init__(self, entry_id: str, where: str = "", hint: str = "", question: str | None = None,
                 stored_question: str | None = None):
        prefix = f"{where}: " if where else ""
        if question:
            what = f"question {question!r} matches entry {entry_id!r}, which has other content"
        else:  # an id alone told an editor nothing of which entry holds it
            what = f"entry id {entry_id!r} already exists" + (
                f", with question {stored_question!r}" if stored_question else "")
        super().__init__(f"{prefix}{what}" + (f" ({hint})" if hint else ""))
        self.entry_id, self.stored_question = entry_id, stored_question
        self.field = "question" if question else "id"


class VersionConflict(KefuError):
    """An edit was made on version `expected` of the entry, which has changed since
    (`current`: the entry as it is now): saving it would silently undo the other change.
    Compared inside the write transaction, so two processes saving at once cannot both pass."""

    code = "conflict"
    field = "version"

    def __init__(self, entry_id: str, expected: int, current):
        # The same number with other content than the hash given: a restore of an older
        # backup may have taken the entry back to an earlier version, edited again since;
        # or the hash was another version's. Which, the store cannot tell.
        now = (f"its version {expected} has other content than the hash given"
               if current.version == expected else f"it is version {current.version} now")
        super().__init__(f"entry {entry_id!r} has changed since version {expected} ({now}); "
                         "load it again and redo the change")
        self.entry_id, self.expected, self.current = entry_id, expected, current


class InvalidEntry(KefuError):
    """An entry field has a bad value; names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.field = field
        self.reason = message


class DuplicateQuestion(InvalidEntry):
    """A second live entry would have an entry's standard question (compared normalised,
    `question_key`); names that entry. A conflict with that entry, as a taken id is, not a
    bad value: the same question is fine once the other entry is archived or changed."""

    code = "conflict"

    # Why the entry holding the question may not look like it (never suggested), and what
    # to do with it instead of adding a second one: {bound} is the bound in question.
    STATES = {"expired": "which has expired (valid_to {bound}): renew it with a later valid_to",
              "not_yet": "which is not valid yet (valid_from {bound}): change its valid_from",
              "unreadable": "whose validity cannot be read ({bound}): correct its valid_from/valid_to",
              "draft": "which is a draft, never suggested: publish it (status published)"}
    # What follows the state's advice: the way, rather than a second entry with the question.
    # (said of an add and of an edit that gives an entry the question alike)
    INSTEAD = "rather than giving its question to another entry"

    def __init__(self, entry_id: str, question: str, where: str = "", hint: str = "", row: str | None = None,
                 state: str | None = None, bound: str = "", new: bool = False):
        # `row`: the place of an earlier row of the same file that made or changed that
        # entry in this import (it is not stored yet: "already ... of entry" would mislead).
        # `state`: that entry's, when it is not suggested (a key of STATES), so an editor who
        # took it for gone learns where it is and how to bring it back.
        # `new`: that row has no id, so the id made for it is none the file or a later run has.
        owner = (f"also the standard question of {row}, " + ("a new entry" if new else f"entry {entry_id!r}") if row
                 else f"already the standard question of entry {entry_id!r}")
        if state in self.STATES:
            owner += f", {self.STATES[state].format(bound=bound)} {self.INSTEAD}"
        super().__init__("question", f"{question!r} is {owner}" + (f" ({hint})" if hint else ""))
        if where:
            self.args = (f"{where}, {self.args[0]}",)
        self.entry_id, self.question, self.row = (None if new and row else entry_id), question, row
        self.state, self.bound = state, bound


class DuplicateSimilar(InvalidEntry):
    """A phrasing of the entry (`field`: a similar question, or its standard question) is
    already a phrasing of another live entry (`entry_id`, whose standard question is
    `other_question`): as a similar question there (`taken_as` "similar") or as its standard
    question ("question"). Compared normalised (`question_key`), as DuplicateQuestion is.
    Two entries with one phrasing make a message asking it go to whichever ranks first,
    not the one the editor meant; a conflict with that entry, as DuplicateQuestion is."""

    code = "conflict"

    ADVICE = "one phrasing can lead to one entry only; remove it from one of them"
    # What follows DuplicateQuestion.STATES' advice when the other entry is not suggested.
    INSTEAD = "rather than giving the phrasing to another entry (one phrasing can lead to one entry only)"

    def __init__(self, field: str, text: str, entry_id: str, other_question: str, taken_as: str,
                 where: str = "", row: str | None = None, advice: str = ADVICE,
                 state: str | None = None, bound: str = "", new: bool = False):
        # `where` and `row` as DuplicateQuestion takes them: the import's row, and the earlier
        # row of the same file that made the other entry (not stored before the import is).
        # `state` and `bound` too: an editor who took the other entry for gone (expired, a
        # draft) learns why it still holds the phrasing and how to bring it back. `new`: that
        # entry is made by an earlier row of the import without an id, so it is named by its
        # question (and row), not by an id made for it that the file and a later run lack.
        what = "similar question" if field == "similar" else "standard question"
        there = "the standard question" if taken_as == "question" else "a similar question"
        whose = f"{other_question!r}" + (f", from {row} of this file" if row else "")
        owner = (f"new entry {other_question!r}" + (f" (from {row} of this file)" if row else "") if new
                 else f"entry {entry_id!r} ({whose})")
        said = f"{what} {text!r} is already {there} of {owner}"
        if state in DuplicateQuestion.STATES and advice == self.ADVICE:
            said += f", {DuplicateQuestion.STATES[state].format(bound=bound)} {self.INSTEAD}"
        else:
            said += f": {advice}"
        super().__init__(field, said)
        if where:
            self.args = (f"{where}, {self.args[0]}",)
        self.text, self.entry_id, self.other_question, self.taken_as = text, (None if new else entry_id), \
            other_question, taken_as
        self.state, self.bound, self.row, self.new = state, bound, row, new


class ImportConflicts(KefuError):
    """Several rows of one file conflict with entries (`errors`: one DuplicateEntry,
    DuplicateQuestion or InvalidEntry per row, each naming its row): all are told at
    once, as rejected rows are, rather than one per attempt."""

    def __init__(self, errors: list[KefuError]):
        super().__init__(f"{len(errors)} rows conflict with entries, so nothing was imported from this file:\n"
                         + "\n".join(str(e) for e in errors))
        self.errors = list(errors)
        self.code = "conflict" if all(error_code(e) == "conflict" for e in errors) else "invalid"


class InvalidTerm(KefuError):
    """A shop term that cannot be one (empty, or more than one word); names the term."""

    def __init__(self, term: str, message: str):
        super().__init__(f"term {term!r}: {message}")
        self.term = term
        self.reason = message


class ImportFileError(KefuError):
    """Part of an input file is malformed; names the file, sheet, line or row, and field.

    `unit` is how the file counts its parts ("line" for text files, "row" for
    spreadsheets, "item" for a JSON array, "page" for PDF); `column` is the field's name
    as the file spells it (e.g. 答案) when it differs from kefu's (answer).
    """

    def __init__(self, path: str, line: int | None, field: str | None, message: str,
                 sheet: str | None = None, unit: str = "line", column: str | None = None):
        where = str(path)
        if sheet:
            where += f", sheet {sheet}"
        if line is not None:
            where += f", {unit} {line}"
        if column and column != field:
            where += f", column {column!r}"
        elif field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.field, self.reason = str(path), line, field, message
        self.sheet, self.unit, self.column = sheet, unit, column


class RowsRejected(KefuError):
    """A file imports nothing because rows of it were rejected (`errors`: one
    ImportFileError per row, each naming it); --skip-bad-rows imports the others."""

    def __init__(self, path: str, errors: list[ImportFileError]):
        super().__init__(f"{counted(len(errors), 'row')} rejected, so nothing was imported from this file "
                         f"(fix them, or pass --skip-bad-rows); first: {errors[0]}")
        self.path, self.errors = str(path), list(errors)


class ExportError(KefuError):
    """An entry cannot be written in the chosen format as it is; names the entry and field."""

    def __init__(self, entry_id: str, field: str, message: str):
        super().__init__(f"entry {entry_id!r}, field {field!r}: {message}")
        self.entry_id, self.field, self.reason = entry_id, field, message


class ConfigError(KefuError):
    """The data folder's configuration cannot be used (config.json damaged or holding a bad
    value, an index built with other models): the state of the folder, not of a request,
    so the web answers it 503 and logs it for the admin."""

    code = "misconfigured"


class DataFileError(ImportFileError, ConfigError):
    """A file of the data folder the assistant reads (the 话术 library, a word list), edited
    by hand, that cannot be used: like a damaged config.json, the state of the folder and not
    of a request, so the web answers it 503 and logs it for the admin. Names file, line, field."""

    @classmethod
    def of(cls, exc: ImportFileError) -> "DataFileError":
        return cls(exc.path, exc.line, exc.field, exc.reason, exc.sheet, exc.unit, exc.column)


class InvalidConfig(ConfigError):
    """A data folder's config.json holds a bad value; names the file and the field."""

    def __init__(self, path, field: str, message: str):
        super().__init__(f"{path}: {field!r} {message}; fix it, or delete the key for the default")
        self.path, self.field, self.reason = str(path), field, message


class IndexMismatch(ConfigError):
    """An index on disk was built with other models than the ones configured. `problem`
    says which; the message adds `fix`, which an edge that knows where the configured
    models came from (--models, config.json) replaces with the command that fixes it."""

    def __init__(self, problem: str, fix: str = "run `kefu reindex`"):
        super().__init__(f"{problem}; {fix}")
        self.problem = problem


class StoreTooNew(KefuError):
    """The store was last written by a newer kefu: its schema has migrations this one
    does not know (a column it would misread), so it is left alone."""

    def __init__(self, path: str, unknown: list[str], more: str = ""):
        super().__init__(f"{path} was made by a newer kefu (migration {', '.join(unknown)}); upgrade kefu{more}")
        self.path, self.unknown = path, unknown


class IndexNotUpdated(KefuError):
    """A write was saved in the store, but the index could not be brought up to date
    after it (a read-only index folder, a full disk). Not raised: the knowledge base
    keeps it (`KnowledgeBase.index_error`), as the write itself succeeded; the index is
    rebuilt from the store when next used."""

    def __init__(self, reason: str):
        super().__init__(f"the change was saved, but the index could not be updated ({reason}); "
                         "it is brought up to date from the store on next use, or run `kefu reindex`")
        self.reason = reason


class EmptyQuery(KefuError):
    def __init__(self) -> None:
        super().__init__("the message is empty")


class TextTooLong(KefuError):
    """A text taken in (a message, its context, a variable's value: `field`) is longer
    than kefu takes (kb/text.py MAX_MESSAGE, the API's limit on any field)."""

    code = "too_long"

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class StoreBusy(KefuError):
    """Another process held the store's write lock past SQLite's wait: nothing is wrong with
    the input, and the same command a moment later may well succeed (a script retries on
    the code `busy`, not on `invalid`)."""

    code = "busy"


class SourceNotFound(KefuError):
    """No document passages were imported from these sources (`sources`, as asked for)."""

    code = "not_found"

    def __init__(self, sources: list[str]):
        names = ", ".join(repr(s) for s in sources)
        super().__init__(f"no document passages from {names}")
        self.sources = list(sources)


class AmbiguousSource(KefuError):
    """A name given for imported passages that names two sources (`sources`): itself, as a
    listed source (an upload), and the file of that name in the working folder."""

    def __init__(self, name: str, sources: list[str]):
        super().__init__(f"{name!r} names two imported sources: {' and '.join(map(repr, sources))}; "
                         f"name the file by a path (./{name} or its full source) to remove it, or run "
                         f"from another folder to remove the upload")
        self.sources = list(sources)


class VersionNotFound(KefuError):
    code = "not_found"

    def __init__(self, entry_id: str, version: int):
        super().__init__(f"entry {entry_id!r} has no version {version}")
        self.entry_id, self.version = entry_id, version


class VersionNotRestorable(InvalidEntry):
    """An old version's content that kefu no longer accepts (a standard question with a
    line break, as an older kefu could store): reverting to it would save a bad entry.
    Names the version, as well as the field and its problem (`field`, `reason`)."""

    def __init__(self, entry_id: str, version: int, field: str, reason: str):
        super().__init__(field, reason)
        self.args = (f"cannot restore version {version} of entry {entry_id!r}: its field {field!r} {reason}; "
                     f"edit the entry instead",)
        self.entry_id, self.version = entry_id, version

"""Readers that turn product documents into bounded, overlapping text passages.

Each reader (DOCX, PDF, HTML, plain text, prose Markdown) yields Blocks in reading order:
headings with their level, and body text (paragraphs, list items, table rows). `chunk` packs
the body blocks of each section into passages of at most `max_chars`, each opening with a
short tail of the one before on the same page, so a fact that straddles a cut is still found whole.

Whitespace is normalised with CJK in mind: a line break between two CJK characters is a wrap
artefact and is dropped, unless the next line opens with a list number (一、, 第三条) or a
short label and colon (容量：); other
whitespace runs become one space. Blocks in a passage are
joined with a newline.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Iterator

from kefu.kb.errors import ImportFileError
from kefu.kb.importers.records import Block, Passage
from kefu.kb.text import terminal_columns

# CJK radicals, punctuation, kana, ideographs (incl. ext. A), compatibility and fullwidth forms.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
# A line opening with a list or clause number (一、 （二） 第三条) starts an item, not a wrap:
# joined, a title ran into it (退换货政策一、自签收之日起…) and one item into the next.
_CJK_ITEM = r"[一二三四五六七八九十]+、|[（(][一二三四五六七八九十0-9]+[)）]|第[一二三四五六七八九十百0-9]+[条章节]"
_CJK_WRAP = re.compile(rf"(?<=[{_CJK}])[ \t]*\n\s*(?=[{_CJK}])(?!{_CJK_ITEM})")
# A sentence runs to these marks (plus closing quotes/brackets) or a line break, and owns
# the whitespace after it.
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”’」』）)\]\"']*|\n|$)\s*")
_BLANK_LINES = re.compile(r"\n[ \t\u3000]*\n\s*")
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u00ad"))  # BOM, zero-width, soft hyphen


_SURROGATE = re.compile(r"[\ud800-\udfff]")  # pypdf can yield lone ones; they cannot be encoded


# Nor is a line break before a line opening with a short label and a colon, a spec sheet's
# 容量：1.7升 over 材质：…, which ran together as 容量：1.7升材质：… (the 升 read as part of
# the next label), unless the line above ends mid-sentence (，、): 请联系 / 客服热线：400… is a wrap.
_CJK_LABEL = re.compile(r"[\u4e00-\u9fff]{2,8}[：:]")


def _unwrap(match: re.Match) -> str:
    """What a CJK line break becomes: nothing (a wrap), or a space before a label line."""
    text, start = match.string, match.start()
    if start and text[start - 1] not in "，、" and _CJK_LABEL.match(text, match.end()):
        return " "
    return ""


def normalise(text: str) -> str:
    """Collapse whitespace to single spaces, dropping line breaks inside CJK text."""
    text = _SURROGATE.sub("", text.translate(_INVISIBLE))
    return re.sub(r"\s+", " ", _CJK_WRAP.sub(_unwrap, text)).strip()


def _error(path: str, message: str) -> ImportFileError:
    """A whole-file import error: documents have no line numbers to point at."""
    return ImportFileError(path, None, None, message)


def _paragraphs(text: str) -> list[str]:
    """Split text on blank lines into normalised, non-empty paragraphs."""
    parts = (normalise(p) for p in _BLANK_LINES.split(text.replace("\r\n", "\n")))
    return [p for p in parts if p]


# ---------------------------------------------------------------- DOCX

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)


def _outline_level(element) -> int:
    """Heading level from a <w:outlineLvl> under `element` (0-based in XML; 9 = body)."""
    values = element.xpath("./w:pPr/w:outlineLvl/@w:val")
    level = int(values[0]) + 1 if values and values[0].isdigit() else 0
    return level if level < 10 else 0


def _docx_heading_level(paragraph) -> int:
    """Heading level of a python-docx paragraph: style name first, then outline level.
    A Title paragraph is -1 (see docx_blocks)."""
    style = paragraph.style
    name = (style.name or "").strip() if style is not None else ""
    if name.lower() in ("title", "标题"):
        return -1
    if match := _HEADING_STYLE.match(name):
        return int(match.group(1))
    return _outline_level(paragraph._p) or (_outline_level(style.element) if style is not None else 0)


_W = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}


class _DocxLists:
    """The marks Word draws before list items (automatic numbering, bullets), which are not
    in the paragraph's text: without them a list of steps read as plain lines.

    A paragraph is a list item by its own numPr or its style's (List Number, List Bullet);
    the numbering part says whether that list and level is a bullet or a number and where it
    starts. Items of one list (numId) count on across other paragraphs, as Word numbers them;
    a deeper level restarts under each item above it. A List Number/List Bullet style with no
    numbering definition counts per run of consecutive items."""

    def __init__(self, document) -> None:
        try:
            self._numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            self._numbering = None
        self._counts: dict[str, dict[int, int]] = {}
        self._run = 0  # items in the current run of a list without a definition

    def mark(self, paragraph) -> str:
        """The mark to put before the paragraph's text ("1. ", "• ") or ""."""
        num_id, level = self._num_pr(paragraph)
        kind, start = self._format(num_id, level) if num_id else (None, 1)
        if kind is None:  # no definition: the style's name says what it is
            name = (paragraph.style.name or "") if paragraph.style is not None else ""
            kind = "bullet" if name.startswith("List Bullet") else "decimal" if name.startswith("List Number") else None
            if kind is None:
                self._run = 0
                return ""
            num_id = None
        if kind == "none":
            return ""
        if kind == "bullet":
            return "• "
        if num_id is None:
            self._run += 1
            return f"{self._run}. "
        counts = self._counts.setdefault(num_id, {})
        counts[level] = counts.get(level, start - 1) + 1
        for deeper in [k for k in counts if k > level]:
            del counts[deeper]
        return f"{counts[level]}. "

    def interrupt(self) -> None:
        """A heading or table ends a run of items of a list without a definition."""
        self._run = 0

    @staticmethod
    def _num_pr(paragraph) -> tuple[str | None, int]:
        """(numId, level) from the paragraph's properties, else from its style's chain."""
        style = paragraph.style
        elements = [paragraph._p]
        while style is not None and len(elements) < 10:
            elements.append(style.element)
            style = style.base_style
        for element in elements:
            ids = element.xpath("./w:pPr/w:numPr/w:numId/@w:val")
            if ids:
                levels = element.xpath("./w:pPr/w:numPr/w:ilvl/@w:val")
                level = int(levels[0]) if levels and levels[0].isdigit() else 0
                return (ids[0] if ids[0] != "0" else None), level
        return None, 0

    def _format(self, num_id: str, level: int) -> tuple[str | None, int]:
        """(numFmt, start) of a list level from the numbering part; (None, 1) if not found."""
        if self._numbering is None:
            return None, 1
        w = _W["w"]
        num = self._numbering.find(f'w:num[@{{{w}}}numId="{num_id}"]/w:abstractNumId', _W)
        abstract = num.get(f"{{{w}}}val") if num is not None else None
        lvl = self._numbering.find(f'w:abstractNum[@{{{w}}}abstractNumId="{abstract}"]/w:lvl[@{{{w}}}ilvl="{level}"]',
                                   _W) if abstract else None
        if lvl is None:
            return None, 1
        fmt, start = lvl.find("w:numFmt", _W), lvl.find("w:start", _W)
        start_value = start.get(f"{{{w}}}val", "") if start is not None else ""
        return (fmt.get(f"{{{w}}}val", "decimal") if fmt is not None else "decimal",
                int(start_value) if start_value.isdigit() else 1)


def _docx_row_text(row) -> str:
    """Cells of one table row joined with " | ", each merged cell counted once."""
    texts, previous = [], None
    for cell in row.cells:
        # python-docx yields a horizontally merged cell once per grid column it spans.
        if cell._tc is not previous and (text := normalise(cell.text)):
            texts.append(text)
        previous = cell._tc
    return " | ".join(texts)


def docx_blocks(data: bytes, path: str) -> list[Block]:
    """Headings, paragraphs and table rows of a .docx file, in document order."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zip, XML and package errors alike
        raise _error(path, f"not a readable DOCX file ({exc})") from exc
    blocks: list[Block] = []
    try:
        lists = _DocxLists(document)
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                lists.interrupt()
                rows = [text for row in item.rows if (text := _docx_row_text(row))]
                blocks.extend(Block(text, header=rows[0] if i else "") for i, text in enumerate(rows))
            elif text := normalise(item.text):
                level = _docx_heading_level(item)
                if level:
                    lists.interrupt()
                blocks.append(Block(text if level else lists.mark(item) + text, heading=level))
    except Exception as exc:  # a damaged part (styles, tables) surfaces only while walking
        raise _error(path, f"not a readable DOCX file ({type(exc).__name__}: {exc})") from exc
    if any(b.heading < 0 for b in blocks):
        # A Title paragraph is the document's top heading, above Heading 1: it was a body
        # paragraph, a passage of its own with no section.
        for b in blocks:
            b.heading = 1 if b.heading < 0 else b.heading + 1 if b.heading else 0
    return blocks


# ---------------------------------------------------------------- PDF

@contextmanager
def _pypdf_log() -> Iterator[list[str]]:
    """What pypdf logs in this thread meanwhile (a damaged file's "EOF marker not found"),
    kept for the import's error: with no logging set up, Python printed it to stderr, a
    stray line before kefu's own report."""
    seen: list[str] = []
    thread = threading.get_ident()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                seen.append(record.getMessage())

    logger, handler = logging.getLogger("pypdf"), Keep(logging.WARNING)
    logger.addHandler(handler)  # records still propagate to handlers an application set up
    try:
        yield seen
    finally:
        logger.removeHandler(handler)


# Bytes of page content (the drawing instructions text is extracted from) read from one
# PDF. A 21 KB file can hold a page of 20 MB of blanks, which took 14 s to read (4 MB of
# dense instructions 18 s), and every page can draw the same stream: hours under the lock
# every agent waits for. A text page holds some tens of KB, so a manual of hundreds of
# pages stays under it.
MAX_PDF_CONTENT = 16 * 2**20


def pdf_blocks(data: bytes, path: str) -> list[Block]:
    """One Block per paragraph of each PDF page, with its 1-based page number."""
    with _pypdf_log() as logged:
        return _pdf_blocks(data, path, logged)


def _pdf_blocks(data: bytes, path: str, logged: list[str]) -> list[Block]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    def why(exc: Exception) -> str:
        return "; ".join(dict.fromkeys([str(exc), *logged]))

    try:
        reader = PdfReader(io.BytesIO(data))  # opens with an empty password when there is one
        pages = list(reader.pages)
    except FileNotDecryptedError as exc:
        raise _error(path, "the PDF is password-protected; save an unprotected copy and import that") from exc
    except DependencyError as exc:  # AES encryption without the optional 'cryptography'
        raise _error(path, f"the PDF is encrypted in a way that cannot be opened here ({exc})") from exc
    except Exception as exc:  # pypdf signals damaged files with many exception types
        raise _error(path, f"not a readable PDF file ({why(exc)})") from exc
    content = 0  # bytes of drawing instructions, summed before any page is read (that is the slow part)
    for number, page in enumerate(pages, start=1):
        try:
            stream = page.get_contents()
            content += len(stream.get_data()) if stream is not None else 0
        except Exception as exc:
            raise _error(path, f"page {number}: cannot extract text ({why(exc)})") from exc
        if content > MAX_PDF_CONTENT:
            raise _error(path, f"page {number}: the pages up to it hold {content / 2**20:,.0f} MB of drawing "
                               f"instructions, more than kefu reads from one PDF ({MAX_PDF_CONTENT // 2**20} MB; "
                               "a PDF bomb?): split it into smaller files")
    blocks: list[Block] = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception as exc:
            raise _error(path, f"page {number}: cannot extract text ({why(exc)})") from exc
        blocks.extend(_rows_and_paragraphs(text, number, headings=True))
    if not blocks:
        raise _error(path, "the PDF has no extractable text (a scanned image?)")
    return blocks


# A table row as pypdf extracts it: cells apart by spaces, no sentence punctuation (wrapped
# prose has some on nearly every line).
_ROW_PUNCTUATION = re.compile(r"[，。；！？]|[,.;!?](?:\s|$)")
_ROW_CELLS = range(2, 9)


def _row_cells(line: str) -> int:
    """How many cells `line` has if it may be a table row, else 0."""
    cells = len([c for c in line.split("\t") if c.strip()] if "\t" in line else line.split())
    return cells if cells in _ROW_CELLS and not _ROW_PUNCTUATION.search(line) else 0


# A line of a PDF page or a .txt paragraph that is a heading: short, with no sentence
# punctuation in it or at its end...
_HEADING_PUNCTUATION = re.compile(r"[，。；！？,;!?]")
_LINE_HEADING_WIDTH = 40  # columns (a CJK character is two): 20 characters of Chinese
# ...at most this share of the width of the line after it (wrapped lines fill the width alike)...
_LINE_HEADING_SHARE = 0.6
# ...and after the end of a sentence, not inside one that wraps into it.
_SENTENCE_END = re.compile(r"[。！？!?；;…][”’」』）)\]\"']*$")


def _line_heading(lines: list[str], i: int, after_row: bool = False) -> bool:
    """Whether line i of a PDF page's text, or of a .txt paragraph, is a heading. pypdf
    gives a page's lines with no mark of size or weight, and a .txt heading need have no
    blank line under it; either way its line break was taken for a wrap: 退换货说明 ran
    into the paragraph under it. A heading is a short line without sentence punctuation,
    on its own (first on the page or paragraph, or after a line that ends a sentence), above
    a line much wider than it. The lines of a wrapped paragraph are about as wide as each
    other (the last aside, which comes after a line ending mid-sentence), so they stay one
    paragraph. `after_row`: the line above is a table's row, which ends no sentence but
    ends the table."""
    line, after = lines[i].strip(), lines[i + 1].strip() if i + 1 < len(lines) else ""
    if not line or not after or _HEADING_PUNCTUATION.search(line) or line.endswith(_FINAL_PUNCTUATION):
        return False
    if not any(ch.isalpha() for ch in line) or terminal_columns(line) > _LINE_HEADING_WIDTH:  # a page number, a long line
        return False
    before = lines[i - 1].strip() if i else ""
    if not (not before or after_row or _SENTENCE_END.search(before)):
        return False
    if terminal_columns(line) <= _LINE_HEADING_SHARE * terminal_columns(after):
        return True
    # No wrap runs into a line that opens an item (型号：KT-1715, 一、…), however short: a
    # title above one is a heading (智能电热水壶 使用说明书 above 型号：…), unless it is such
    # a label line itself (额定电压：220V above 额定功率：1800W).
    return not re.search("[：:]", line) and bool(_CJK_LABEL.match(after) or re.match(_CJK_ITEM, after))


def _rows_and_paragraphs(text: str, page: int | None = None, headings: bool = False) -> list[Block]:
    """Paragraphs of a PDF page's or a text file's text, a table's rows one each: runs of
    two or more lines with the same number of cells are rows, whose line breaks are no
    wraps to join (a size table became one line of cells, 尺码 身高 S 155/80A M 160/84A …);
    a run's first line is its header. Tab-apart cells are joined with " | " (a sheet pasted
    into a text file), as a DOCX table's are. With `headings`, a line that _line_heading
    takes for a heading is a level-1 heading Block."""
    found: list[Block] = []
    for paragraph in _BLANK_LINES.split(text.replace("\r\n", "\n")):
        lines = paragraph.split("\n")
        cells = [_row_cells(line) for line in lines]
        rows = [bool(n) and n in cells[max(0, i - 1):i] + cells[i + 1:i + 2] for i, n in enumerate(cells)]
        prose: list[str] = []
        header = ""
        for i, line in enumerate(lines):
            if headings and not rows[i] and _line_heading(lines, i, after_row=i > 0 and rows[i - 1]):
                found += [Block(p, page=page) for p in _paragraphs("\n".join(prose))]
                prose = []
                found.append(Block(normalise(line), heading=1, page=page))
            elif rows[i]:
                found += [Block(p, page=page) for p in _paragraphs("\n".join(prose))]
                prose = []
                row = " | ".join(c for c in map(normalise, line.split("\t")) if c)
                if i == 0 or cells[i - 1] != cells[i]:
                    header = ""
                found.append(Block(row, page=page, header=header))
                header = header or row
            else:
                prose.append(line)
        found += [Block(p, page=page) for p in _paragraphs("\n".join(prose))]
    return found


# ---------------------------------------------------------------- HTML

_SKIPPED = {"script", "style", "noscript", "template", "svg", "head", "nav"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# Tags whose edges end the running paragraph (cells of a table row excepted, see _boundary).
_BOUNDARIES = set("p div section article main header footer aside br hr li ul ol dl dt dd blockquote "
                  "pre table figure figcaption address form fieldset details summary caption".split())


class _BlockParser(HTMLParser):
    """Collects Blocks from HTML: headings, paragraphs, list items and table rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive decoded in handle_data
        self.blocks: list[Block] = []
        self.title = ""
        self._skipping: list[str] = []
        self._in_title = False
        self._text: list[str] = []
        self._heading = 0
        self._cells: list[str] | None = None  # cells of the open <tr>, if any
        self._cell: list[str] | None = None  # text of the open <td>/<th>, if any
        self._tables: list[str] = []  # header row of each open <table>, innermost last ("" before its first row)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "body":  # an unclosed <head> ends where the body starts
            self._skipping = [t for t in self._skipping if t != "head"]
        if tag == "title" and self._skipping in ([], ["head"]):  # an <svg> has <title>s too
            self._in_title = True
        elif tag in _SKIPPED:
            self._skipping.append(tag)
        elif self._skipping:
            return
        elif tag in _HEADINGS:
            self._flush()
            self._heading = _HEADINGS[tag]
        elif tag == "tr":
            self._end_row()  # a row of a nested table ends the outer row early
            self._flush()
            self._cells = []
        elif tag in ("td", "th"):
            self._end_cell()
            self._cell = [] if self._cells is not None else None
        elif tag in _BOUNDARIES:
            self._boundary()
            if tag == "table":
                self._tables.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIPPED:
            # Close the innermost open element of this kind and anything left open inside it.
            while tag in self._skipping and self._skipping.pop() != tag:
                pass
        elif self._skipping:
            return
        elif tag in _HEADINGS:
            self._flush()
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()
            if tag == "table" and self._tables:
                self._tables.pop()
        elif tag in _BOUNDARIES:
            self._boundary()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skipping:
            (self._cell if self._cell is not None else self._text).append(data)

    def close(self) -> None:
        super().close()
        self._end_row()
        self._flush()

    def _boundary(self) -> None:
        # Inside a table cell or a heading a <p> or <br> is only a line break (dropped inside CJK).
        if self._cell is not None:
            self._cell.append("\n")
        elif self._heading:
            self._text.append("\n")
        else:
            self._flush()

    def _flush(self) -> None:
        text = normalise("".join(self._text))
        if text:
            self.blocks.append(Block(text, heading=self._heading))
        self._text, self._heading = [], 0

    def _end_cell(self) -> None:
        if self._cell is not None and self._cells is not None:
            if text := normalise("".join(self._cell)):
                self._cells.append(text)
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._cells:
            row = " | ".join(self._cells)
            header = self._tables[-1] if self._tables else ""
            self.blocks.append(Block(row, header=header))
            if self._tables and not header:
                self._tables[-1] = row
        self._cells = None


def html_blocks(text: str, path: str) -> list[Block]:
    """Visible text of an HTML page; <title> becomes the h1 when the page has none."""
    parser = _BlockParser()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser asserts on some broken markup
        raise _error(path, f"HTML the parser cannot read ({exc})") from exc
    blocks = parser.blocks
    title = normalise(parser.title)
    if title and not any(b.heading == 1 for b in blocks):
        blocks.insert(0, Block(title, heading=1))
    return blocks


# ---------------------------------------------------------------- plain text and Markdown

_FINAL_PUNCTUATION = tuple("。！？!?；;：:，,、….）)」』”\"'")


def text_blocks(text: str, path: str) -> list[Block]:
    """Paragraphs of plain text separated by blank lines.

    A one-line paragraph of at most 30 characters without final punctuation that is
    followed by a longer paragraph is taken as a level-1 heading ("产品规格"); so is a line
    of a longer paragraph that _line_heading takes for one (a heading with no blank line
    under it: 退换货说明 ran into 商品签收后…, and no passage had it as its section).
    """
    raw = [p.strip() for p in _BLANK_LINES.split(text.replace("\r\n", "\n")) if p.strip()]
    paragraphs = [normalise(p) for p in raw]
    blocks = []
    for i, para in enumerate(paragraphs):
        following = paragraphs[i + 1] if i + 1 < len(paragraphs) else ""
        is_heading = ("\n" not in raw[i] and len(para) <= 30
                      and not para.endswith(_FINAL_PUNCTUATION) and len(following) > len(para))
        blocks += [Block(para, heading=1)] if is_heading else _rows_and_paragraphs(raw[i], headings=True)
    return blocks


_MD_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")


def _md_heading(line: str) -> tuple[int, str] | None:
    """(level, title) of an ATX heading line, else None. The closing #s (after a space) and
    spaces are cut off in Python: a lazy title before an optional closing sequence made
    the pattern quadratic in a run of spaces (80,000 took over a minute)."""
    match = _MD_HEADING.match(line)
    if match is None:
        return None
    title = (match.group(2) or "").rstrip(" \t")
    bare = title.rstrip("#")
    if bare != title and bare and bare[-1] in " \t":  # a title of only #s stays, as it did
        title = bare.rstrip(" \t")
    return len(match.group(1)), title
_MD_ITEM = re.compile(r"^\s*(?:[-*+]|(\d{1,9})[.)])[ \t]+(.*)$")  # (number of an ordered item, text)
_MD_RULE = re.compile(r"^ {0,3}([-*_=])(?:[ \t]*\1){2,}[ \t]*$")
_MD_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")
_MD_TABLE_ROW = re.compile(r"^ {0,3}\|(.*\|.*)$")  # a pipe table's row, written with its leading pipe
_MD_TABLE_DELIMITER = re.compile(r"\s*:?-+:?\s*")
# Each pattern must take time linear in the text: a scan that could run from every
# opening mark to the end ("<http://" 20,000 times took 38 s, "[" 200,000 times minutes,
# under the lock every agent waits for) stops at the next opening mark instead, or after
# EMPHASIS characters (emphasis longer than that keeps its marks).
EMPHASIS = 300
_MD_INLINE = [
    (re.compile(r"!?\[([^\[\]]*)\]\([^()]*\)"), r"\1"),  # [text](url), ![alt](src)
    (re.compile(r"!?\[([^\[\]]*)\]\[[^\[\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?://|mailto:)[^<>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"(?<!`)`+([^`]+?)`+"), r"\1"),  # from the first ` of a run only
    (re.compile(rf"(\*\*|__|~~)(?=\S)(.{{1,{EMPHASIS}}}?)(?<=\S)\1"), r"\2"),
    (re.compile(rf"(?<!\*)\*(?=[^\s*])(.{{1,{EMPHASIS}}}?)(?<=[^\s*])\*(?!\*)"), r"\1"),
    (re.compile(rf"(?<![\w_])_(?=\S)(.{{1,{EMPHASIS}}}?)(?<=\S)_(?![\w_])"), r"\1"),  # not snake_case
]


def _md_inline(text: str) -> str:
    """Drop emphasis, code and link markup, keeping the visible text."""
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return text


def markdown_blocks(text: str, path: str) -> list[Block]:
    """Headings, paragraphs, list items and fenced code of prose Markdown."""
    blocks: list[Block] = []
    lines: list[str] = []
    fence = ""
    header = ""  # the running pipe table's first row

    def flush(markup: bool = True) -> None:
        joined = "\n".join(lines)
        if joined := normalise(_md_inline(joined) if markup else joined):
            blocks.append(Block(joined))
        lines.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        if fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
                flush(markup=False)
            else:
                lines.append(line)
        elif match := _MD_FENCE.match(line):
            flush()
            fence = match.group(1)
        elif match := _MD_TABLE_ROW.match(line):
            # One row a line, as in DOCX and HTML: joined as a paragraph it was one run of cells.
            flush()
            cells = match.group(1).rstrip().removesuffix("|").split("|")
            if not all(_MD_TABLE_DELIMITER.fullmatch(c) for c in cells):
                if row := " | ".join(c for c in (normalise(_md_inline(c)) for c in cells) if c):
                    blocks.append(Block(row, header=header))
                    header = header or row
            continue
        elif found := _md_heading(line):
            flush()
            if heading := normalise(_md_inline(found[1])):
                blocks.append(Block(heading, heading=found[0]))
        elif not line.strip() or _MD_RULE.match(line) or _MD_REFERENCE.match(line):
            flush()
        elif match := _MD_ITEM.match(line):
            flush()
            # An ordered item keeps its number, as a .docx list's does: steps read 1. 2. 3.,
            # not as lines in no order (a step may say 重复第2步). A bullet goes.
            lines.append(f"{int(match.group(1))}. {match.group(2)}" if match.group(1) else match.group(2))
        else:
            lines.append(re.sub(r"^\s*(?:>\s?)+", "", line))  # blockquote markers
        header = ""
    flush(markup=not fence)  # an unclosed fence runs to the end of the file
    return blocks


# ---------------------------------------------------------------- chunking

def _split_long(text: str, max_chars: int) -> list[str]:
    """Cut text longer than max_chars into pieces at sentence ends, else hard."""
    pieces, current = [], ""
    for sentence in _SENTENCE.findall(text):
        while len(sentence.rstrip()) > max_chars:  # no sentence end in reach: cut, at a space if near
            cut = sentence.rfind(" ", 0, max_chars + 1)
            cut = cut if cut > max_chars // 2 else max_chars
            pieces += [current, sentence[:cut]]
            current, sentence = "", sentence[cut:].lstrip()
        if len(current) + len(sentence.rstrip()) > max_chars:
            pieces.append(current)
            current = ""
        current += sentence
    pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def _tail(text: str, limit: int) -> str:
    """The last ≤ limit chars of text, from the first sentence start inside them if any."""
    if limit <= 0:
        return ""
    start = max(0, len(text) - limit)
    starts = [0] + [m.end() for m in _SENTENCE.finditer(text)]
    inside = [s for s in starts if start <= s < len(text)]
    return text[inside[0] if inside else start:].strip()


def chunk(blocks: list[Block], source: str, max_chars: int = 400, overlap: int = 60) -> list[Passage]:
    """Pack body blocks into passages of at most max_chars, per heading section.

    A heading closes the running passage and sets the section path; a page change (PDF)
    closes it too, so that a passage cites the page all its text is on. Within a section
    and page each passage after the first starts with up to `overlap` characters of the
    previous one's tail. No tail crosses a page change: a document without headings is
    one section, and the tails carried page 1's text into page 3's passage, which then
    matched questions about page 1 and cited page 3. Passage.page is the page of its text.
    Raises ImportFileError if no passage results.
    """
    if max_chars <= 0 or not 0 <= overlap < max_chars:
        raise ValueError("need max_chars > 0 and 0 <= overlap < max_chars")
    passages: list[Passage] = []
    path: list[tuple[int, str]] = []
    parts: list[str] = []  # the running passage: overlap tail (if any), then new pieces
    has_new, page = False, None

    def emit() -> None:
        nonlocal parts, has_new
        if has_new:
            section = " > ".join(title for _, title in path)
            passages.append(Passage(source, len(passages), "\n".join(parts), section, page))
        parts, has_new = [], False

    for block in blocks:
        text = normalise(block.text)
        if not text:
            continue
        if block.heading:
            emit()
            path = [(level, title) for level, title in path if level < block.heading]
            path.append((block.heading, text))
            continue
        for piece in _split_long(text, max_chars):
            if has_new and block.page != page:
                emit()  # no tail: it is the other page's text, and the passage cites only its own page
            elif parts and len("\n".join(parts)) + 1 + len(piece) > max_chars:
                previous = "\n".join(parts)
                emit()
                # Keep room for the piece and its newline: the piece itself is never cut.
                if tail := _tail(previous, min(overlap, max_chars - len(piece) - 1)):
                    parts = [tail]
            if not has_new:
                page = block.page
                # A table going on from the passage before: its header row says what each cell is.
                if block.header and block.header not in "\n".join(parts).split("\n"):
                    for opening in ([block.header, *parts], [block.header]):
                        if len("\n".join([*opening, piece])) <= max_chars:
                            parts = opening
                            break
            parts.append(piece)
            has_new = True
    emit()
    if not passages:
        raise _error(source, "no text found")
    return passages

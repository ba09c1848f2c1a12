"""Turn the bytes of an imported file into text: detect the encoding, then clean up.

Shops export FAQ sheets and documents as UTF-8 (with or without a BOM), GB18030/GBK
(mainland) or Big5 (Taiwan, Hong Kong), and now and then as UTF-16 with a BOM (Windows
Notepad's "Unicode"). Explicit markers decide first (a BOM, or bytes
that are valid UTF-8, which legacy Chinese text beyond a word or two practically never
is). Telling GB18030
from Big5 is the hard part: GB18030 accepts nearly every Big5 byte sequence, and Big5
accepts many GBK ones, so "whichever decodes without error" is wrong. Instead each
candidate that decodes strictly is read back and scored by how much it looks like real
Chinese: text people write is made of frequent characters, while a misread file turns
into rare characters, kana, box drawing, private-use code points and the like. This
works on a two-line CSV, where statistical detectors such as charset-normalizer have
too little to go on.
"""

from __future__ import annotations

import codecs
import math
import re
import unicodedata
from pathlib import Path
from typing import Callable

from kefu.kb.errors import ImportFileError

# What legacy (non-UTF) files are tried as, in order of preference on a tie: mainland
# exports are the more common. cp950 is Microsoft's Big5 with a few extra characters;
# it is only tried when strict Big5 fails, and reported as "big5" either way. Hong Kong
# files use Big5-HKSCS (Cantonese characters such as 㗎, 嘅, 咗): tried when neither reads.
_LEGACY = (("gb18030", "gb18030"), ("big5", "big5"), ("cp950", "big5"), ("big5hkscs", "big5hkscs"))

# UTF-32's before UTF-16's: the UTF-32-LE BOM (ff fe 00 00) opens with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_NEWLINES = re.compile(r"\r\n?")
# C0 controls other than \t and \n (\r is gone by then), DEL, and C1 controls: they
# come from copy-pasting out of other programs and only confuse the parsers downstream.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A terminal's control sequence (CSI: ESC [ or U+009B, parameters, a final letter), as in
# ESC [2J or ESC [1;31m of a log pasted into a sheet, goes whole, as entry text cleaning
# (kb/text.py strip_controls) removes it: dropping only its ESC left "[2J" in the answer,
# where that cleaning no longer saw a sequence. Only these: other sequences (ESC + any
# character, titles up to BEL) may hold a quote, delimiter or backslash of the file's
# own structure, so they lose their control characters only, as before. Nor one whose
# parameters hold the CSV's delimiter (";" of ESC [1;31m in a ";" file): a sequence cut
# short (ESC [1 then ";VIP") would take the delimiter with it, so it loses its ESC only.
_CSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[@A-Za-z~]")

# Everyday punctuation and symbols of Chinese text (full-width ASCII forms aside):
# both encodings have them, so they say nothing about which reading is right.
_NEUTRAL = set("、。，．：；？！“”‘’（）【】《》〈〉「」『』〔〕…—～·×÷±≈≠≤≥℃￥※°‰№")

# Where a misread file lands but real Chinese text hardly goes: accented Latin letters
# and Greek/Cyrillic (from GBK's symbol rows), tone marks, box drawing, radicals, kana
# and bopomofo, squared abbreviations and CJK extension A, private use (unmapped
# GB18030 user areas), compatibility ideographs, vertical and small forms, half-width
# katakana.
_ODD_RANGES = (
    (0x0080, 0x036F), (0x0370, 0x052F), (0x2500, 0x259F), (0x2E80, 0x2FFF),
    (0x3040, 0x31FF), (0x3300, 0x4DBF), (0xE000, 0xFAFF), (0xFE10, 0xFE6F),
    (0xFF61, 0xFF9F), (0x20000, 0x3FFFF),
)

# Per-character log-frequency, built lazily from jieba's dictionary (see _frequencies)
# together with the OpenCC converter used to map traditional characters onto the
# simplified ones that dictionary counts.
_FREQ: dict[str, float] | None = None
_T2S = None

_UNKNOWN_HAN = 0.0  # a CJK ideograph the dictionary never uses (log10 of 1)
_ODD = -3.0  # below any ideograph: one odd symbol outweighs a few plausible characters
_SAMPLE = 20000  # non-ASCII characters scored: plenty, and keeps big files fast
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def decode(data: bytes, path: str, encoding: str | None = None,
           delimiter_of: Callable[[str], str] | None = None, option: str | None = "--encoding") -> tuple[str, str]:
    """Return (text, encoding_name) for the raw bytes of the file at `path`.

    With `encoding`, the bytes are decoded with that codec strictly; a bad byte raises
    ImportFileError naming its line. Without it the encoding is detected: a BOM ("utf-8-sig",
    "utf-16", "utf-32"), else strict UTF-8 ("utf-8"), else the more plausible of "gb18030"
    and "big5"; UTF-16 without a BOM is refused, naming the codec to give. Either
    way line endings become "\\n", a leading BOM, stray control characters and terminal
    control sequences (ESC [2J) are removed, and nothing else in the text is changed.
    For a CSV, `delimiter_of` finds its delimiter in the text: a control sequence that
    would hold it loses only its ESC, so that no cell boundary goes with it. `option`:
    the command's option that names an encoding, which an error suggests; None when the
    command has none (an error then says to save the file as UTF-8).
    """
    path = str(path)
    if not data:
        return "", "utf-8"
    text, name = _decode_as(data, path, encoding, option) if encoding else _detect(data, path, option)
    text = _NEWLINES.sub("\n", text)
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = delimiter_of(text) if delimiter_of else None
    sequences = _CSI.sub("", text) if delimiter is None else \
        _CSI.sub(lambda m: m[0] if delimiter in m[0] else "", text)
    return _CONTROLS.sub("", sequences), name


def text_codec(encoding: str) -> str:
    """The canonical name of a text encoding ("GBK" -> "gbk", "utf8" -> "utf-8").

    LookupError, with a message for the user, if there is no such codec or it is not one
    of text: Python also registers base64, hex, rot13, zlib and uu, which bytes.decode
    refuses with a bare LookupError."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise LookupError(f"unknown encoding {encoding!r}") from None
    if not getattr(info, "_is_text_encoding", True):  # the flag bytes.decode itself checks
        raise LookupError(f"{encoding!r} is not a text encoding (name one such as utf-8, gb18030 or big5)")
    return info.name


# The hint of a command that cannot be told the encoding (suggest --context).
_SAVE_AS_UTF8 = "save it as UTF-8"


def _decode_as(data: bytes, path: str, encoding: str, option: str | None = "--encoding") -> tuple[str, str]:
    """Decode strictly with a named codec; returns (text, the codec's canonical name)."""
    try:
        codec = text_codec(encoding)
    except LookupError as exc:
        raise ImportFileError(path, None, None, str(exc)) from None
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as err:
        # Suggest the usual suspects, less the one that just failed ("utf-8-sig" is utf-8).
        others = [n for n in ("utf-8", "gb18030", "big5") if not codec.startswith(n)]
        raise ImportFileError(
            path,
            _line_of(err),
            None,
            f"byte {_bad_bytes(err)} is not valid {codec}; "
            f"the file may be {' or '.join(others)} "
            + (f"(try {option} {others[0]})" if option else f"({_SAVE_AS_UTF8})"),
        ) from None
    except UnicodeError as err:  # a codec that names no byte (the "undefined" codec refuses all)
        raise ImportFileError(path, None, None, f"cannot be read as {codec} ({err})") from None


def _detect(data: bytes, path: str, option: str | None = "--encoding") -> tuple[str, str]:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _decode_as(data, path, name, option)
    if b"\x00" in data and (codec := _utf16_without_bom(data)):
        hint = f"name it with {option} {codec}, or " if option else ""
        raise ImportFileError(path, None, None, f"the file looks like UTF-16 ({codec[-2:].upper()}) without a "
                              f"byte-order mark, whose byte order kefu does not guess: {hint}save it as UTF-8 "
                              '(or as UTF-16 with a BOM, Notepad\'s "Unicode")')
    failures: list[UnicodeDecodeError] = []
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        failures.append(err)
        _refuse_damaged_utf8(data, path, err)
    candidates: dict[str, str] = {}  # reported name -> decoded text
    for codec, name in _LEGACY:
        if name in candidates or name == "big5hkscs" and "big5" in candidates:
            continue
        try:
            candidates[name] = data.decode(codec)
        except UnicodeDecodeError as err:
            failures.append(err)
    if not candidates:
        # The decoder that read furthest before failing points at the real problem.
        worst = max(failures, key=lambda e: e.start)
        raise ImportFileError(
            path,
            _line_of(worst),
            None,
            f"byte {_bad_bytes(worst)} fits none of UTF-8, GB18030 or Big5: the "
            "file is in another encoding (or damaged here); " + (f"name it with {option}" if option else _SAVE_AS_UTF8),
        )
    # max() keeps the first of equal scores, so ties go to gb18030.
    name = max(candidates, key=lambda n: plausibility(candidates[n]))
    return candidates[name], name


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when BOM-less bytes are text in that UTF-16: they decode
    strictly into lines (a "\n"; read in the other byte order it is U+0A00, which no text
    holds), without control characters, that are mostly ASCII or read as Chinese. UTF-8,
    GB18030 and Big5 text holds no zero bytes, while UTF-16 has one in every ASCII
    character; read as UTF-8 an ASCII one passed, its zero bytes removed as controls and
    its line breaks doubled, and a Chinese one failed as "another encoding"."""
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\n" not in text or _CONTROLS.search(text.replace("\r", "")):
            continue
        if len(_NON_ASCII.sub("", text)) * 2 >= len(text) or plausibility(text) >= _UTF8_LINE:
            return codec
    return None


# A line's UTF-8 reading that scores at least this is real Chinese: legacy bytes that
# happen to be valid UTF-8 read as odd symbols or unknown ideographs (at most 0).
_UTF8_LINE = 1.0
# The same for the part of a bad line before its bad byte (a file whose one line of
# Chinese was cut mid-character): at least 3 ideographs scoring this. The valid prefix of
# a GB18030 or Big5 line practically never holds 3 ideographs; a cut UTF-8 one scores 3.4+.
_UTF8_PREFIX = 3.0
_IDEOGRAPH = re.compile(r"[\u4e00-\u9fff]")


def _refuse_damaged_utf8(data: bytes, path: str, err: UnicodeDecodeError) -> None:
    """ImportFileError naming the first bad line when the file is UTF-8 except for some
    lines (a copy cut mid-character, a GBK or Big5 row pasted in). Read as GB18030 or
    Big5, such a file decodes without error into mojibake (客服 as 瀹㈡湇), and an
    import would store that over good entries. A line counts as UTF-8 when it decodes
    strictly and reads as Chinese: a GB18030 or Big5 line practically never does both.
    So does the first bad line when its text up to the bad byte does (the only line of
    Chinese, cut)."""
    lines = data.split(b"\n")  # 0x0a is never part of a multi-byte GBK/Big5/UTF-8 character
    bad = 0
    evidence = None  # the first line that reads as UTF-8 Chinese
    cut = False  # no such line, but the first bad line does up to its bad byte
    for number, line in enumerate(lines, 1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as line_err:
            bad += 1
            before = line[: line_err.start].decode("utf-8")
            cut = cut or bad == 1 and len(_IDEOGRAPH.findall(before)) >= 3 and plausibility(before) >= _UTF8_PREFIX
            continue
        if evidence is None and plausibility(text) >= _UTF8_LINE:
            evidence = number
    if evidence is None and not cut:
        return
    more = f" (and {bad - 1} more line{'s' if bad > 2 else ''})" if bad > 1 else ""
    if evidence is None:
        raise ImportFileError(path, _line_of(err), None, f"byte {_bad_bytes(err)} is not valid UTF-8{more}, though "
                              "the text before it is UTF-8: part of the file is damaged (cut mid-character) or in "
                              "another encoding (a GBK or Big5 row pasted in); fix that text and save the file as UTF-8")
    raise ImportFileError(path, _line_of(err), None, f"byte {_bad_bytes(err)} is not valid UTF-8{more}, though "
                          f"the file is UTF-8 elsewhere (line {evidence}): part of the file is damaged (cut "
                          "mid-character) or in another encoding (a GBK or Big5 row pasted in); fix that text "
                          "and save the file as UTF-8")


# Both read err.object, not the file's bytes: utf-8-sig reports positions in the data
# after its BOM.
def _line_of(err: UnicodeDecodeError) -> int:
    """1-based line of the byte the decoder rejected."""
    before = err.object[: err.start].decode(err.encoding, errors="replace")
    return _NEWLINES.sub("\n", before).count("\n") + 1


def _bad_bytes(err: UnicodeDecodeError) -> str:
    return " ".join(f"0x{b:02x}" for b in err.object[err.start : max(err.end, err.start + 1)])


def plausibility(text: str) -> float:
    """Mean per-character score of `text` as Chinese: higher means more plausible.

    An ideograph scores its log-frequency in everyday use (traditional characters are
    counted as their simplified forms, so both scripts are judged alike); symbols that
    a misread file produces but real text rarely has score below any ideograph. ASCII,
    whitespace and everyday punctuation are not counted.
    """
    freq, t2s = _frequencies()
    sample = "".join(_NON_ASCII.findall(text))[:_SAMPLE]
    total, count = 0.0, 0
    for ch in t2s.convert(sample):
        if ch in _NEUTRAL or ch.isspace() or "\uff01" <= ch <= "\uff5e":
            continue
        if "\u4e00" <= ch <= "\u9fff":
            score = freq.get(ch, _UNKNOWN_HAN)
        elif _is_odd(ch):
            score = _ODD
        else:  # other symbols (arrows, circled numbers, emoji...): no signal
            continue
        total += score
        count += 1
    return total / count if count else 0.0


def _is_odd(ch: str) -> bool:
    cp = ord(ch)
    if unicodedata.category(ch) in ("Cn", "Co"):  # unassigned or private use
        return True
    return any(lo <= cp <= hi for lo, hi in _ODD_RANGES)


def _frequencies():
    """Load (once) the character log-frequency table and the t2s converter.

    jieba's dict.txt lists ~350k words with corpus counts; a character's count is the
    sum over the words it appears in. It is simplified-only, hence OpenCC's t2s.
    """
    global _FREQ, _T2S
    if _FREQ is None:
        import jieba
        import opencc

        counts: dict[str, int] = {}
        dict_file = Path(jieba.__file__).with_name("dict.txt")
        with open(dict_file, encoding="utf-8") as f:
            for line in f:
                word, count, *_ = line.split(" ")
                for ch in word:
                    counts[ch] = counts.get(ch, 0) + int(count)
        _T2S = opencc.OpenCC("t2s")
        _FREQ = {ch: math.log10(n) for ch, n in counts.items() if n > 0}
    return _FREQ, _T2S

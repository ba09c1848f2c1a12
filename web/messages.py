"""The library's English messages in the console's language.

kb/ and suggest/ speak English to the CLI and the API; the console's pages are Chinese,
so what they show of a library error is translated here, at the edge. Each table maps a
message's known shape to Chinese, keeping its names and values (a field, an id, a
line); a message of a shape not listed is shown as raised.
"""

from __future__ import annotations

import re

FIELD_LABELS = {"id": "编号", "question": "标准问题", "similar": "相似问法", "answer": "答案",
                "category": "分类", "tags": "标签", "status": "状态", "valid_from": "生效日期",
                "valid_to": "失效日期"}

# Reasons of InvalidEntry (kb/entry.py) and of the 话术 and word-list checks.
REASONS_ZH = {"must be a non-empty string": "不能为空", "is required": "不能为空", "missing or empty": "不能为空",
              "is before valid_from": "不能早于生效日期", "unknown field": "未知字段",
              "must be a string": "应为文字", "the message is empty": "消息为空",
              "must be a non-empty string of at most 64 characters": "须为 1–64 个字符"}
DATE_FORMS_ZH = "日期格式不对（应为 YYYY-MM-DD，或 YYYY-MM-DDTHH:MM 本地时间，可带 +08:00 这样的时区）"

_REASON_PATTERNS = [
    (re.compile(r"broken variable: unbalanced '(.)' near (['\"])(.*)\2$", re.S),
     lambda m: f"变量写法有误：「{m[1]}」没有配对（在「{m[3]}」附近）"),
    (re.compile(r"broken variable: empty variable name in (['\"])(.*)\1$", re.S),
     lambda m: f"变量写法有误：「{m[2]}」里没有变量名"),
    (re.compile(r"must not contain spaces or control characters, got (.*) in (.*)$", re.S),
     lambda m: f"不能含空格或控制字符（{m[2]} 中有 {m[1]}）"),
    (re.compile(r"must be one of (.*), got (.*)$", re.S), lambda m: f"只能是 {m[1]} 之一，不能是 {m[2]}"),
    (re.compile(r"must be one of (.*)$", re.S), lambda m: f"只能是 {m[1]} 之一"),
    (re.compile(r"has (\d+) characters; the limit is (\d+)$"), lambda m: f"有 {m[1]} 个字符，超过了上限 {m[2]} 个字符"),
    (re.compile(r"expected a list of strings, got .*$"), lambda m: "应为一组文字"),
    (re.compile(r"expected strings, got .*$"), lambda m: "应为文字"),
    (re.compile(r"not an ISO date .*$", re.S), lambda m: DATE_FORMS_ZH),
    (re.compile(r"broken variable: (.*)$", re.S), lambda m: f"变量写法有误：{m[1]}"),
    (re.compile(r"must not be 'new', contain a backslash.*got (.*)$", re.S),
     lambda m: f"不能是「new」，不能含反斜杠或空的、「.」或「..」的段，也不能以「/archive」「/history」或「/revert」结尾"
               f"（编号是网址的一部分），不能是 {m[1]}"),
    (re.compile(r"(.*) is out of range once converted to local time$", re.S), lambda m: f"{m[1]} 换算成本地时间后超出范围"),
    (re.compile(r"expected a string or a list of strings, got .*$", re.S), lambda m: "应为文字或一组文字"),
    (re.compile(r"expected a string, got .*$", re.S), lambda m: "应为文字"),
    # The importers' (kb/importers/): whole files and rows.
    (re.compile(r"unsupported file type (.*); kefu reads (.*)$"), lambda m: f"不支持 {m[1]} 文件（可导入 {m[2]}）"),
    (re.compile(r"no entries found \(the file is empty\)$"), lambda m: "文件是空的，没有条目"),
    (re.compile(r"no entries found .*$"), lambda m: "文件里没有条目"),
    (re.compile(r"cannot read: (.*)$"), lambda m: f"无法读取：{m[1]}"),
    (re.compile(r"no header row with a question column .*$", re.S),
     lambda m: "找不到含问题列的表头行（列名如「标准问题」或「question」）"),
    (re.compile(r"no sheet has a header row with a question column .*$", re.S),
     lambda m: "没有一个工作表有含问题列的表头行（列名如「标准问题」或「question」）"),
    (re.compile(r"expected (\d+) cells like the header, found (\d+) .*$", re.S),
     lambda m: f"表头有 {m[1]} 列，这一行有 {m[2]} 列（单元格内的逗号须加引号；行尾的空单元格也要保留）"),
    (re.compile(r"duplicate of (.*) \((.*)\)$", re.S), lambda m: f"与{place_zh(m[1])}重复（{m[2]}）"),
    (re.compile(r"malformed CSV: .*$", re.S), lambda m: "CSV 格式有误"),
    (re.compile(r"invalid JSON \(nested too deeply\)$"), lambda m: "JSON 嵌套太深"),
    (re.compile(r"invalid JSON \(.* at column (\d+)\)$", re.S), lambda m: f"JSON 格式有误（第 {m[1]} 列附近）"),
    (re.compile(r"invalid JSON .*$", re.S), lambda m: "JSON 格式有误"),
    (re.compile(r"expected a JSON object$"), lambda m: "应为 JSON 对象"),
    (re.compile(r"expected a JSON array of entries .*$", re.S), lambda m: '应为条目组成的 JSON 数组，或 {"entries": [...]}'),
    (re.compile(r"not an FAQ file .*$", re.S), lambda m: "不是问答文件（每条都要有问题和答案）"),
    (re.compile(r"not a readable \.?(\w+) (?:file|workbook)\b.*$", re.S), lambda m: f"无法读取的 {m[1].upper()} 文件"),
    (re.compile(r"HTML the parser cannot read .*$", re.S), lambda m: "无法解析的 HTML"),
    (re.compile(r"the PDF is password-protected.*$", re.S), lambda m: "PDF 有密码保护：请另存一份无密码的再导入"),
    (re.compile(r"the PDF is encrypted .*$", re.S), lambda m: "PDF 的加密方式无法在这里打开"),
    (re.compile(r"the PDF has no extractable text.*$", re.S), lambda m: "PDF 里没有可提取的文字（是扫描的图片吗？）"),
    (re.compile(r"page (\d+): cannot extract text.*$", re.S), lambda m: f"第 {m[1]} 页无法提取文字"),
    (re.compile(r"no text found$"), lambda m: "没有找到文字"),
    (re.compile(r"byte (.*) fits none of UTF-8, GB18030 or Big5.*$", re.S),
     lambda m: f"字节 {m[1]} 不属于 UTF-8、GB18030 或 Big5 编码：文件是其他编码（或此处已损坏），请另存为 UTF-8 再导入"),
    (re.compile(r"byte (.*) is not valid (.*?); the file may be (.*) \(try .*$", re.S),
     lambda m: f"字节 {m[1]} 不是有效的 {m[2]} 编码；文件可能是 {m[3].replace(' or ', ' 或 ')} 编码"),
    (re.compile(r"cannot be read as (.*?) \(.*$", re.S), lambda m: f"无法按 {m[1]} 编码读取"),
    (re.compile(r"unknown encoding (.*)$"), lambda m: f"未知的编码 {m[1]}"),
    (re.compile(r"this is an old Office file .*$", re.S),
     lambda m: "这是旧版 Office 文件（.xls 或 .doc）：请在 Excel 或 Word 中另存为 .xlsx 或 .docx 再导入"),
    (re.compile(r"this is an Excel workbook .*$", re.S), lambda m: "这是 Excel 工作簿（.xlsx）：请把扩展名改为 .xlsx 再导入"),
    (re.compile(r"this is a Word document .*$", re.S), lambda m: "这是 Word 文档（.docx）：请把扩展名改为 .docx 再导入"),
    (re.compile(r"this is a zip archive.*$", re.S), lambda m: "这是 zip 压缩包：请解压后导入其中的文件"),
    (re.compile(r"this is (.*), not a (.*) text file.*$", re.S), lambda m: f"这不是 {m[2]} 文本文件"),
    (re.compile(r"cell (\w+) holds the Excel error (.*)$", re.S), lambda m: f"单元格 {m[1]} 是 Excel 错误值 {m[2]}"),
    (re.compile(r"cell (\w+) holds a formula with no saved value \((.*)\); .*$", re.S),
     lambda m: f"单元格 {m[1]} 的公式（{m[2]}）没有保存计算结果：请在 Excel 或 LibreOffice 中打开并保存后再导入"),
    (re.compile(r"cell (\w+) (.*)$", re.S), lambda m: f"单元格 {m[1]} 无法导入"),
    (re.compile(r"(.*) is already the standard question of entry (.*?)(?: \(and of entry (.*?):.*\))?(?: \(.*\))?$", re.S),
     lambda m: f"{m[1]} 已是条目 {m[2]}" + (f" 和条目 {m[3]}" if m[3] else "") + " 的标准问题"
               + ("：请在这一行填上它所属条目的编号" if m[3] else "（导入时可选「已有条目：更新」或「跳过」）")),

    (re.compile(r"(.*) is not a text encoding .*$"), lambda m: f"{m[1]} 不是文字编码（应为 UTF-8、GB18030 或 Big5 等）"),
    # An import's conflicts with stored entries (DuplicateEntry, with the import's hint).
    (re.compile(r"question (.*) matches entry (.*), which has other content(?: \(.*\))?$", re.S),
     lambda m: f"问题 {m[1]} 与条目 {m[2]} 相同，但内容不同（导入时可选「已有条目：更新」或「跳过」）"),
    (re.compile(r"entry id (.*) already exists(?: \(.*\))?$", re.S),
     lambda m: f"编号 {m[1]} 已存在（导入时可选「已有条目：更新」或「跳过」）"),
    (re.compile(r"(.*) \((.*), updating (.*)\)$", re.S), lambda m: f"{reason_zh(m[1])}（{place_zh(m[2])}，更新条目 {m[3]} 时）"),
]

# Notes of an import (kb/importers/tables.py, faq.py): what was read but not imported.
_IMPORT_NOTE_PATTERNS = [
    (re.compile(r"unknown column (.*) was not imported$", re.S), lambda m: f"不认识的列 {m[1]}，没有导入"),
    (re.compile(r"column (.*) repeats a field already read, ignored$", re.S), lambda m: f"列 {m[1]} 与前面的列是同一字段，已忽略"),
    (re.compile(r"repeats the header row, skipped$"), lambda m: "重复的表头行，已跳过"),
    (re.compile(r"no header row with a question column, skipped$"), lambda m: "没有含问题列的表头行，已跳过"),
    (re.compile(r"no header above it, so its cells were not imported \((?:\w+ )?(\d+)(?: and (\d+) more)?\)$"),
     lambda m: f"上方没有表头，这一列没有导入（第 {m[1]} 行" + (f"等 {int(m[2]) + 1} 处）" if m[2] else "）")),
    (re.compile(r"text(?: under heading (.*)|1)? belongs to no question, not imported$", re.S),
     lambda m: ("「" + m[1].strip("'") + "」下" if m[1] else "") + "有不属于任何问题的文字，没有导入"),
    (re.compile(r"section title (.*) \(merged across the table\) is the category .*$", re.S),
     lambda m: f"分节标题 {m[1]}（跨整行合并）：作为下面没有分类的行的分类"),
    (re.compile(r"unknown field (.*) was not imported \(nor in later rows\)$", re.S),
     lambda m: f"不认识的字段 {m[1]}，没有导入（后面各行也一样）"),
]
_NOT_PRUNED = re.compile(r"not pruned: (\d+) row\(s\) were rejected.*$", re.S)
_NOT_PRUNED_OTHER = re.compile(r"not pruned: (\d+) entr(?:y|ies) of (.*?) \((.*?)\) not in this file.*$", re.S)

# UserError (kb/users.py): the users page.
_USER_PATTERNS = [
    (re.compile(r"a password needs at least (\d+) characters$"), lambda m: f"密码至少需要 {m[1]} 个字符"),
    (re.compile(r"a user name must be non-empty and have no spaces$"), lambda m: "用户名不能为空，也不能含空格"),
    (re.compile(r"a (user|token) name must not contain '/' or start with 'token:', not '(.*)'$"),
     lambda m: f"{'用户名' if m[1] == 'user' else '令牌名称'}不能含「/」，也不能以「token:」开头（{m[2]}）"),
    (re.compile(r"user '(.*)' already exists$"), lambda m: f"用户 {m[1]} 已存在"),
    (re.compile(r"role must be one of (.*), not (.*)$"), lambda m: f"角色只能是 {m[1]} 之一，不能是 {m[2]}"),
    (re.compile(r"no user '(.*)'$"), lambda m: f"没有用户 {m[1]}"),
    (re.compile(r"'(.*)' is the last admin; add another admin first$"),
     lambda m: f"{m[1]} 是最后一位管理员：请先添加另一位管理员"),
]

# Errors shown on the error page or flashed: entries, versions, learned phrasings.
_ERROR_PATTERNS = [
    (re.compile(r"no entry with id '(.*)'$"), lambda m: f"没有编号为 {m[1]} 的条目"),
    (re.compile(r"entry '(.*)' has no version (\d+)$"), lambda m: f"条目 {m[1]} 没有第 {m[2]} 版"),
    (re.compile(r"entry '(.*)' is (\w+), not published$"), lambda m: f"条目 {m[1]} 是{_status(m[2])}状态，不是已发布"),
    (re.compile(r"this needs the (\w+) role$"), lambda m: f"需要{ROLE_ZH.get(m[1], m[1])}权限"),
    (re.compile(r"no learned phrasing with id (.*?)(?:: nothing done)?$"), lambda m: f"没有编号为 {m[1]} 的学习问法"),
    (re.compile(r"cannot (\w+) learned phrasing (\d+): it is (\w+)$"),
     lambda m: f"学习问法 #{m[2]} 当前为 {m[3]}，不能执行此操作"),
    (re.compile(r"learned phrasing (\d+) already belongs to (.*)$"), lambda m: f"学习问法 #{m[1]} 已属于条目 {m[2]}"),
    (re.compile(r"learned phrasing (\d+) has no rejects: nothing to lift$"),
     lambda m: f"学习问法 #{m[1]} 没有客服拒绝记录，无需解除"),
    (re.compile(r"learned phrasing (\d+) is (\w+): nothing to reset$"), lambda m: f"学习问法 #{m[1]} 为 {m[2]}，无需撤销"),
    (re.compile(r"min_agents must be at least 1, got (.*)$"), lambda m: f"客服人数应为不小于 1 的整数（填的是 {m[1]}）"),
]

# Notes on a search (SearchResult.warnings) for the console's hit test; panel.js has the
# panel's own table, as the browser shows them there.
_NOTE_PATTERNS = [
    (re.compile(r"message longer than (\d+) characters: only its end was matched$"),
     lambda m: f"消息超过{m[1]}字，只匹配了结尾部分"),
]

# Flask-WTF's and werkzeug's defaults, by status, for the error page.
STATUS_ZH = {400: "请求有误。", 403: "没有权限打开这个页面。", 404: "没有这个页面。", 405: "不支持这种请求方式。",
             413: "上传的内容太大。", 500: "服务器出错了，请稍后再试。"}
ROLE_ZH = {"agent": "客服", "editor": "编辑", "admin": "管理员"}
_STATUS_NAMES = {"draft": "草稿", "published": "已发布", "archived": "已归档"}

# Where an import problem is (ImportFileError's "file, sheet S, row 3, column '答案'"; a
# note's "sheet S, column C"); a field as the console names it (answer is 答案).
_PLACE = [(re.compile(r"(^|, )sheet ([^,:]+)"), lambda m: f"{_comma(m)}工作表 {m[2]}"),
          (re.compile(r"(^|, )(?:row|line|item) (\d+)"), lambda m: f"{_comma(m)}第 {m[2]} 行"),
          (re.compile(r"(^|, )page (\d+)"), lambda m: f"{_comma(m)}第 {m[2]} 页"),
          (re.compile(r"(^|, )(?:column|field) '([^']*)'"), lambda m: _comma(m) + FIELD_LABELS.get(m[2], m[2])),
          (re.compile(r"(^|, )column (\w+)$"), lambda m: f"{_comma(m)}第 {m[2]} 列")]
_SKIP_BAD_ROWS = re.compile(r"(\d+) row\(s\) rejected, so nothing was imported from this file "
                            r"\(fix them, or pass --skip-bad-rows\); first: (.*)$", re.S)


def _comma(m: re.Match) -> str:
    return "，" if m[1] else ""


def place_zh(where: str) -> str:
    """An import place ("faq.xlsx, sheet 常见问题, row 3, field 'answer'") in Chinese."""
    for pattern, repl in _PLACE:
        where = pattern.sub(repl, where)
    return where


def _status(name: str) -> str:
    return _STATUS_NAMES.get(name, name)


def _translate(text: str, patterns) -> str | None:
    for pattern, zh in patterns:
        if m := pattern.match(text):
            return zh(m)
    return None


def reason_zh(reason: str) -> str:
    """A field's problem (InvalidEntry.reason, ImportFileError.reason) in Chinese."""
    if reason in REASONS_ZH:
        return REASONS_ZH[reason]
    return _translate(reason, _REASON_PATTERNS) or reason


def user_error_zh(message: str) -> str:
    return _translate(message, _USER_PATTERNS) or message


def error_zh(message: str) -> str:
    """A library or HTTP error's message for a page or a flash."""
    return _translate(message, _ERROR_PATTERNS) or message


def note_zh(note: str) -> str:
    """A search's warning for the hit test."""
    return _translate(note, _NOTE_PATTERNS) or note


def problem_zh(text: str) -> str:
    """An import problem ("upload.csv, row 3, field 'answer': must be a non-empty string"),
    its place and reason in Chinese; the console's import page offers a checkbox where the
    CLI has --skip-bad-rows."""
    if m := _SKIP_BAD_ROWS.match(text):
        return (f"有 {m[1]} 行有问题，所以这个文件一行也没有导入（改好后重新上传，或勾选「跳过有问题的行」）。"
                f"第一处：{problem_zh(m[2])}")
    where, sep, reason = text.partition(": ")
    if not sep:
        return reason_zh(text)
    return f"{place_zh(where)}：{reason_zh(reason)}"


def import_note_zh(text: str) -> str:
    """A note of an import ("faq.csv, line 1: unknown column '备注' was not imported")."""
    if text.startswith("not pruned: a rejected-rows file"):
        return "没有归档：问题行文件不是条目的来源，其中的行属于改好后放回的原文件"
    if m := _NOT_PRUNED_OTHER.match(text):
        return (f"没有归档：{m[2]} 中有 {m[1]} 个条目（{m[3]}）不在这个文件里；这个文件的行原来属于那个文件，"
                "现在归这个文件（那些条目如已不用，请逐个归档）")
    if m := _NOT_PRUNED.match(text):
        return f"没有归档文件中已没有的条目：有 {m[1]} 行有问题，它们的条目会被误归档；改好后重新导入即可归档"
    where, sep, note = text.partition(": ")
    if not sep:
        return _translate(text, _IMPORT_NOTE_PATTERNS) or text
    return f"{place_zh(where)}：{_translate(note, _IMPORT_NOTE_PATTERNS) or note}"

"""The library's English messages in the console's language.

kb/ and suggest/ speak English to the CLI and the API; the console's pages are Chinese,
so what they show of a library error is translated here, at the edge. Each table maps a
message's known shape to Chinese, keeping its names and values (a field, an id, a
line); a message of a shape not listed is shown as raised.
"""

from __future__ import annotations

import re

from kefu.kb.errors import DuplicateQuestion, DuplicateSimilar

FIELD_LABELS = {"id": "编号", "question": "标准问题", "similar": "相似问法", "answer": "答案",
                "category": "分类", "tags": "标签", "status": "状态", "valid_from": "生效日期",
                "valid_to": "失效日期"}

# Reasons of InvalidEntry (kb/entry.py) and of the 话术 and word-list checks.
SEPARATORS_ZH = {"comma": "逗号", "tab": "制表符", "semicolon": "分号"}
REASONS_ZH = {"must be a non-empty string": "不能为空", "is required": "不能为空", "missing or empty": "不能为空",
              "is before valid_from": "不能早于生效日期", "unknown field": "未知字段",
              "must be a string": "应为文字", "the message is empty": "消息为空",
              "must be a non-empty string of at most 64 characters": "须为 1–64 个字符",
              "has no words (only punctuation, symbols or emoji)": "没有文字（只有标点、符号或表情），请写出要问的问题"}
# What to do with the entry holding a question when it is not suggested (DuplicateQuestion.state).
UNSUGGESTED_ZH = {"expired": "该条目已过期（有效期至 {bound}）：要继续使用，请到条目 {id} 把失效日期改晚",
                  "not_yet": "该条目还未生效（{bound} 起生效）：请到条目 {id} 修改生效日期",
                  "unreadable": "该条目的有效期无法识别（{bound}）：请到条目 {id} 改正日期",
                  "draft": "该条目是草稿，不会推荐：请到条目 {id} 把状态改为已发布"}
DATE_FORMS_ZH = ("日期格式不对（应为 YYYY-MM-DD，或 YYYY-MM-DDTHH:MM 本地时间，可带 +08:00 这样的时区；"
                 "也可写成 2026/11/11 20:00、2026.11.11 或 2026年11月11日）")

# Why the system could not read a file (OSError.strerror, as kb/io.py's read_text writes it).
_OS_ERROR_ZH = {"Is a directory": "这是一个文件夹，不是文件", "Permission denied": "没有读取这个文件的权限",
                "No such file or directory": "文件不存在", "Not a directory": "路径中有一段不是文件夹",
                "Too many levels of symbolic links": "符号链接循环", "File name too long": "文件名太长",
                "Input/output error": "磁盘读写出错", "Operation not permitted": "系统不允许读取这个文件"}

# DuplicateSimilar's reason (kb/errors.py): its text, entry, that entry's question and advice.
# With the other entry's state when it is not suggested (m[8], DuplicateQuestion.STATES' wording).
# Or of a new entry an earlier row of an import without an id makes: by its question (m[9]) and row (m[10]).
_SIMILAR_TAKEN = re.compile(r"(similar|standard) question (.*) is already (the standard|a similar) question of "
                            r"(?:entry '(.*?)' \((.*?)(?:, from (.*) of this file)?\)"
                            r"|new entry (.*?)(?: \(from (.*) of this file\))?)(?:: (one phrasing|move it to entry).*"
                            r"|, (which .*) %s)$" % re.escape(DuplicateSimilar.INSTEAD), re.S)
_SIMILAR_ADVICE_ZH = {"one phrasing": "同一个问法只能对应一个条目，请从其中一个条目删去",
                      "move it to entry": "如果那个条目能回答它，请移到那个条目；否则请拒绝"}


def similar_taken_zh(field: str, text: str, entry_id: str | None, other_question: str, taken_as: str,
                     advice: str = "one phrasing", state: str | None = None, bound: str = "") -> str:
    """A DuplicateSimilar in Chinese: which phrasing, of which entry (id and question), and
    what to do (`advice`, a key of _SIMILAR_ADVICE_ZH; or, when that entry is not suggested,
    its `state` and `bound` as DuplicateSimilar has them: bring it back, as for a question).
    With no `entry_id`, a new entry of an import, named by its question (and row)."""
    what = "相似问法" if field == "similar" else "标准问题"
    there = "标准问题" if taken_as == "question" else "相似问法"
    owner = f"条目 {entry_id}（{other_question}）" if entry_id else f"新条目{other_question}"
    said = f"{what}{text}已是{owner}的{there}"
    if state in UNSUGGESTED_ZH and advice == "one phrasing":
        return (f"{said}，" + UNSUGGESTED_ZH[state].format(id=entry_id or other_question, bound=bound)
                + "，不必让另一个条目也用这个问法（同一个问法只能对应一个条目）")
    return f"{said}：{_SIMILAR_ADVICE_ZH[advice]}"


def _similar_taken(m: re.Match) -> str:
    if m[4] is not None:
        other = m[5] + (f"，本文件{place_zh(m[6])}" if m[6] else "")
    else:  # a new entry of the import
        other = m[7] + (f"（本文件{place_zh(m[8])}）" if m[8] else "")
    state, bound = _state_said(m[10]) if m[10] else (None, "")
    return similar_taken_zh(m[1], m[2], m[4], other, "question" if m[3] == "the standard" else "similar",
                            m[9] or "one phrasing", state, bound)


def _column_zh(text: str) -> str:
    """"column 2 ('答案')" as the page names a column: 第 2 列（'答案'）."""
    m = re.fullmatch(r"column (\d+)(?: \((.*)\))?", text, re.S)
    return text if m is None else f"第 {m[1]} 列" + (f"（{m[2]}）" if m[2] else "")


def _lines_zh(text: str) -> str:
    return re.sub(r"^lines? (\d+)(?:-(\d+))?$", lambda m: f"第 {m[1]}" + (f"–{m[2]}" if m[2] else "") + " 行", text)


# A CSV file's quote at fault (kb/importers/tables.py _quote_problem), after "malformed CSV: ".
_QUOTE_PATTERNS = [
    (re.compile(r"(?:(.*?): )?a quote \" closes the quoted cell but text follows it \((.*)\); to keep quotes inside a "
                r"cell, .* \((.*)\), or take them out$", re.S),
     lambda m: (f"{_column_zh(m[1])}：" if m[1] else "") + f"引号 \" 闭合了带引号的单元格，但后面还有文字（{m[2]}）："
               f"要在单元格里保留引号，请给整个单元格加上引号，并把其中每个引号写两遍（{m[3]}），或删去这些引号"),
    (re.compile(r"a quote \" opened on line (\d+) in (.*?) runs to line (\d+), where text follows the quote that closes "
                r"it \((.*)\): .*$", re.S),
     lambda m: f"第 {m[1]} 行{_column_zh(m[2])}的引号 \" 到第 {m[3]} 行才闭合，闭合后还有文字（{m[4]}）：多半是第 {m[1]} 行"
               "有引号没有闭合；请补上，或把带引号单元格内的引号写两遍（\"\"）"),
    (re.compile(r"a quote \" opened on line (\d+) in (.*?) is never closed: it takes the rest of the file \((.*)\) into "
                r"one cell; .*$", re.S),
     lambda m: f"第 {m[1]} 行{_column_zh(m[2])}的引号 \" 没有闭合：文件余下的部分（{_lines_zh(m[3])}）都并进了一个单元格；"
               "请补上引号，或把带引号单元格内的引号写两遍（\"\"）"),
]

_REASON_PATTERNS = [
    (_SIMILAR_TAKEN, _similar_taken),
    (re.compile(r"broken variable: unbalanced '(.)' near (['\"])(.*)\2$", re.S),
     lambda m: f"变量写法有误：「{m[1]}」没有配对（在「{m[3]}」附近）"),
    (re.compile(r"broken variable: empty variable name in (['\"])(.*)\1$", re.S),
     lambda m: f"变量写法有误：「{m[2]}」里没有变量名"),
    (re.compile(r"broken variable: a line break inside (['\"])(.*)\1 \(a \} missing\?\)$", re.S),
     lambda m: f"变量写法有误：「{m[2].replace(chr(92) + 'n', '↵')}」跨了行（是不是少了「}}」？），一个变量要写在同一行"),
    (re.compile(r"must not contain spaces or control characters, got (.*) in (.*)$", re.S),
     lambda m: f"不能含空格或控制字符（{m[2]} 中有 {m[1]}）"),
    (re.compile(r"must be one of (.*), got (.*?); the column also takes (.*) \(.*\)$", re.S),
     lambda m: f"只能是{_choices(m[1])}之一，不能是 {m[2]}；这一列也认："
               + "；".join(f"{w.replace(' ', '、')} 表示{_choices(s)}" for w, s in re.findall(r"(.*?) for (\w+)(?:; |$)", m[3]))
               + "（词前也可加「已」，如 已上架）"),
    (re.compile(r"must be one of (.*), got (.*)$", re.S), lambda m: f"只能是{_choices(m[1])}之一，不能是 {m[2]}"),
    (re.compile(r"must be one of (.*)$", re.S), lambda m: f"只能是{_choices(m[1])}之一"),
    (re.compile(r"has (\d+) characters; the limit is (\d+)$"), lambda m: f"有 {m[1]} 个字符，超过了上限 {m[2]} 个字符"),
    # A shop term's (InvalidTerm, kb/text.py normalize_term).
    (re.compile(r"has a space in it: .*$", re.S), lambda m: "中间有空格：一个词不能含空格（去掉空格，或把每个词分别添加）"),
    (re.compile(r"has (['\"])(.*)\1 in it: segmentation splits text there.*$", re.S),
     lambda m: f"含有「{m[2]}」：分词会在这里把它断开，这个词永远匹配不到（请去掉「{m[2]}」，或把每一部分分别添加为词）"),
    (re.compile(r"expected a list of strings, got .*$"), lambda m: "应为一组文字"),
    (re.compile(r"expected strings, got .*$"), lambda m: "应为文字"),
    (re.compile(r"not an ISO date .*$", re.S), lambda m: DATE_FORMS_ZH),
    (re.compile(r"no such day: (.*) \((\d+)-(\d+) has (\d+) days\)$", re.S),
     lambda m: f"没有这一天：{m[1]}（{m[2]} 年 {int(m[3])} 月只有 {m[4]} 天）"),
    (re.compile(r"no such day: (.*) \(there is no month (\d+)\)$", re.S), lambda m: f"没有这一天：{m[1]}（没有 {m[2]} 月）"),
    (re.compile(r"has no year: (.*) \(write it as (.*)\)$", re.S),
     lambda m: f"没写年份：{m[1]}（请写成 {m[2].replace(', ', '、').replace(' or ', ' 或 ')}）"),
    (re.compile(r"broken variable: (.*)$", re.S), lambda m: f"变量写法有误：{m[1]}"),
    (re.compile(r"must not be 'new', contain a backslash.*got (.*)$", re.S),
     lambda m: f"不能是「new」，不能含反斜杠或空的、「.」或「..」的段，也不能以「/archive」「/history」或「/revert」结尾"
               f"（编号是网址的一部分），不能是 {m[1]}"),
    (re.compile(r"(.*) is out of range once converted to local time$", re.S), lambda m: f"{m[1]} 换算成本地时间后超出范围"),
    (re.compile(r"expected a string or a list of strings, got .*$", re.S), lambda m: "应为文字或一组文字"),
    (re.compile(r"expected a string, got .*$", re.S), lambda m: "应为文字"),
    # The importers' (kb/importers/): whole files and rows.
    (re.compile(r"unsupported file type (.*); kefu reads (.*)$"), lambda m: f"不支持 {m[1]} 文件（可导入 {m[2]}）"),
    (re.compile(r"unsupported file type (\S+): open it in (.*), save it as (\S+) and import that$"),
     lambda m: f"不支持 {m[1]} 文件：请在 {m[2].replace(' or ', ' 或 ')} 中打开，另存为 {m[3]} 再导入"),
    (re.compile(r"must be one line \(it holds a line break\)$"), lambda m: "只能是一行（其中有换行）"),
    (re.compile(r"holds a line break \(the record runs over lines (\d+)-(\d+)\).*$", re.S),
     lambda m: f"含有换行（这条记录跨第 {m[1]}–{m[2]} 行）：标准问题只能是一行；可能是某个引号 \" 没有闭合，"
               "把下面几行并进了一个单元格"),
    (re.compile(r"no entries found \(the file is empty\)$"), lambda m: "文件是空的，没有条目"),
    (re.compile(r"no entries found \(every row below the header repeats it: (\d+) rows?, the first on (.*)\)$"),
     lambda m: f"文件里没有条目：表头下的 {m[1]} 行都是重复表头（第一处：{place_zh(m[2])}），表头不算条目"),
    (re.compile(r"no entries found .*$"), lambda m: "文件里没有条目"),
    (re.compile(r"cannot read: (.*)$"),
     lambda m: f"无法读取：{_OS_ERROR_ZH[m[1]]}" if m[1] in _OS_ERROR_ZH else f"无法读取（系统提示：{m[1]}）"),
    (re.compile(r"no header row with a question column .*$", re.S),
     lambda m: "找不到含问题列的表头行（列名如「标准问题」或「question」）"),
    (re.compile(r"no sheet has a header row with a question column .*$", re.S),
     lambda m: "没有一个工作表有含问题列的表头行（列名如「标准问题」或「question」）"),
    (re.compile(r"expected (\d+) cells like the header, found (\d+) \(a (\S+) inside.*$", re.S),
     lambda m: f"表头有 {m[1]} 列，这一行有 {m[2]} 列（单元格内的{SEPARATORS_ZH.get(m[3], m[3])}须加引号；"
               "行尾的空单元格也要保留）"),
    (re.compile(r"no answer column in the header \((?:line|row) (\d+);[^)]*\)(?:; columns kefu does not know: (.*))?$",
                re.S),
     lambda m: f"表头（第 {m[1]} 行）没有答案列（列名如「答案」或「answer」）" + (f"；不认识的列：{m[2]}" if m[2] else "")),
    (re.compile(r"duplicate of (.*) \((.*)\)$", re.S), lambda m: f"与{place_zh(m[1])}重复（{m[2]}）"),
    (re.compile(r"holds lines that read as whole rows \(the record runs over lines (\d+)-(\d+)\).*$", re.S),
     lambda m: f"其中几行像是整行记录（这条记录跨第 {m[1]}–{m[2]} 行）：可能是某个引号 \" 没有闭合，把下面几行并进了一个"
               "单元格；请补上引号，或把带引号单元格内的引号写两遍（\"\"）"),
    (re.compile(r"malformed CSV: (.*)$", re.S),
     lambda m: "CSV 格式有误" + (f"：{t}" if (t := _translate(m[1], _QUOTE_PATTERNS)) else "")),
    *[(pattern, zh) for pattern, zh in _QUOTE_PATTERNS],
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
    (re.compile(r"page (\d+): the pages up to it hold ([\d,]+) MB of drawing instructions, more than kefu reads "
                r"from one PDF \((\d+) MB.*$", re.S),
     lambda m: f"到第 {m[1]} 页为止的页面内容（绘制指令）有 {m[2]} MB，超过一个 PDF 可读取的上限（{m[3]} MB；"
               "可能是恶意构造的文件）：请拆分成几个较小的文件再导入"),
    (re.compile(r"page (\d+): cannot extract text.*$", re.S), lambda m: f"第 {m[1]} 页无法提取文字"),
    (re.compile(r"no text found$"), lambda m: "没有找到文字"),
    (re.compile(r"it unpacks to ([\d,]+) MB, more than kefu reads from one (\S+) file \((\d+) MB.*$", re.S),
     lambda m: f"文件解压后有 {m[1]} MB，超过可读取的 {m[2]} 文件上限（{m[3]} MB；可能是压缩炸弹）："
               + ("请拆分成几个较小的文档再导入" if m[2] == ".docx" else "请另存为 CSV（没有这个上限）或拆分后再导入")),
    (re.compile(r"byte (.*?) is not valid UTF-8.*, though (?:the file is UTF-8 elsewhere \(line (\d+)\)|the text "
                r"before it is UTF-8).*$", re.S),
     lambda m: f"字节 {m[1]} 不是有效的 UTF-8 编码，而" + (f"文件别处（如第 {m[2]} 行）" if m[2] else "它前面的文字")
               + "是 UTF-8：这里已损坏（字符被截断）或混入了其他编码（如粘贴进的 GBK 或 Big5 行）；请修正后另存为 UTF-8 再试"),
    (re.compile(r"the file looks like UTF-16 \((\w+)\) without a byte-order mark.*$", re.S),
     lambda m: "文件像是没有字节顺序标记（BOM）的 UTF-16 编码，无法判断字节顺序：请另存为 UTF-8"
               "（或带 BOM 的 UTF-16，即记事本的「Unicode」）再试"),
    (re.compile(r"byte (.*) fits none of UTF-8, GB18030 or Big5.*$", re.S),
     lambda m: f"字节 {m[1]} 不属于 UTF-8、GB18030 或 Big5 编码：文件是其他编码（或此处已损坏），请另存为 UTF-8 再试"),
    (re.compile(r"byte (.*) is not valid (.*?); the file may be (.*) \((?:try|save it as) .*$", re.S),
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
    (re.compile(r"(.*) is already the standard question of entry '(.*?)', (.*) %s(?: \(.*\))?$"
                % re.escape(DuplicateQuestion.INSTEAD), re.S), lambda m: _unsuggested_zh(m[1], m[2], m[3])),
    # A row with an id of its own (kb/store.py): 已有条目：更新 does not update that entry.
    (re.compile(r"(.*) is already the standard question of entry (.*?) \(give the row id .*? to update that entry,.*\)$",
                re.S),
     lambda m: f"{m[1]} 已是条目 {m[2]} 的标准问题（要更新那个条目，请把这一行的编号改为 {m[2]}；"
               "也可改掉这一行的问题，或在「已有条目」中选「跳过，保留现有内容」）"),
    (re.compile(r"(.*) is already the standard question of entry (.*?)(?: \(and of entry (.*?):.*\))?(?: \(.*\))?$", re.S),
     lambda m: f"{m[1]} 已是条目 {m[2]}" + (f" 和条目 {m[3]}" if m[3] else "") + " 的标准问题"
               + ("：请在这一行填上它所属条目的编号" if m[3] else "（导入时可选「已有条目：更新」或「跳过」）")),
    (re.compile(r"(.*) is also the standard question of (.*), (?:entry (.*?)|a new entry)(?: \(.*\))?$", re.S),
     lambda m: f"{m[1]} 也是本文件{place_zh(m[2])}（{f'条目 {m[3]}' if m[3] else '新条目'}）的标准问题：同一文件的两行不能是标准问题相同的"
               "两个条目，请给它们同一个编号，或改掉其中一个问题"),

    (re.compile(r"(.*) is not a text encoding .*$"), lambda m: f"{m[1]} 不是文字编码（应为 UTF-8、GB18030 或 Big5 等）"),
    # An import's conflicts with stored entries (DuplicateEntry, with the import's hint).
    (re.compile(r"(?:question (.*) matches entry|entry id) (.*?)(?:, which has other content| already exists"
                r"(?:, with question (.*?))?) \(it was archived when its row left (.*): --on-conflict update brings it "
                r"back, skip leaves it\)$", re.S),
     lambda m: f"{'问题 ' + m[1] + ' 的' if m[1] else ''}条目 {m[2]}{f'（问题 {m[3]}）' if m[3] else ' '}"
               f"在文件 {m[4]} 删去它的行时已归档（导入时选「已有条目：更新」可恢复它，选「跳过」则不动）"),
    (re.compile(r"question (.*) matches entry (.*), which has other content(?: \(.*\))?$", re.S),
     lambda m: f"问题 {m[1]} 与条目 {m[2]} 相同，但内容不同（导入时可选「已有条目：更新」或「跳过」）"),
    (re.compile(r"entry id (.*?) already exists(?:, with question (.*?))?(?: \(.*\))?$", re.S),
     lambda m: f"编号 {m[1]} 已存在" + (f"，是问题 {m[2]} 的条目" if m[2] else "") + "（导入时可选「已有条目：更新」或「跳过」）"),
    (re.compile(r"(.*) \((.*), updating (.*)\)$", re.S), lambda m: f"{reason_zh(m[1])}（{place_zh(m[2])}，更新条目 {m[3]} 时）"),
]

# Notes of an import (kb/importers/tables.py, faq.py): what was read but not imported.
_IMPORT_NOTE_PATTERNS = [
    # rows under a question cell merged down (kb/importers/tables.py)
    (re.compile(r"the (.*) cell is merged with row (\S+)'s, so \S+ (.*) cells were read as more similar questions "
                r"of row \S+'s entry$", re.S),
     lambda m: f"{m[1]} 单元格与第 {m[2]} 行合并，这些行的 {m[3]} 已作为第 {m[2]} 行条目的相似问法读入"),
    # a row kept with a phrasing another entry has (Store.import_entries)
    # (a new entry, from a row without an id, by its question: "new entry '怎么退货'")
    (re.compile(r"(new )?entry '(.*?)': ((?:similar|standard) question .*)$", re.S),
     lambda m: (f"新条目「{m[2]}」：" if m[1] else f"条目 {m[2]}：")
               + ((m2 := _SIMILAR_TAKEN.match(m[3])) and _similar_taken(m2) or m[3])),
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
    (re.compile(r"field (.*) repeats a field already read, ignored \(nor in later rows\)$", re.S),
     lambda m: f"字段 {m[1]} 与前面的字段相同，已忽略（后面各行也一样）"),
    (re.compile(r"the sheet is hidden in the workbook; .*$", re.S),
     lambda m: "这个工作表在工作簿中是隐藏的；其中的行照常导入了，请确认它们确实要导入"),
    (re.compile(r"(\d+) hidden rows? \(hidden by hand or by a filter\) imported like any other, check they are meant "
                r"to be \(row numbers (.*)\)$", re.S),
     lambda m: f"有 {m[1]} 行是隐藏的（手动隐藏或被筛选掉），照常导入了，请确认它们确实要导入（第 {m[2].replace(', ', '、')} 行）"),
    (re.compile(r"similar question (.*) holds \| or ；, but a cell with line breaks is split at them only.*$", re.S),
     lambda m: f"相似问题 {m[1]} 含有 | 或 ；，但有换行的单元格只按换行拆分，所以它保留为一条；如果是几种问法，请各占一行"),
    # kefu/kb/store.py's, when an update splits a stored tag
    (re.compile(r"tag (.*) of entry (.*) becomes (\d+) tags, (.*) \(a tags cell .*$", re.S),
     lambda m: f"条目 {m[2].strip(chr(39))} 的标签「{m[1].strip(chr(39))}」会拆成 {m[3]} 个标签："
               + "、".join(f"「{t}」" for t in re.findall(r"'([^']*)'", m[4]))
               + "（标签格内没有换行时，| ; , ， 、 都会分开标签，旧版本导出的文件就是这样写的）；"
               "它本是一个标签时，请在格内末尾加一个换行"),
]
_NOT_PRUNED = re.compile(r"not pruned: (\d+) rows? rejected.*$", re.S)
_NOT_PRUNED_OTHER = re.compile(r"not pruned: (\d+) entr(?:y|ies) of (.*?) \((.*?)\) not in this file.*$", re.S)

# UserError (kb/users.py): the users page.
_USER_PATTERNS = [
    (re.compile(r"a password needs at least (\d+) characters$"), lambda m: f"密码至少需要 {m[1]} 个字符"),
    (re.compile(r"a password cannot be only spaces$"), lambda m: "密码不能全是空格"),
    (re.compile(r"a user name must be non-empty and have no spaces$"), lambda m: "用户名不能为空，也不能含空格"),
    (re.compile(r"a (user|token) name must not contain '/' or start with 'token:', not '(.*)'$"),
     lambda m: f"{'用户名' if m[1] == 'user' else '令牌名称'}不能含「/」，也不能以「token:」开头（{m[2]}）"),
    (re.compile(r"a (user|token) name must not hold an invisible or control character \((U\+[0-9A-F]+)\)$"),
     lambda m: f"{'用户名' if m[1] == 'user' else '令牌名称'}不能含看不见的字符或控制字符（{m[2]}）"),
    (re.compile(r"user '(.*)' already exists$"), lambda m: f"用户 {m[1]} 已存在"),
    (re.compile(r"role must be one of (.*), not (.*)$"), lambda m: f"角色只能是{_choices(m[1])}之一，不能是 {m[2]}"),
    (re.compile(r"no user '(.*)'$"), lambda m: f"没有用户 {m[1]}"),
    (re.compile(r"'(.*)' is the last admin; add another admin first$"),
     lambda m: f"{m[1]} 是最后一位管理员：请先添加另一位管理员"),
]

# Errors shown on the error page or flashed: entries, versions, learned phrasings.
_ERROR_PATTERNS = [
    (re.compile(r"no entry with id '(.*)'$"), lambda m: f"没有编号为 {m[1]} 的条目"),
    (re.compile(r"entry '(.*)' has no version (\d+)$"), lambda m: f"条目 {m[1]} 没有第 {m[2]} 版"),
    (re.compile(r"cannot restore version (\d+) of entry '(.*)': its field '(\w+)' (.*); edit the entry instead$", re.S),
     lambda m: f"没有恢复：第 {m[1]} 版的内容现在不能保存，它的{FIELD_LABELS.get(m[3], m[3])}{reason_zh(m[4])}"
               "（较早的 kefu 允许这样保存）；需要其中的内容时，请编辑条目"),
    (re.compile(r"entry '(.*)' is (\w+), not published$"), lambda m: f"条目 {m[1]} 是{_status(m[2])}状态，不是已发布"),
    (re.compile(r"this needs the (\w+) role$"), lambda m: f"需要{ROLE_ZH.get(m[1], m[1])}权限"),
    (re.compile(r"no learned phrasing with id (.*?)(?:: nothing done)?$"), lambda m: f"没有编号为 {m[1]} 的学习问法"),
    (re.compile(r"cannot approve learned phrasing (\d+): it is a pairing agents rejected.*$"),
     lambda m: f"学习问法 #{m[1]} 是客服拒绝的配对，不能批准：可移到答对的条目，或拒绝"),
    (re.compile(r"cannot (\w+) learned phrasing (\d+): it is (\w+)(: reset \d+ first to undo that decision)?$"),
     lambda m: f"学习问法 #{m[2]} {_LEARNED_ZH.get(m[3], m[3])}，不能再{_DECISION_ZH.get(m[1], m[1])}"
               + ("：请先撤销那个决定" if m[4] else "")),
    (re.compile(r"cannot approve learned phrasing (\d+): (.*)$", re.S),
     lambda m: f"学习问法 #{m[1]} 不能批准：{reason_zh(m[2])}"),
    (re.compile(r"learned phrasing (\d+) already belongs to (.*)$"), lambda m: f"学习问法 #{m[1]} 已属于条目 {m[2]}"),
    (re.compile(r"learned phrasing (\d+) has no rejects: nothing to lift$"),
     lambda m: f"学习问法 #{m[1]} 没有客服拒绝记录，无需解除"),
    (re.compile(r"learned phrasing (\d+) is (\w+): nothing to reset \(moved here from (#[\d, #]+): reset .*\)$"),
     lambda m: f"学习问法 #{m[1]} {_LEARNED_ZH.get(m[2], m[2])}，没有可撤销的决定：它是从 {m[3].replace(', ', '、')} 移来的，"
               "请在“已拒绝”页撤销那次移动"),
    (re.compile(r"learned phrasing (\d+) is (\w+): nothing to reset$"),
     lambda m: f"学习问法 #{m[1]} {_LEARNED_ZH.get(m[2], m[2])}，没有可撤销的决定"),
    (re.compile(r"min_agents must be at least 1, got (.*)$"), lambda m: f"客服人数应为不小于 1 的整数（填的是 {m[1]}）"),
]

# What the assistant notes about a suggestion (Suggestion.notes, with the retriever's
# SearchResult.warnings) and why each line of a draft is there (Draft.explanation): English
# in the library, for the CLI and the API; in Chinese for the console's hit test and the
# panel (`/api/suggest`'s `panel`, see panel_view.py). One table, by each line's shape:
# tests/test_panel_view.py fails when kefu writes a line it cannot render.
KIND_ZH = {"greeting_first": "首次问候", "greeting_later": "开场", "thanks_wait": "感谢等待", "empathy": "共情",
           "apology": "致歉", "restate": "复述问题", "escalation": "升级处理", "closing": "结束语",
           "rating": "邀请评价", "clarify": "澄清", "no_match": "无匹配", "received": "收到图片文件"}
INTENT_ZH = {"greeting": "问候", "presale": "售前咨询", "order": "订单", "logistics": "物流", "aftersale": "售后",
             "complaint": "投诉", "thanks": "致谢"}
SENTIMENT_ZH = {"calm": "平静", "anxious": "焦急", "angry": "不满"}
TONE_ZH = {"any": "任何", **SENTIMENT_ZH}  # the customer mood a 话术 line suits
SCRIPT_ZH = {"simplified": "简体", "traditional": "繁体"}
_WORDING_ZH = {"s2hk": "香港", "s2tw": "台湾", "s2twp": "台湾"}
_ORDER_STATE_ZH = {"shipped": "已发货", "not shipped": "还没发货"}


def _label(table: dict, key: str) -> str:
    return table.get(key, key)


# Why a thanks is answered without a goodbye while the case is still open (draft.awaits).
_OPEN_ZH = {"the agent still waits for the customer": "客服还在等客户提供信息", "a step of ours is pending": "我们还有待办的步骤",
            "taken note, the answer was sent already": "答案已经发过，记下客户说的"}


def _still_open(m: re.Match) -> str | None:
    why = _OPEN_ZH.get(m[1]) or _translate(m[1], _WHY_PATTERNS)
    return f"{why}：问题还没结束，不道别" if why else None


# Why a 话术 line is in a draft (the part after "话术 <id> (<kind>): ").
_WHY_PATTERNS = [
    (re.compile(r"(.+): the case stays open$"), _still_open),
    (re.compile(r"(the agent still waits for the customer|a step of ours is pending)$"), lambda m: _OPEN_ZH[m[1]]),
    (re.compile(r"a nudge while the agent is at the case$"), lambda m: "客服正在处理时客户在催：告诉客户正在处理，请稍等"),
    (re.compile(r"a photo or file sent: received$"), lambda m: "客户发来图片、语音或文件：告诉客户已收到，正在核实"),
    (re.compile(r"a problem reported → empathy first$"), lambda m: "客户反映了问题：先表达理解"),
    (re.compile(r"first message of the conversation$"), lambda m: "对话的第一条消息"),
    (re.compile(r"offer more help$"), lambda m: "询问是否还需要帮助"),
    (re.compile(r"follow up: not settled yet$"), lambda m: "问题还没解决：跟进"),
    (re.compile(r"the customer chased a reply → thanks for waiting$"), lambda m: "客户在催：先感谢等待"),
    (re.compile(r"(\w+)/(\w+) → apology first$"), lambda m: "客户不满或投诉：先致歉"),
    (re.compile(r"anxious → empathy first$"), lambda m: "客户焦急：先表达理解"),
    (re.compile(r"short opener$"), lambda m: "简短开场"),
    (re.compile(r"complaint → supervisor callback$"), lambda m: "投诉：转主管并约定回电"),
    (re.compile(r"no good match: no invented answer$"), lambda m: "没有合适的条目：不编造答案"),
    (re.compile(r"thanks while upset → follow up$"), lambda m: "客户不满时道谢：继续跟进"),
    (re.compile(r"the customer gives up → follow up$"), lambda m: "客户不再追问：继续跟进"),
    (re.compile(r"(\w+) only$"), lambda m: f"只是{_label(INTENT_ZH, m[1])}：不需要条目答案"),
    (re.compile(r"invite a rating$"), lambda m: "邀请评价"),
]


def _phrase_line(m: re.Match) -> str | None:
    """"话术 P1 (closing): offer more help" or "话术 P1 (restate)"."""
    head = f"话术 {m[1]}（{_label(KIND_ZH, m[2])}）"
    if m[3] is None:
        return head
    why = _translate(m[3], _WHY_PATTERNS)
    return f"{head}：{why}" if why else None


_NOTE_PATTERNS = [
    # the retriever's
    (re.compile(r"message longer than (\d+) characters: only its end was matched$"),
     lambda m: f"消息超过{m[1]}字，只匹配了结尾部分"),
    (re.compile(r"message longer than (\d+) characters: only the part from its last question on was matched$"),
     lambda m: f"消息超过{m[1]}字，只匹配了从最后一个问题开始的部分"),
    # the assistant's, about the whole suggestion
    (re.compile(r"the customer chose 「(.*)」 from the agent's question$", re.S),
     lambda m: f"客户选了客服所问的「{m[1]}」：按它查找"),
    (re.compile(r"a nudge: answering the customer's question still waiting for a reply 「(.*)」$", re.S),
     lambda m: f"客户在催：回答还在等回复的问题「{m[1]}」"),
    (re.compile(r"vague message: matched together with the earlier turns and the agent's answer to them$"),
     lambda m: "消息较笼统：结合客户前面的话和客服的回答一起匹配"),
    (re.compile(r"a photo or file sent: received$"), lambda m: "客户发来图片、语音或文件：告诉客户已收到，正在核实"),
    # the draft's: a line of a kind the 话术 library lacks, for a reason a 话术 line gives (Composer._line_or)
    (re.compile(r"(.+) \(a built-in line\)$"),
     lambda m: (why := _translate(m[1], _WHY_PATTERNS)) and f"{why}（用内置的一句）"),
    (re.compile(r"the answer opens with an apology: no cheerful welcome before it$"),
     lambda m: "答案本身以致歉开头：前面不加热情的欢迎语"),
    (re.compile(r"vague message: matched together with the customer's earlier turns$"),
     lambda m: "消息较笼统：结合客户前面的话一起匹配"),
    (re.compile(r"chased an unanswered question: read as (\w+)$"),
     lambda m: f"客户催问没人回复的问题：按{_label(SENTIMENT_ZH, m[1])}处理"),
    (re.compile(r"the customer's own words call for (\S+) wording$"),
     lambda m: f"客户用的是{_label(_WORDING_ZH, m[1])}的说法：草稿用{_label(_WORDING_ZH, m[1])}用语"),
    (re.compile(r"first message says nothing yet: greeted$"), lambda m: "第一条消息还没说要问什么：先问候"),
    (re.compile(r"small talk whose only confident match is the (\w+) entry (\S+): replied as to (\w+)$"),
     lambda m: f"闲聊：唯一有把握的匹配是{_label(INTENT_ZH, m[1])}条目 {m[2]}，按{_label(INTENT_ZH, m[3])}回复"),
    (re.compile(r"after an angry turn: read as still upset$"), lambda m: "客户前面不满：仍按不满处理"),
    (re.compile(r"greeting entries left out: the message is more than a greeting$"),
     lambda m: "消息不只是问候：不用问候类条目"),
    (re.compile(r"the agent sent the answer of (\S+) already: answered with the next one that speaks of the message$"),
     lambda m: f"客服已发过 {m[1]} 的答案：改用下一个说到消息内容的条目"),
    (re.compile(r"the agent sent the answer of (\S+) already: the message read alone$"),
     lambda m: f"客服已发过 {m[1]} 的答案：只按这条消息本身匹配"),
    (re.compile(r"leaving in anger, asking nothing: no entry answers it$"),
     lambda m: "客户生气说再也不来了，没有问什么：不用条目回答，先道歉"),
    (re.compile(r"a job application or a business offer, no customer's question: no entry answers it$"),
     lambda m: "求职或商务合作的消息，不是顾客提问：不用条目回答，可转交负责人"),
    (re.compile(r"the customer sent what the agent asked for: taken note$"),
     lambda m: "客户已发来客服要的东西（照片、截图等）：记下，问题还没结束"),
    (re.compile(r"the agent sent the answer of (\S+) already: taken note$"),
     lambda m: f"客服已发过 {m[1]} 的答案：记下客户说的，不再重复"),
    (re.compile(r"written for the customer's region, answers first: (.*)$", re.S),
     lambda m: f"写给客户所在地区的条目，优先回答：{m[1]}"),
    (re.compile(r"written for the customer's region, answers in (\S+)'s place: (.*)$", re.S),
     lambda m: f"写给客户所在地区的条目，代替 {m[1]} 回答：{m[2]}"),
    (re.compile(r"written for a region, its answer sent already, left out: (.*)$", re.S),
     lambda m: f"写给某地区的条目，客服已发过它的答案，未采用：{m[1]}"),
    (re.compile(r"a how-to follow-up: answered with the best entry of the customer's turn before it "
                r"\((\S+), ([\d.]+)\)$"),
     lambda m: f"客户接着问怎么做：按客户上一句最匹配的条目 {m[1]} 回答（置信度 {m[2]}）"),
    (re.compile(r"written for customers elsewhere, left out: (.*)$", re.S),
     lambda m: f"写给其他地区客户的条目，未采用：{m[1]}"),
    (re.compile(r"the message is about an order (.+?); written for the other case, left out: (.*)$", re.S),
     lambda m: f"消息说的是{_label(_ORDER_STATE_ZH, m[1])}的订单：写给另一种情况的条目未采用：{m[2]}"),
    (re.compile(r"the customer complains of nothing: complaint entries left out$"),
     lambda m: "客户并不是要投诉：不用投诉类条目"),
    (re.compile(r"follow-up without the earlier turns: asks which topic first$"),
     lambda m: "像是接着前面的话问，但没有前面的对话：先问客户指的是哪个问题"),
    (re.compile(r"two questions: answered both$"), lambda m: "一条消息问了两件事：草稿依次回答"),
    (re.compile(r"two questions: each matched on its own, answered both$"),
     lambda m: "一条消息问了两件事：分别匹配，草稿依次回答"),
    (re.compile(r"ambiguous: top entries close in score and about different things$"),
     lambda m: "两个不同主题的条目分数接近：附上澄清问题"),
    # a draft's explanation lines
    (re.compile(r"(\S+) matched 「(.*)」; shared terms: ([^;]*); dense (.*); lexical (\S+); confidence (\S+)$", re.S),
     lambda m: f"条目 {m[1]} 匹配「{m[2]}」；共同关键词：{'无' if m[3] == '-' else m[3]}；语义 {m[4]}；"
               f"关键词 {m[5]}；置信度 {m[6]}"),
    (re.compile(r"话术 (\S+) \((\w+)\)(?:: (.*))?$", re.S), _phrase_line),
    (re.compile(r"the customer gave the order number: the answer's request for it left out$"),
     lambda m: "客户已给出订单号：答案里索要订单号的话已省去"),
    (re.compile(r"the answer opens with its own apology: no second one$"), lambda m: "答案本身以致歉开头：不再重复致歉"),
    (re.compile(r"the answer ends with its own closing: no second one$"), lambda m: "答案本身带了结束语：不再加结束语"),
    (re.compile(r"the answer already escalates to a supervisor: no escalation line$"),
     lambda m: "答案已转交主管：不再加升级话术"),
    (re.compile(r"the message asks two things: both answers$"), lambda m: "一条消息问了两件事：草稿依次回答"),
    (re.compile(r"(\S+) matches confidently too \((\S+)\): both answers$"),
     lambda m: f"条目 {m[1]} 也很有把握（{m[2]}）：两个答案都给"),
    (re.compile(r"competing entries: (.*)$", re.S), lambda m: f"分数接近的条目：{m[1]}"),
    (re.compile(r"not sure enough to answer: asks whether the customer means (\S+)$"),
     lambda m: f"把握不够，不直接回答：先问客户是不是想问条目 {m[1]}"),
    (re.compile(r"no entry answers this message$"), lambda m: "知识库里没有回答这条消息的条目"),
    (re.compile(r"variables no draft uses: (.*)$", re.S), lambda m: f"填写的变量没有草稿用到：{m[1]}"),
    (re.compile(r"(\S+) is valid until (\S+): it ends soon$"),
     lambda m: f"条目 {m[1]} 的有效期到 {m[2].replace('T', ' ')}{'（含当天）' if len(m[2]) == 10 else ''}，即将结束："
               "请提醒客户，或确认客户下单时仍然适用"),
    (re.compile(r"no whole (\w+) line in the 话术 library: a built-in one$"),
     lambda m: f"话术库里没有完整的「{_label(KIND_ZH, m[1])}」话术：用内置的一句"),
    (re.compile(r"no suitable (\w+) line in the 话术 library: a built-in one$"),
     lambda m: f"话术库里没有合适的「{_label(KIND_ZH, m[1])}」话术：用内置的一句"),
]

# Flask-WTF's and werkzeug's defaults, by status, for the error page.
STATUS_ZH = {400: "请求有误。", 403: "没有权限打开这个页面。", 404: "没有这个页面。", 405: "不支持这种请求方式。",
             413: "上传的内容太大。", 500: "服务器出错了，请稍后再试。"}
ROLE_ZH = {"agent": "客服", "editor": "编辑", "admin": "管理员"}
_STATUS_NAMES = {"draft": "草稿", "published": "已发布", "archived": "已归档"}
# A learned phrasing's status (kb/learned.py STATUSES) as the review queue's tabs name it,
# and the decisions refused on it: another editor may have decided the row meanwhile.
_LEARNED_ZH = {"candidate": "还在待审核", "approved": "已批准", "rejected": "已拒绝", "known": "已是条目的相似问法"}
_DECISION_ZH = {"approve": "批准", "reject": "拒绝", "move": "移动"}

# Where an import problem is (ImportFileError's "file, sheet S, row 3, column '答案'"; a
# note's "sheet S, column C"); a field as the console names it (answer is 答案).
_PLACE = [(re.compile(r"(^|, )sheet ([^,:]+)"), lambda m: f"{_comma(m)}工作表 {m[2]}"),
          (re.compile(r"(^|, )rows (\d+)-(\d+)"), lambda m: f"{_comma(m)}第 {m[2]}–{m[3]} 行"),
          (re.compile(r"(^|, )(?:row|line|item) (\d+)"), lambda m: f"{_comma(m)}第 {m[2]} 行"),
          (re.compile(r"(^|, )page (\d+)"), lambda m: f"{_comma(m)}第 {m[2]} 页"),
          (re.compile(r"(^|, )(?:column|field) '([^']*)'"), lambda m: _comma(m) + FIELD_LABELS.get(m[2], m[2])),
          (re.compile(r"(^|, )column (\w+)$"), lambda m: f"{_comma(m)}第 {m[2]} 列")]
_CONFLICTS = re.compile(r"(\d+) rows conflict with entries, so nothing was imported from this file:\n(.*)$", re.S)
_SKIP_BAD_ROWS = re.compile(r"(\d+) rows? rejected, so nothing was imported from this file "
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


def _choices(names: str) -> str:
    """"draft, published, archived" as the console names them: 「草稿」「已发布」「已归档」
    (a status or role; another name as written)."""
    return "".join(f"「{_STATUS_NAMES.get(n, ROLE_ZH.get(n, n))}」" for n in names.split(", "))


def _translate(text: str, patterns) -> str | None:
    for pattern, zh in patterns:
        if m := pattern.match(text):
            return zh(m)
    return None


def _unsuggested_zh(question: str, entry_id: str, advice: str) -> str:
    """A DuplicateQuestion naming the state of the entry holding the question, where only its
    text is at hand (an import's problems; the console has the exception's `state`): the
    state is the one of DuplicateQuestion.STATES whose wording `advice` is."""
    state, bound = _state_said(advice)
    if state:
        return unsuggested_zh(question, entry_id, state, bound)
    return f"{question} 已是条目 {entry_id} 的标准问题：{advice}"


def _state_said(advice: str) -> tuple[str | None, str]:
    """The state (a key of UNSUGGESTED_ZH) and bound whose DuplicateQuestion.STATES wording
    `advice` is; (None, "") for none."""
    for state, english in DuplicateQuestion.STATES.items():
        said = re.fullmatch(re.escape(english).replace(re.escape("{bound}"), "(.*?)"), advice, re.S)
        if said and state in UNSUGGESTED_ZH:
            return state, said[1] if said.re.groups else ""
    return None, ""


def unsuggested_zh(question: str, entry_id: str, state: str, bound: str) -> str:
    """Why `question` cannot be this entry's, when the entry holding it is not suggested
    (`state`, a key of UNSUGGESTED_ZH), and how to bring that one back: said alike to an
    editor adding an entry and to one giving an entry the question."""
    return (f"{question} 已是条目 {entry_id} 的标准问题，" + UNSUGGESTED_ZH[state].format(id=entry_id, bound=bound)
            + "，不必让另一个条目也用这个问题；或换一个问题")


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


def translate_note(note: str) -> str | None:
    """A suggestion's note, a draft's explanation line or a search's warning in Chinese;
    None when its shape is not in the table."""
    return _translate(note, _NOTE_PATTERNS)


def note_zh(note: str) -> str:
    """`translate_note`, or the line as written when the table lacks its shape."""
    return translate_note(note) or note


def problem_zh(text: str) -> str:
    """An import problem ("upload.csv, row 3, field 'answer': must be a non-empty string"),
    its place and reason in Chinese; the console's import page offers a checkbox where the
    CLI has --skip-bad-rows."""
    if m := _CONFLICTS.match(text):  # ImportConflicts: one row's error a line
        return (f"有 {m[1]} 行与条目冲突，所以这个文件一行也没有导入："
                + "；".join(problem_zh(line) for line in m[2].split("\n")))
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

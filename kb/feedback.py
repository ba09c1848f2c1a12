"""The feedback log: every suggestion shown, and what the agent did with it.

Customer text is stored with phone numbers, e-mail addresses and street addresses
masked, and rows older than the retention period are purged on write, with what
learning keeps of them (kb/learned.py `expire`).
"""

from __future__ import annotations

import functools
import json
import os
import time
import re
import uuid
from dataclasses import astuple, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from .errors import KefuError
from .store import new_log_generation, writing
from .text import spoken_digits

ACTIONS = ("accept", "edit", "reject", "no_match")
# Days the feedback log may keep customer text (config.json's `retention_days`): under one,
# the next purge would delete every suggestion and what learning made of them.
RETENTION_DAYS = (1, 3650)
REPLACEABLE_S = 600  # a suggestion is superseded by a later one for the same message only this soon

_DIGIT = r"\d一二三四五六七八九十百千零〇两"
_NUM = rf"[{_DIGIT}]+"  # a house, floor or flat number, in digits or in words
# What the input method's full-width mode types in a number or an e-mail address (１３８－
# １２３４－５６７８, ｚｈａｎｇ＠ｑｑ．ｃｏｍ), made half-width before masking; Chinese
# punctuation (，？！) stays as typed.
FULL_WIDTH = str.maketrans("０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
                           "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ＠＿＋－．",
                           "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz@_+-.")
# A full-width space or a dash between two digits (１３８　１２３４, 138—1234—5678).
_DIGIT_GAP = re.compile(r"(?<=\d)(?:(\u3000)|[—–])(?=\d)")


def half_width(text: str) -> str:
    """`text` with the full-width digits, letters and the marks of a number or e-mail
    address made half-width, as mask() reads (and stores) it."""
    return _DIGIT_GAP.sub(lambda m: " " if m.group(1) else "-", text.translate(FULL_WIDTH))
# Words that join or qualify areas (全市各区各县, 请填写省市区) and are no part of a place
# name. 和, 本, 全, 那 are (天津市和平区, 本溪市, 全椒县, 那曲市): with them, 超市生鲜区和冷冻区
# is masked too, a lost phrasing rather than a kept address.
_NOT_NAME = "与及或、各哪些填写"
# Prefectures in the west and north are 自治州, 地区 or 盟 (伊犁哈萨克自治州, 阿里地区, 锡林郭勒盟).
_PREFECTURE = "自治州|地区|地區|盟"
# 市区, 城区, 郊区, 县区, 山区, 景区 are kinds of place, not names (偏远地区市区县区都能到吗).
_AREA = rf"(?![市城郊县縣山景][区區])(?:(?![{_NOT_NAME}])[\u4e00-\u9fff]){{1,7}}?(?:{_PREFECTURE}|市|区|區|县|縣|镇|鎮|乡|鄉|街道)"
_AREA = f"(?:{_AREA})"
# Words before an address that are no part of it (地址是, 在, 寄到, 送的, 改为; 我, 亲, 请问, 吗):
# a match starts after them, so the request keeps its words.
_LABEL = "址是在到寄送的改为為换換我你您亲请问吗呢吧啊了"
# One space inside a line: address forms are pasted with spaces between their parts
# (上海 浦东新区 张江路 100弄).
_GAP = r"[ \t\u3000]"
# One Chinese character, or one space between two: the name of a place or road.
_NAME_CHAR = rf"(?:(?![{_LABEL}])[\u4e00-\u9fff]|{_GAP}(?=(?![{_LABEL}])[\u4e00-\u9fff]))"
# The end of a street's name (路, 街, 大道, 巷; 道 of 彌敦道, but not of 知道, 难道, 味道 …).
_STREET = r"(?:路|街|(?<![知难難味频頻渠轨軌])道|巷)"
# After the street: its section (忠孝東路四段), lanes (张江路100弄, 文化路一段188巷5弄), and
# the house number (100号, 264-298 號, 3號之1); a lane alone (共和新路4718弄) is enough.
# A direction after the street's name (皇后大道中, 德輔道中, 天府大道北段, 东长安街东段).
_DIRECTION = r"(?:[东西南北中東][段]?)?"
_SECTION = r"(?:\s*[一二三四五六七八九十\d]{1,3}\s*段)?"
_LANE = rf"\s*{_NUM}\s*[巷弄衖]"
_HOUSE = rf"\s*{_NUM}(?:\s*[-—~至]\s*{_NUM})?\s*[号號](?:\s*之\s*\d+)?"
# What follows a house number, or stands on its own: a building, perhaps with its name
# (院3号楼, 汇智大厦12楼, 創紀之城 1 期 20 樓, A座, SOHO现代城5号楼), a unit (2单元), a flat (302室, A 室, 房),
# and the flat straight after a building, unit or floor (5栋201, 2单元501, 8樓之1).
# A name's letters are an estate's when Chinese joins them (SOHO现代城, 万达ONE广场) or they are glued
# to the number or the house number (88号SOHO 5号楼), or stand after it before a building that
# only a building is (88号 SOHO 5号楼, 5栋; one space or two, as typed): otherwise after a space they are a product's or model's
# (人民路88号 Model Y座椅套, iPhone 5楼).
_ESTATE = (r"(?:[A-Za-z]{0,10}[\u4e00-\u9fff](?:[\u4e00-\u9fffA-Za-z]{0,9}?[\u4e00-\u9fff])??\s*|"
           r"(?<=[号號])[A-Za-z]{1,10}\s*|[A-Za-z]{1,10}|"
           rf"(?:(?<=[号號]{_GAP})|(?<=[号號]{_GAP}{_GAP}))[A-Za-z]{{1,10}}{_GAP}+(?={_NUM}\s*(?:号楼|號樓|栋|棟|幢)))")
_BUILDING = rf"(?:{_ESTATE})?(?:{_NUM}|[A-Za-z])\s*(?:号楼|號樓|栋|棟|幢|座|期|楼|樓|层|層|[Ff](?![A-Za-z]))"
_UNIT = rf"{_NUM}\s*(?:单元|單元)"
_ROOM = r"(?:\d{1,5}|[A-Za-z]\d{0,4})\s*[室房]"
_FLAT = (r"(?<=[栋棟幢座楼樓层層元期Ff])\s*[-—]?\s*(?:[A-Za-z]\d{0,4}|\d{1,5})(?:\s*[室房号號])?"
         r"(?![\d号號楼樓层層栋棟幢座期单單])"  # not the next floor (1楼2楼都有吗)
         r"|(?<=[楼樓层層])\s*之\s*\d+")
_PARTS = rf"(?:\s*(?:{_BUILDING}|{_UNIT}|{_ROOM})|{_FLAT})"
# The road (or village, with its group and number: 掘港镇青园村, 吴台镇王庄村3组12号) after a
# chain of areas.
_ROAD = (rf"(?:[\u4e00-\u9fff]{{0,12}}?(?:路|街|大道|巷|弄)|(?:(?![{_LABEL}])[\u4e00-\u9fff]){{1,6}}?[村屯]"
         rf"(?:\s*\d+\s*(?:组|組|队|隊)(?:\s*\d+\s*[号號])?)?)")

# Labels a customer writes a name after, and common surnames (simplified and traditional)
# without those that start words heard after such a label (单号, 包裹, 全名, 商品, 时间 …):
# a name is told from the words after the label by its surname.
_NAME_LABEL = "收货人|收貨人|收件人|签收人|簽收人|寄件人|联系人|聯繫人|聯絡人|姓名|名字"
_SURNAME = ("欧阳|歐陽|司马|司馬|诸葛|諸葛|上官|皇甫|慕容|司徒|夏侯|令狐|[王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何高林"
            "罗羅郑鄭梁谢謝宋唐许許韩韓冯馮邓鄧曹彭曾肖蕭田董袁潘蒋蔣蔡杜叶葉程苏蘇魏吕呂丁任沈姚卢盧姜崔钟鍾谭譚陆陸"
            "汪范贾賈夏韦韋付傅白邹鄒孟熊秦邱尹薛闫閆段雷侯龙龍史陶黎贺賀顾顧毛郝龚龔邵万萬钱錢严嚴覃武戴莫孔汤湯温溫"
            "康施牛樊葛邢齐齊乔喬伍庞龐颜顏倪庄莊聂聶章鲁魯岳翟殷詹欧歐耿兰蘭焦俞左柳甘祝宁寧舒阮柯纪紀梅童凌毕畢"
            "裴霍涂塗苗谷盛翁冉骆駱蓝藍游辛靳柴蒙鲍鮑喻祁蒲房滕屈饶饒艾尤穆卓缪繆娄婁窦竇戚岑费費卜晏宗瞿桂佟臧闵閔"
            "邬鄔卞姬仇栾欒隋刁荣榮巫寇桑郎甄丛叢仲虞敖巩鞏佘邝鄺]")
# What may follow a name that is followed by Chinese: its phone, address, 的, a question.
_AFTER_NAME = "电话|電話|手机|手機|联系|聯繫|地址|的|吗|嗎|呢|先生|女士|小姐"
# Words after such a label that start with a surname's character (收货人周末不在, 收件人颜色
# 写错了), and characters no given name is written with (毕业了, 任意填吗, 毛的).
_NOT_A_NAME = ("周[末一二三四五六日]|白天|晚上|马上|馬上|齐全|齊全|任意|任何|严格|嚴格|毕业|畢業|黄色|黃色|蓝色|藍色|"
               "颜色|顏色|顾客|顧客|付款|费用|費用|万一|萬一|童装|童裝|夏天|范围|範圍|温度|溫度|舒服|辛苦|房间|房間|"
               "叶子|葉子|石头|石頭|高兴|高興|钟点|鐘點|许多|許多|曾经|曾經|何时|何時|陆续|陸續|纪念|紀念|祝福|凌晨|"
               "尤其|毕竟|畢竟|左边|左邊|施工|莫名|宁可|寧可|焦急|黎明|贺卡|賀卡|付[运運邮郵钱錢费費款]|宋体|宋體")
_NOT_IN_NAME = "了的吗嗎呢吧啊在是不没沒要会會能都也就还還和很太过過着著么麼什怎哪这這那个個有无無说說去来來到给給让讓被把对對填写寫"

_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
              50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 91}


def _resident_id(m: re.Match) -> str:
    """A mainland resident ID, even unlabelled: 18 characters opening with a province code
    and holding a birth date at 7-14. The check character is not required (a typo or a
    made-up example is still someone's number to hide); an 18-digit order number meets
    the rest about once in 3,500 (measured on random digits)."""
    code = m.group(0)
    if re.search(r"订单|訂單|单号|單號", m.string[max(0, m.start() - 8):m.start()]):
        return code  # the customer calls it an order number
    born = code[6:14]
    plausible = int(code[:2]) in _PROVINCES and born[:2] in ("19", "20") \
        and "01" <= born[4:6] <= "12" and "01" <= born[6:8] <= "31"
    return "【证件号】" if plausible else code


def _luhn(digits: str) -> bool:
    """Whether the last digit is the Luhn check digit of the others (every bank card's)."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _union_pay_card(m: re.Match) -> str:
    """A UnionPay card number without a word for it (退款到6222 0212 3456 7890 128): 16-19
    digits opening with 62, the last a Luhn check digit, unless the customer names it an
    order number. An order number opening with 62 passes the check once in ten."""
    if re.search(r"订单|訂單|单号|單號", m.string[max(0, m.start() - 8):m.start()]):
        return m.group(0)
    digits = re.sub(r"[ -]", "", m.group(0))
    return "【卡号】" if 16 <= len(digits) <= 19 and _luhn(digits) else m.group(0)


# Taiwan ID letters stand for 10..35 in this order (I, O, W, Z were added late).
_TW_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def _taiwan_id(m: re.Match) -> str:
    """A Taiwan ID (A123456789: a letter, 1 or 2, eight digits, the last a check digit)."""
    code = m.group(0).upper()
    n = _TW_LETTERS.index(code[0]) + 10
    total = n // 10 + (n % 10) * 9 + sum(int(d) * w for d, w in zip(code[1:9], range(8, 0, -1))) + int(code[9])
    return "【证件号】" if total % 10 == 0 else m.group(0)


def _hong_kong_id(m: re.Match) -> str:
    """A Hong Kong ID (Z683365(5), AB987654(3)): one or two letters, six digits and a mod-11
    check character, in brackets or not; with brackets it is one whatever the check."""
    raw = m.group(0).upper()
    if re.search(r"[(（]", raw):
        return "【证件号】"
    code = re.sub(r"\s", "", raw)
    letters, digits, check = code[:-7], code[-7:-1], code[-1]
    values = [36] * (2 - len(letters)) + [ord(c) - 55 for c in letters] + [int(d) for d in digits]
    rest = (11 - sum(v * w for v, w in zip(values, range(9, 1, -1))) % 11) % 11
    return "【证件号】" if ("0123456789A"[rest] if rest else "0") == check else m.group(0)


# What names a number the customer's phone (电话, 手机号, 打 9123 4567), not a bare 手机: in an
# electronics shop 手机 is the goods (这台手机屏幕是2796 1290像素吗).
_PHONE_LABEL = re.compile(r"电话|電話|手机号|手機號|(?:手机|手機)\s*[:：]|联系|聯系|聯繫|号码|號碼|打\s*[:：]?\s*$")
_RESOLUTION = re.compile(r"分辨率|解析度|像素")
_RESOLUTION_AFTER = re.compile(rf"\s*(?:的)?(?:{_RESOLUTION.pattern})")
_NEAR_RESOLUTION = re.compile(r"[^，。？！,.?!;；我的]{0,4}")


def _hong_kong_phone(m: re.Match) -> str:
    """A Hong Kong number written in two groups of four (9123 4567), unless the customer
    names it an order number or a time (订单号 2026 1128, 下单时间 2026-1128), or it is a
    screen's resolution: a resolution word close before it with no phone label between
    (分辨率高达 2560 1440, 分辨率（2560 1440）), or one after it with no phone label before
    (2796 1290 像素, 这台手机屏幕是2796 1290像素吗). 像素高吗 电话9123 4567, 我手机号 9123 4567
    的像素, 我手机 9123 4567 的像素 and 像素很好，9123 4567 联系我 stay phone numbers."""
    before, after = m.string[max(0, m.start() - 12):m.start()], m.string[m.end():m.end() + 8]
    if re.search(r"(?:订单|訂單|单号|單號|编号|編號|时间|時間|日期|下单|下單)\D{0,6}$", before):
        return m.group(0)
    named = re.match(r"\s*(?:联系|聯系|聯繫|打给|打給|找我|电话|電話)", after)
    said = list(_RESOLUTION.finditer(before))
    gap = before[said[-1].end():] if said else ""
    # a resolution word close by, with no label, clause break or 我/的 between (分辨率高达
    # 2560 1440; not 分辨率怎么样？9123 4567 回电, 要高像素的 9123 4567, 我手提 9123 4567)
    if not named and (said and not _PHONE_LABEL.search(gap) and _NEAR_RESOLUTION.fullmatch(gap.strip())
                      or _RESOLUTION_AFTER.match(after) and not _PHONE_LABEL.search(before)
                      and not re.search(r"我的?(?:手机|手機)\s*$", before)):
        return m.group(0)
    return "【电话】"


_MASKS = [
    # Bank cards and ID numbers look like order numbers; what the customer calls them tells
    # (first: a card number written in groups of four would read as phone numbers).
    (re.compile(r"((?:银行卡|銀行卡|卡号|卡號|储蓄卡|儲蓄卡|信用卡|借记卡|借記卡)(?:(?!订单|訂單|单号|單號)\D){0,10}?)\d(?:[ -]?\d){14,18}(?!\d)"),
     r"\1【卡号】"),
    # A card called just 卡 (退到这张卡6228…, 卡：6222 …): its number a few characters after.
    # Not a parcel or order stuck (物流卡住了 7854…, 卡在…).
    (re.compile(r"(卡(?![住在了着著顿頓死])(?:(?!订单|訂單|单号|單號)\D){0,3}?)\d(?:[ -]?\d){14,18}(?!\d)"),
     r"\1【卡号】"),
    (re.compile(r"((?:身份证|身份證|证件|證件)(?:(?!订单|訂單|单号|單號)\D){0,10}?)\d{17}[\dXx](?![\dA-Za-z])"), r"\1【证件号】"),
    # Passports and travel permits (护照 E12345678, 港澳通行证 C12345678, 台胞证 12345678,
    # 证件号 E…), given for customs clearance; not a date on the card (证件上的日期是20260315).
    (re.compile(r"((?:护照|護照|通行证|通行證|台胞证|台胞證|证件号|證件號)(?:(?!订单|訂單|单号|單號)\D){0,10}?)"
                r"(?<![\dA-Za-z])(?:[A-Za-z]{1,2}\d{7,9}|\d{8,10})(?![\dA-Za-z])"), r"\1【证件号】"),
    (re.compile(r"(?<![\dA-Za-z])\d{17}[Xx](?![\dA-Za-z])"), "【证件号】"),
    (re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])"), _resident_id),
    (re.compile(r"(?<![\dA-Za-z])62\d{2}(?:[ -]?\d){12,15}(?![\d])"), _union_pay_card),
    (re.compile(r"(?<![\dA-Za-z])[A-Za-z][12]\d{8}(?![\dA-Za-z])"), _taiwan_id),
    (re.compile(r"(?<![\dA-Za-z])[A-Z]{1,2}\d{6}(?:\s*[(（][\dA][)）]|[\dA](?![\dA-Za-z]))"), _hong_kong_id),
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[-. ]?\d{4}[-. ]?\d{4}(?!\d)"), "【手机号】"),
    # Taiwan mobiles (0912-345-678, +886 912 345 678) and Hong Kong numbers written with a
    # space or +852 (9123 4567): eight bare digits may be an order number, so they stay.
    (re.compile(r"(?<!\d)(?:\+?886[- ]?|0)9\d{2}[- ]?\d{3}[- ]?\d{3}(?!\d)"), "【手机号】"),
    # Landlines: the area code (0 and 2-3 digits, Taiwan's 0 and one with a separator, in
    # brackets or after +86), then 7-8 digits, perhaps in two groups (0755-8888 9999,
    # (010)1234-5678) and an extension (转801). Before the Hong Kong numbers, which would
    # take the groups after the area code. Not a group of a longer grouped number (订单号
    # 0123 4567 8901 2345); a time or floor may follow (0755-88889999 8点到6点有人).
    (re.compile(r"(?<![\d+])(?<!\d[- ])(?:0\d{2,3}[- ]?|0\d[- ]|[(（]0\d{1,3}[)）]\s*-?\s*|\+?86[- ]?\d{2,3}[- ])"
                r"\d{3,4}[- ]?\d{4}(?:\s*(?:转|轉|分机|分機|-)\s*\d{1,5})?(?!\d|[- ]\d{3})"), "【电话】"),
    # Hong Kong numbers: not a group of a longer grouped number (订单号 2026 1128 1234 5678),
    # nor one named an order number or a time (下单时间 2026-1128).
    (re.compile(r"(?<![\d+])\+?852[- ]?[2-9]\d{3}[- ]?\d{4}(?!\d)"), "【电话】"),
    (re.compile(r"(?<![\d+])(?<!\d\d\d[- ])[2-35-9]\d{3}[- ]\d{4}(?!\d|[- ]\d{3})"), _hong_kong_phone),
    # A run of address characters is tried once, from its start (the look-behind), and an
    # address part is at most 64 characters: else a long run without '@' (99k of 'x') is
    # rescanned from every position, quadratic time (a worker stuck for minutes).
    (re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}"), "【邮箱】"),
    # WeChat and QQ ids after their name (微信 zhang_san_88, vx: lisi1990, QQ号 987654321),
    # and WeChat's own ids (wxid_…) anywhere: the customer's contact, like a phone number.
    # After the phones and e-mail, which keep their own label; the name alone (微信号是多少,
    # 微信支付订单号…, QQ群) is no id, nor is an English word after it (微信 within 24 hours)
    # unless 号 or a colon names it one: an id straight after the name has a digit, _ or -.
    (re.compile(r"(?<![A-Za-z0-9_])wxid_[A-Za-z0-9_-]{4,30}"), "【微信号】"),
    (re.compile(r"((?:微信|微訊|威信|薇信|[Vv]信|(?<![A-Za-z])(?:[Vv][Xx]|[Ww][Xx]|[Ww]e[Cc]hat|[Ww]eixin)(?![A-Za-z]))"
                r"(?:(?:号码|號碼|号|號|[Ii][Dd])\s*(?:是|为|為|:|：)?\s*|\s*(?:是|为|為|:|：)\s*|\s*(?=[A-Za-z]*[\d_-])))"
                r"(?:[A-Za-z][-_A-Za-z0-9]{5,19}|\d{5,11})(?![-_A-Za-z0-9])"), r"\1【微信号】"),
    (re.compile(r"((?:(?<![A-Za-z])[Qq]{2}(?![A-Za-z])|扣扣)(?:号码|號碼|号|號)?\s*(?:是|为|為|:|：)?\s*)[1-9]\d{4,11}(?!\d)"),
     r"\1【QQ号】"),
    # The name after 收货人, 姓名 … (收货人：张三, 收件人改成欧阳娜娜, 收貨人陳大文电话…): a common
    # surname and one or two characters, then no more Chinese or a word that ends a name
    # (电话, 的, 吗 …), so that 收货人信息, 收货人写错了, 收货人是我妈 keep their words.
    (re.compile(rf"((?:{_NAME_LABEL})\s*(?:是|为|為|叫|改成|改为|改為|换成|換成|:|：)?\s*)(?!{_NOT_A_NAME})"
                rf"(?:{_SURNAME})(?:(?![{_NOT_IN_NAME}])[\u4e00-\u9fff]){{1,2}}(?:(?![\u4e00-\u9fff])|(?={_AFTER_NAME}))"), r"\1【姓名】"),
    # A street with its number (世纪大道100号, 张江路100弄5号302室, 忠孝東路四段100號5樓,
    # 彌敦道 600 號 5 樓 A 室, 中山北路一百号), what is before it (the district, the city),
    # and the building, floor or flat after it (汇智大厦12楼1203室); digits before it (an
    # order number) are not part of it, nor is 知道 a road, nor words such as 地址, 在,
    # 寄到 before it.
    (re.compile(rf"(?![{_LABEL}])[\u4e00-\u9fff]{_NAME_CHAR}{{0,23}}?{_STREET}{_DIRECTION}{_SECTION}(?:(?:{_LANE})*{_HOUSE}|(?:{_LANE})+)"
                rf"{_PARTS}*"), "【地址】"),
    # A chain of administrative areas and what follows it up to a road, without a number:
    # the customer's whereabouts all the same. Three areas (浙江省杭州市西湖区), or two and
    # a road (广州市天河区…花城大道): two alone are as often words (超市生鲜区, 全市各区).
    # It starts after words such as 地址, 在, 寄到 (收货地址浙江省… keeps its label).
    (re.compile(rf"(?:(?![{_LABEL}从{_NOT_NAME}])[\u4e00-\u9fff]){{1,7}}?(?:省|自治区|自治區|特别行政区|{_PREFECTURE}|市|县|縣)"
                rf"(?:(?:{_GAP}?{_AREA}){{2,}}(?:{_GAP}?{_ROAD})?|(?:{_GAP}?{_AREA})+{_GAP}?{_ROAD})"), "【地址】"),
    # A housing estate, plaza or park with building and flat numbers (翠苑小区5栋302,
    # 幸福花園3棟2單元501室, 万科城二期12幢1单元1802, 时代广场A座1201, 科技园10栋), its name in
    # letters too (SOHO现代城5号楼1201 left SOHO in the log).
    (re.compile(rf"(?:(?![{_LABEL}])[\u4e00-\u9fffA-Za-z]){{1,12}}?(?:小区|小區|社区|社區|花园|花園|新村|公寓|大厦|大廈|"
                rf"家园|家園|苑|广场|廣場|中心|园|園|城|期)\s*[A-Za-z\d]+\s*(?:座|栋|棟|幢|号楼|號樓){_PARTS}*"), "【地址】"),
    # A village group and house number (王庄村3组12号).
    (re.compile(rf"(?:(?![{_LABEL}])[\u4e00-\u9fff]){{1,12}}?(?:村|屯)\s*\d+\s*(?:组|組|队|隊)(?:\s*\d+\s*[号號])?"),
     "【地址】"),
    # A building with its flat, without the street (3号楼2单元501, 5栋302, 12楼1203室, 5 樓
    # A 室): a building, floor or unit number alone (3号楼, 5楼) is kept.
    (re.compile(rf"(?<![{_DIGIT}A-Za-z])(?:(?:{_NUM}|[A-Za-z])\s*(?:号楼|號樓|栋|棟|幢|座|楼|樓|层|層)|{_UNIT})(?:\s*{_UNIT}|\s*{_ROOM}|{_FLAT})+"),
     "【地址】"),
]


def mask(text: str) -> str:
    """Mask phone, bank card and ID numbers, e-mail, WeChat and QQ ids, the name after
    收货人 or 姓名, and street addresses in customer text (full-width digits, letters and
    the marks between them are made half-width first: １３９－… is a phone number too, and a
    number said digit by digit is in digits: 幺三九… is one as well)."""
    text = spoken_digits(half_width(text))
    for pattern, repl in _MASKS:
        text = pattern.sub(repl, text)
    return text


def mask_spans(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """`mask(text)`, and each span (start, end) of `text` where it is in the masked text:
    masking changes lengths (13912345678 is 【手机号】), so a span after a masked number
    would mark other characters. A span a mask touched covers what took its place."""
    text = spoken_digits(half_width(text))  # both keep every character's place
    # Each character of the text as it is now: the span of the original it stands for.
    origin = [(i, i + 1) for i in range(len(text))]
    for pattern, repl in _MASKS:
        out, where, pos = [], [], 0
        for m in pattern.finditer(text):
            new = repl(m) if callable(repl) else m.expand(repl)
            old = m.group()
            # What a replacement keeps of the match (the label of \1【姓名】) keeps its place.
            head = len(os.path.commonprefix([old, new]))
            tail = len(os.path.commonprefix([old[head:][::-1], new[head:][::-1]]))
            a, b = m.start() + head, m.end() - tail
            out.append(text[pos:a])
            where += origin[pos:a]
            changed = len(new) - head - tail
            if changed:
                # (a match's inner part never empty: a mask replaces something with its label)
                covered = (origin[a][0], origin[b - 1][1]) if b > a else origin[a - 1] if a else (0, 0)
                out.append(new[head:len(new) - tail])
                where += [covered] * changed
            pos = b
        if pos:
            out.append(text[pos:])
            where += origin[pos:]
            text, origin = "".join(out), where
    moved = []
    for start, end in spans:
        inside = [i for i, (a, b) in enumerate(origin) if a < end and b > start]
        moved.append((inside[0], inside[-1] + 1) if inside else (start, start))
    return text, moved


class UnknownSuggestion(KefuError):
    code = "not_found"
    field = "suggestion_id"

    def __init__(self, suggestion_id: str):
        super().__init__(f"no suggestion with id {suggestion_id!r}")


class BadFeedback(KefuError):
    """A feedback field has a bad value; names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class MissingFeedback(BadFeedback):
    """An accept or edit without the draft it used, an edit without its text. The message
    names the field as the API has it (`draft`, `text`): `naming` puts an edge's own name
    for it instead (the CLI's --draft)."""

    def __init__(self, field: str, need: str):
        super().__init__(field, need.format(field))
        self.need = need  # the message with {} for the field's name

    def naming(self, name: str) -> str:
        """The message with the field called `name`."""
        return self.need.format(name)


class ContradictingFeedback(BadFeedback):
    """A reject of an entry that the agent already used for the same suggestion (or the
    other way round): a conflict with feedback recorded before."""

    code = "conflict"

    def __init__(self, message: str):
        super().__init__("draft", message)


def _stored_draft(draft: dict) -> dict:
    """`draft` as the log keeps it: its text masked, its flags moved to their words in the
    masked text (a flag a mask took part of covers what took its place: its word, as
    written, could be the WeChat id it flagged), and without its slots, which say where
    values stand in the text as shown (for the panel) and no longer fit the masked one."""
    flags = draft.get("flags") or []
    text, spans = mask_spans(draft["text"], [(f["start"], f["end"]) for f in flags])
    moved = [{**f, "word": text[a:b], "start": a, "end": b} for f, (a, b) in zip(flags, spans)]
    return {**{k: v for k, v in draft.items() if k != "slots"}, "text": text,
            **({"flags": moved} if "flags" in draft else {})}


@dataclass
class FeedbackLog:
    db: object  # sqlite_utils.Database, migrated by Store
    retention_days: int = 90
    _last_purge: float = field(default=float("-inf"), repr=False)

    def __post_init__(self):
        low, high = RETENTION_DAYS
        if type(self.retention_days) is not int or not low <= self.retention_days <= high:
            raise KefuError(f"retention_days must be a whole number from {low} to {high}, got {self.retention_days!r}")

    def record_suggestion(self, message: str, context: list[dict], script: str, intent: str,
                          no_match: bool, hits: list[dict], drafts: list[dict], replaces: str | None = None) -> str:
        """Log a suggestion shown; its id. `replaces`: the suggestion shown for the same
        message a moment ago (the panel asks again as the agent types or fills in a value).
        It is marked superseded, with any other that named it as replaced (requests the
        panel sent on from it and dropped for a newer key), unless feedback names them: a
        message then counts once in statistics and gap mining, not once per keystroke.
        Only the panel a suggestion was shown on knows its id, so one agent's typing never
        hides another's message. Nothing is deleted, and feedback that arrives later for
        one brings it back."""
        sid = uuid.uuid4().hex[:12]
        with writing(self.db):
            if replaces:
                cutoff = (datetime.now(timezone.utc) - timedelta(seconds=REPLACEABLE_S)).isoformat(timespec="seconds")
                self.db.execute(
                    "update suggestions set superseded_by = ? where at >= ? and superseded_by is null"
                    " and not exists (select 1 from feedback f where f.suggestion_id = suggestions.id)"
                    " and (id = ? or replaces = ?)", [sid, cutoff, replaces, replaces])
            # top_entry: the first hit's id, which statistics count the suggestion under (m025)
            self.db.execute(
                "insert into suggestions (id, at, message, context, script, intent, no_match, hits, drafts,"
                " replaces, top_entry) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [sid, _now(), mask(message),
                 json.dumps([{**t, "text": mask(t.get("text", ""))} for t in context], ensure_ascii=False),
                 script, intent, int(no_match), json.dumps(hits, ensure_ascii=False),
                 json.dumps([_stored_draft(d) for d in drafts], ensure_ascii=False), replaces,
                 _top_entry(hits)])
            self._purge()
        return sid

    def record_feedback(self, suggestion_id: str, action: str, draft: int | None = None,
                        text: str | None = None, agent: str | None = None) -> int:
        if action not in ACTIONS:
            raise BadFeedback("action", f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
        row = self.db.execute("select drafts, hits from suggestions where id = ?",
                              [suggestion_id]).fetchone()
        if row is None:
            raise UnknownSuggestion(suggestion_id)
        drafts, hits = json.loads(row[0]), json.loads(row[1])
        if action == "no_match" and draft is not None:
            raise BadFeedback("draft", "a no-match report is about the whole suggestion: it names no draft")
        top = answered_hit(hits, drafts)  # what "not helpful" on the whole list rejects
        entry_id = None
        if draft is not None:
            if not 1 <= draft <= len(drafts):
                have = "only draft 1" if len(drafts) == 1 else f"drafts 1-{len(drafts)}"
                raise BadFeedback("draft", f"suggestion {suggestion_id} has {have}, not {draft}")
        ids = draft_answers(drafts[draft - 1]) if draft is not None else []
        answered = set(ids)
        # The one entry a draft answers: none for a clarifying question or a two-answer
        # draft, and none for "no match".
        entry_id = ids[0] if len(ids) == 1 and action != "no_match" else None
        against = entry_id if draft is not None else top
        used, rejected = self._judged(suggestion_id, drafts, top)
        if action == "reject" and (clash := sorted(answered & used)) and not against:
            against = clash[0]  # a two-answer draft: each of its entries used already counts
        if action == "reject" and against and against in used:
            # A suggestion's warm and concise drafts answer from one entry, and a reject counts
            # against the entry: it would be recorded as both the right and a wrong answer.
            what = f"draft {draft} answers" if draft is not None else "a reject of the whole list counts against"
            raise ContradictingFeedback(f"{what} entry {against!r}, and a draft of this suggestion answering"
                                        " it was already used: a reject would record it as a wrong answer too")
        if action in ("accept", "edit") and draft is not None and self.db.execute(
                "select 1 from feedback where suggestion_id = ? and action = 'reject' and draft = ?",
                [suggestion_id, draft]).fetchone():
            raise ContradictingFeedback(f"draft {draft} was already rejected for this suggestion")
        if action == "reject" and draft is not None and self.db.execute(
                "select 1 from feedback where suggestion_id = ? and action in ('accept', 'edit') and draft = ?",
                [suggestion_id, draft]).fetchone():
            # The other way round, whatever the draft answers: a greeting, a holding line or a
            # clarifying question sent as it was is no draft the agent found unhelpful.
            raise ContradictingFeedback(f"draft {draft} was already used for this suggestion")
        if action in ("accept", "edit") and (clash := sorted(answered & rejected)):
            raise ContradictingFeedback(f"draft {draft} answers entry {clash[0]!r}, which was already rejected for"
                                        " this suggestion: using it would record it as a right answer too")
        if action in ("accept", "edit") and draft is None:
            raise MissingFeedback("draft", f"an {action} needs {{}}, the number of the draft the agent used "
                                  f"(1-{len(drafts)})")
        if action == "edit" and not (text or "").strip():
            raise MissingFeedback("text", "an edit needs {}, the edited text the agent sent")
        stored = mask(text) if text else None
        with writing(self.db):
            # A retried request (same suggestion, agent, action, draft and text) is the same
            # feedback: its row is returned, so it counts once in statistics and learning.
            same = self.db.execute(
                "select id from feedback where suggestion_id = ? and action = ? and draft is ? and agent is ?"
                " and text is ?", [suggestion_id, action, draft, agent, stored]).fetchone()
            if same:
                return same[0]
            cur = self.db.execute(
                "insert into feedback (suggestion_id, at, action, draft, entry_id, text, agent)"
                " values (?, ?, ?, ?, ?, ?, ?)",
                [suggestion_id, _now(), action, draft, entry_id, stored, agent])
            # acted on: it counts, even if a later request for a longer message replaced it
            self.db.execute("update suggestions set superseded_by = null where id = ?", [suggestion_id])
        return cur.lastrowid

    def _judged(self, suggestion_id: str, drafts: list, top: str | None) -> tuple[set, set]:
        """(entries a used draft of the suggestion answers, entries rejected for it): a
        two-answer draft answers both of its entries, a reject of the whole list rejects
        the entry the drafts answered (`answered_hit`)."""
        used, rejected = set(), set()
        for action, draft, entry_id in self.db.execute(
                "select action, draft, entry_id from feedback where suggestion_id = ?", [suggestion_id]):
            if action in ("accept", "edit"):
                used |= {entry_id} if entry_id else set(draft_answers(drafts[draft - 1])) if draft else set()
            elif action == "reject":
                rejected |= {entry_id} if entry_id else {top} if draft is None and top else set()
        return used, rejected

    def suggestion(self, suggestion_id: str) -> dict:
        row = self.db.execute("select id, at, message, context, script, intent, no_match, hits, drafts"
                              " from suggestions where id = ?", [suggestion_id]).fetchone()
        if row is None:
            raise UnknownSuggestion(suggestion_id)
        keys = ("id", "at", "message", "context", "script", "intent", "no_match", "hits", "drafts")
        out = dict(zip(keys, row))
        for k in ("context", "hits", "drafts"):
            out[k] = json.loads(out[k])
        out["feedback"] = [dict(zip(("action", "draft", "entry_id", "text", "agent", "at"), r)) for r in
                           self.db.execute("select action, draft, entry_id, text, agent, at from feedback"
                                           " where suggestion_id = ? order by id", [suggestion_id])]
        return out

    def _purge(self) -> None:
        # The panel asks for suggestions as the agent types: sweep at most every ten minutes,
        # one batch, inside the suggestion's transaction; the next suggestion goes on if more is left.
        now = time.monotonic()
        if now - self._last_purge < 600:
            return
        self._last_purge = now
        if self._delete_expired(retention_cutoff(self.retention_days)).more_left():
            self._last_purge = now - 600

    def purge(self, progress: Callable[[str, int, int], None] | None = None) -> "Purged":
        """Delete now what is past the retention period (`kefu purge`), as logging a
        suggestion does on its own at most every ten minutes; what was deleted. One
        transaction per PURGE_BATCH suggestions, each followed by `progress("purging",
        done, total)`."""
        cutoff = retention_cutoff(self.retention_days)
        total = self.db.execute("select count(*) from suggestions where at < ?", [cutoff]).fetchone()[0]
        counts = [0] * 5
        while True:
            with writing(self.db):
                step = self._delete_expired(cutoff)
            counts = [a + b for a, b in zip(counts, astuple(step)[2:])]
            if progress and total:
                progress("purging", min(counts[0], total), total)
            if not step.more_left():
                return Purged(cutoff, self.retention_days, *counts)

    def _delete_expired(self, cutoff: str) -> "Purged":
        """Delete the oldest PURGE_BATCH suggestions before `cutoff` and their feedback, as
        many learning events and learned phrasings, and the rest of what is older."""
        from .learned import expire  # learned.py imports this module

        old = "select id from suggestions where at < ? order by at, id limit ?"
        feedback = self.db.execute(f"delete from feedback where suggestion_id in ({old})",
                                   [cutoff, PURGE_BATCH]).rowcount
        suggestions = self.db.execute(f"delete from suggestions where id in ({old})", [cutoff, PURGE_BATCH]).rowcount
        # The learning events hold the same customer messages and edited replies.
        events, learned = expire(self.db, cutoff, PURGE_BATCH)
        # Their vectors (the gaps'), unless a newer message of the same text keeps them, or
        # an entry's question or similar question, or a learned phrasing, of the same text
        # (a customer who typed it word for word) is still encoded with it. Gap mining
        # marks the newer messages it saw; one logged since keeps its vector here, its
        # mark moved on to it.
        old_marks = self.db.execute("select model, hash from message_vectors where last_at < ?", [cutoff]).fetchall()
        used = _vectors_in_use(self.db) if old_marks else set()
        logged = _unmarked_messages(self.db, cutoff) if old_marks else {}
        for model, h in old_marks:
            if h in logged:
                self.db.execute("update message_vectors set last_at = ? where model = ? and hash = ?",
                                [logged[h], model, h])
        vectors = sum(self.db.execute("delete from embeddings where model = ? and hash = ?", mark).rowcount
                      for mark in old_marks if mark[1] not in used and mark[1] not in logged)
        self.db.execute("delete from message_vectors where last_at < ?", [cutoff])
        if suggestions or events:  # mined gaps and drift quote the messages and edits deleted
            self.db.execute("delete from mined")
            # The statistics' counts of the closed days (suggest/stats.py) quote nothing and
            # are kept apart: only those of the days it changed go (counting them all again
            # took seconds after every purge a suggestion runs): the days it deleted rows of,
            # and those whose agents' no-match reports were counted under a suggestion deleted.
            self.db.execute("delete from day_counts where low < ? or reported_from < ?", [cutoff, cutoff])
            # The ids a day's counts saw are looked for after: where it deleted the highest,
            # SQLite gives them again, to rows those counts never saw.
            self.db.execute(
                "update day_counts set mark_suggestions = min(mark_suggestions, (select coalesce(max(rowid), 0)"
                " from suggestions)), mark_feedback = min(mark_feedback, (select coalesce(max(id), 0) from feedback)),"
                " mark_events = min(mark_events, (select coalesce(max(id), 0) from learn_events))")
            # and a load counting or mining meanwhile keeps its result afterwards: under a
            # generation gone (its marker, the highest ids, may be unchanged).
            new_log_generation(self.db)
        return Purged(cutoff, self.retention_days, suggestions, feedback, events, learned, vectors)


def _unmarked_messages(db, cutoff: str) -> dict[str, str]:
    """Text hash -> when its newest message was logged, of the messages gap mining reads
    (flagged no-match, an agent's no-match or reject) logged at or after `cutoff` and the
    newest time a mark holds (since gaps were last mined): each message normalised as
    mining reads it, whole and cut to each built-in model's window (kb.embed.read_as_query)."""
    from .text import normalize

    since = max(cutoff, db.execute("select coalesce(max(last_at), '') from message_vectors").fetchone()[0])
    out: dict[str, str] = {}
    for message, at in db.execute(
            "select message, at from suggestions where no_match = 1 and at >= ? union all"
            " select message, at from learn_events where action in ('no_match', 'reject') and at >= ?",
            [since, since]):
        for h in _window_hashes([normalize(message or "").text]):
            out[h] = max(out.get(h, at), at)
    return out


def _vectors_in_use(db) -> set[str]:
    """The text hashes of what the index encodes besides messages: entries' questions and
    similar questions (normalised, as kb.base reads them), and the learned phrasings the
    trust rule may trust (as LearnStore._may_be picks them; an approved one is a similar
    question), also read as a search reads a message (`mandarin`) and cut to the window
    each built-in model reads (kb.embed.read_as_query): a vector in the embedding cache
    under one of them may be a document's. A year's learned table holds tens of thousands
    of phrasings one agent accepted once, which the index never encodes."""
    from .store import text_hash
    from .text import normalize

    forms: set[str] = set()
    for question, similar in db.execute("select question, similar from entries"):
        forms.update(normalize(t).text for t in [question, *json.loads(similar or "[]")] if t)
    hashes = {text_hash(f) for f in forms}
    min_agents = int(db.execute("select coalesce((select value from settings where key = 'learn.min_agents'), 2)")
                     .fetchone()[0])
    for (text,) in db.execute("select text from learned where status = 'candidate' and json_array_length(agents) >= ?",
                              [min_agents]):
        hashes.update(_learned_hashes(text))
    return hashes


@functools.lru_cache(maxsize=1 << 16)
def _learned_hashes(text: str) -> tuple[str, ...]:
    """The hashes a learned phrasing's vectors may be cached under (see `_vectors_in_use`);
    remembered, as the purge a suggestion runs reads every phrasing again (seconds for a
    year's)."""
    from .text import mandarin, normalize

    read = normalize(text).text
    return tuple(_window_hashes([read, mandarin(read)]))


def _window_hashes(reads: list[str]) -> set[str]:
    """The hashes of `reads` whole and cut to the window each built-in model reads of a
    query (kb.embed.read_as_query): where their vectors may stand in the embedding cache."""
    from .embed import E5_QUERY_CHARS, USE_QUERY_CHARS
    from .store import text_hash
    from .text import question_window

    return {text_hash(f) for read in reads
            for f in (read, question_window(read, E5_QUERY_CHARS), question_window(read, USE_QUERY_CHARS))}


@dataclass
class Purged:
    """What a purge deleted: everything logged before `cutoff` (`retention_days` ago)."""
    cutoff: str
    retention_days: int
    suggestions: int
    feedback: int
    learn_events: int
    learned: int  # learned phrasings whose events all were older (approved ones stay)
    message_vectors: int = 0  # cached vectors of messages no longer logged (one per text and model)

    def more_left(self) -> bool:
        """Whether a batch of the purge (`FeedbackLog._delete_expired`) may have left more to delete."""
        return PURGE_BATCH in (self.suggestions, self.learn_events, self.learned)


# Suggestions a purge deletes per transaction: the first purge of a year's log deleted
# tens of thousands (each ~4 KB with its hits and drafts; 83 s under load) in one, and a
# suggestion logged meanwhile waited for all of it.
PURGE_BATCH = 2000


def log_marker(db) -> list:
    """Changes whenever a suggestion is logged, marked superseded or brought back, or
    feedback or a learning event is recorded: for readers that keep what they derive from
    the log (statistics, mined gaps), a few index reads. Those rows are otherwise only
    deleted, by retention, which also deletes what was kept (`_delete_expired`) and moves
    `log_generation`, which those keys include too."""
    return [list(db.execute(sql).fetchone()) for sql in (
        "select max(rowid) from suggestions",
        # superseded as the agent typed (or brought back by feedback), or not
        "select count(*), max(rowid) from suggestions where no_match = 1 and superseded_by is null",
        "select max(id) from feedback",
        "select max(id) from learn_events")]


def retention_cutoff(days: int) -> str:
    """The oldest moment kept, as the logs' UTC timestamps: what was logged before it is
    past a retention period of `days`."""
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")


# Drafts that ask the customer back: they name entries but answer none.
QUESTION_STYLES = ("clarify", "confirm")


def draft_answers(draft: dict) -> list[str]:
    """The entries a logged draft answers: none for a clarifying or confirming question
    (it names the entries it asks about)."""
    return [] if draft.get("style") in QUESTION_STYLES else list(draft.get("entry_ids") or [])


def _top_entry(hits: list[dict]) -> str | None:
    """The first hit's id, as m025 reads it from stored hits: None when there is no hit, or
    its id is no string."""
    first = hits[0] if hits and isinstance(hits[0], dict) else {}
    return first.get("id") if isinstance(first.get("id"), str) else None


def answered_hit(hits: list[dict], drafts: list[dict]) -> str | None:
    """The entry the drafts answer, as the agent sees it: the first hit, in rank order,
    that a draft gives as its answer. Not always the top hit: the assistant leaves out
    one written for customers elsewhere, or for an order in the other state, and answers
    with the next. None when no draft answers an entry (a greeting, a holding line).

    A reject of the whole suggestion ("not helpful", no draft) counts against it: when
    no draft offered an entry as its answer (a suggestion flagged no-match, a greeting),
    the agent was offered no entry to turn down, and two such clicks must not demote an
    entry nobody saw as an answer, nor one the assistant left out."""
    answered = {e for d in drafts for e in draft_answers(d)}
    return next((h.get("id") for h in hits if h.get("id") in answered), None)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

"""Personal data in a reply or a proposal, found and masked for publication (国办发〔2014〕46号: replies of public
interest are published with the proposers' contact details removed).

Kinds: ``phone`` (mobile 1[3-9]x, landline with area code, 400/800 lines), ``id`` (18-digit resident ID with a valid
GB 11643 check digit; a 15-digit old ID in an 身份证 context), ``email``, ``bank`` (16–19 digits passing the Luhn
check, or any 12–19 digits after 账号/卡号), ``address`` (a house number: 号/栋/幢/单元/室 after a road or estate)
and ``name`` (a private person named in a contact context: 联系人、居民、村民、业主… or before 先生/女士/同志, and
a name beside a phone number). Deputies' and members' names in the salutation are public and not masked.

Detection is rules only: every hit names its kind, so staff can see why and confirm or undo each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = {"phone": "电话号码", "id": "身份证号", "email": "电子邮箱", "bank": "银行账号", "address": "门牌地址",
         "name": "个人姓名"}
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_D = r"(?<![0-9A-Za-z])"  # not inside a longer number or word
_E = r"(?![0-9A-Za-z])"
_SEP = r"[-\s\u2010-\u2015]?"
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    ("id", re.compile(_D + r"[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _E)),
    ("id15", re.compile(r"(?:身份证(?:号码?)?[：:为是\s]*)([1-9]\d{14})" + _E)),
    ("bank_ctx", re.compile(r"(?:账号|帐号|卡号|账户|银行卡)[：:为是\s]*((?:\d[\s-]?){11,22}\d)" + _E)),
    ("bank", re.compile(_D + r"(?:\d{4}[\s-]?){3}\d{4,7}" + _E)),
    ("phone", re.compile(_D + r"(?:\+?86[\s-]?)?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}" + _E)),
    ("phone", re.compile(_D + r"(?:[（(]0\d{2,3}[）)]\s?|0\d{2,3}" + _SEP + r")[2-9]\d{2,3}" + _SEP + r"\d{4}"
                         r"(?:\s?(?:转|-)\d{1,5})?" + _E)),
    ("phone", re.compile(_D + r"[48]00" + _SEP + r"\d{3}" + _SEP + r"\d{4}" + _E)),
    ("phone", re.compile(r"(?:电话|手机|热线|联系方式|座机)[：:为是\s]*([2-9]\d{6,7})" + _E)),
]
_ROAD = (r"(?:(?![家住在于址的是和与及到至位])[\u4e00-\u9fa5]){1,8}"
         r"(?:路|街|大道|巷|弄|胡同|小区|花园|新村|家园|公寓|苑|村|组)")
_HOUSE = re.compile(_ROAD + r"\d{1,5}(?:-\d{1,5})?号(?:[院楼]?\d{0,4}[栋幢号楼]?)?(?:\d{1,3}单元)?(?:\d{1,5}室)?"
                    r"|" + _ROAD + r"\d{1,4}[栋幢](?:\d{1,3}单元)?(?:\d{1,5}室)?")
# 两字或三字姓名 after a context word; a common-surname first character keeps place words and units out.
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
             "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
_NAME = rf"[{_SURNAMES}][\u4e00-\u9fa5]{{1,2}}"
_NAME_CONTEXTS = [
    re.compile(rf"(?:联系人|经办人|当事人|申请人|户主|反映人|举报人|居民|村民|业主|住户|老人|患者|家属|群众|市民|租户|"
               rf"职工|工人|孩子|学生|母亲|父亲|丈夫|妻子|儿子|女儿)[：:\s]?({_NAME}?)(?=[，,。；、（(\s]|电话|手机|先生|"
               rf"女士|同志|老人|$|\d|反映|称|家|一家|夫妇|的)"),
    re.compile(rf"({_NAME})(?=(?:先生|女士|老人|同志|大爷|大妈|阿姨)(?!们))"),
    re.compile(rf"({_NAME})(?=[，,（(\s]?(?:电话|手机|联系电话|联系方式)[：:]?\s*[\d+（(])"),
]
_NOT_NAMES = ("代表", "委员", "同志们", "市民们", "群众们", "老人们")


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    text: str

    @property
    def label(self) -> str:
        return KINDS[self.kind]


def id_checksum_ok(number: str) -> bool:
    """GB 11643-1999: the 18th character is the check digit of the first 17."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _raw(text: str) -> list[Finding]:
    found: list[Finding] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            group = 1 if pattern.groups else 0
            s, e, value = m.start(group), m.end(group), m.group(group)
            digits = re.sub(r"\D", "", value)
            if kind == "id" and not id_checksum_ok(value):
                continue
            if kind == "bank" and not (16 <= len(digits) <= 19 and luhn_ok(digits)):
                continue
            found.append(Finding({"id15": "id", "bank_ctx": "bank"}.get(kind, kind), s, e, value))
    for m in _HOUSE.finditer(text):
        found.append(Finding("address", m.start(), m.end(), m.group()))
    for pattern in _NAME_CONTEXTS:
        for m in pattern.finditer(text):
            name = m.group(1)
            masked = "某" in name[1:]  # already masked (张某某)
            if name and not masked and not name.endswith(_NOT_NAMES) and not any(name in w for w in _NOT_NAMES):
                found.append(Finding("name", m.start(1), m.end(1), name))
    return found


def find_personal_data(text: str) -> list[Finding]:
    """Every piece of personal data in ``text``, in order; overlapping hits keep the longest (then the earliest)."""
    kept: list[Finding] = []
    for f in sorted(_raw(text), key=lambda f: (-(f.end - f.start), f.start)):
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    return sorted(kept, key=lambda f: f.start)


def mask(finding: Finding) -> str:
    """What a finding becomes in the published text: digits starred, a name as 张某, an address up to its road."""
    if finding.kind == "name":
        return finding.text[0] + "某" * (len(finding.text) - 1)
    if finding.kind == "email":
        return "***@***"
    if finding.kind == "address":
        m = re.search(r"\d", finding.text)
        return finding.text[: m.start()] + "**" if m else "**"
    return re.sub(r"[0-9Xx]", "*", finding.text)


def redact(text: str, findings: list[Finding] | None = None) -> str:
    """``text`` with each finding (default: all found) replaced by its mask."""
    findings = find_personal_data(text) if findings is None else findings
    out, pos = [], 0
    for f in sorted(findings, key=lambda f: f.start):
        out.append(text[pos:f.start])
        out.append(mask(f))
        pos = f.end
    out.append(text[pos:])
    return "".join(out)

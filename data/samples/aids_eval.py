"""Write the SYNTHETIC labelled evaluation set of the reply aids (standard library only, fixed seed).

    .venv/bin/python data/samples/aids_eval.py            # writes aids_eval/*.jsonl next to this script

Four files, one JSON object a line, each with ``split`` = ``dev`` (for choosing thresholds) or ``test`` (reported):

coverage.jsonl       proposal/reply pairs whose points are marked answered or not. Proposals list 3-6 suggestions of
                     one phrase-bank topic (``gen/banks``) in varied numbering; replies report some of the topic's
                     reply actions. Which action answers which suggestion was decided by reading them (``ANSWERS``);
                     a point is answered when the reply carries an action that answers it. Split by topic.
categories.jsonl     2024 (dev) and 2025 (test) replies of closed_cases.csv with their category; a third of them carry a
                     wrong category (``given`` != ``true``), as a miscategorised reply would.
admissibility.jsonl  multi-matter items (two unrelated topics' suggestions in one item), not-fileable items written for
                     each ground (``NOT_FILEABLE``), and ordinary single-matter items, some of them on nearby wording
                     (a policy item about 诉调对接 is fileable). Split by alternation within each kind.
redaction.jsonl      texts with personal data at known spans (names, phones, IDs with valid check digits, e-mail,
                     bank cards passing Luhn, house addresses) and texts with none (sample replies full of figures and
                     dates). Split by template.
Everything is invented, like the rest of data/samples (README.md there).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "aids_eval"
SEED = 20261202
CN = "一二三四五六七八九十"

# topic -> {suggestion index: [indices of the reply actions that answer it]}; unlisted suggestions have no answer in
# the topic's bank. Decided by reading each S and A line of gen/banks/topics_*.txt.
ANSWERS = {
    "zjj/elevator": {0: [5], 1: [4], 2: [1], 3: [2], 4: [6], 5: [3]},
    "gjj/fund": {0: [0], 1: [1], 2: [2], 3: [3], 4: [4]},
    "jyj/degree": {0: [1], 1: [0], 2: [2], 4: [5], 5: [4]},
    "gjjt/busline": {0: [0, 1], 1: [2], 2: [3], 5: [4]},
    "jyj/afterschool": {0: [1, 3], 1: [0, 2], 2: [2]},
    "sfj/legal": {0: [0], 1: [1], 2: [2]},
    "jtysj/taxi": {0: [0], 1: [1], 3: [2]},
    "cgzfj/toilet": {0: [0, 1], 1: [0], 2: [2]},
    "cgzfj/streetvendor": {0: [0], 1: [1], 3: [3]},
    "jyj/mental": {0: [1], 1: [2], 5: [3]},
    "nync/grain": {0: [0], 2: [2]},
    "gaj/ebike": {0: [0], 2: [1], 3: [2]},
}
DEV_TOPICS = {"zjj/elevator", "jyj/degree", "jyj/afterschool", "jtysj/taxi", "cgzfj/streetvendor", "nync/grain"}
PLACES = {"station": "江州东站", "estate": "锦绣花园", "school": "东湖区实验小学", "market": "翠屏路菜市场",
          "district": "东湖区", "road": "江湾大道", "village": "河湾村", "community": "玉带社区", "year": "2025",
          "py": "2024"}


def topics() -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for path in sorted((HERE / "gen" / "banks").glob("topics_*.txt")):
        cur = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("=== @"):
                cur = None
            elif line.startswith("=== "):
                lead, key = line.split()[1:3]
                cur = out.setdefault(f"{lead}/{key}", {k: [] for k in "NTBPSAX"})
            elif cur is not None and line[:2] in {f"{k} " for k in cur}:
                cur[line[0]].append(line[2:])
    return out


def fill(rng: random.Random, text: str) -> str:
    def slot(m: re.Match) -> str:
        name, _, rng_ = m.group(1).partition(":")
        if name == "int":
            a, b = map(int, rng_.split("-"))
            return str(rng.randint(a, b))
        if name == "pct":
            a, b = map(int, rng_.split("-"))
            return f"{rng.randint(a, b)}%"
        return PLACES.get(name, "江州市")
    return re.sub(r"\{([a-z]+(?::[\d-]+)?)\}", slot, text)


def mark(style: str, i: int) -> str:
    return {"shi": f"{CN[i]}是", "paren": f"（{CN[i]}）", "num": f"{i + 1}．", "dun": f"{CN[i]}、",
            "di": f"第{CN[i]}，", "plain": ""}[style]


def suggestion_text(rng: random.Random, line: str, style: str) -> str:
    head, _, rest = line.partition("｜")
    text = fill(rng, head.rstrip("。") + "。" + rest if rest else line)
    return ("建议" + text) if style == "plain" else text


def coverage_items(rng: random.Random, bank: dict) -> list[dict]:
    items = []
    styles = ["shi", "paren", "num", "dun", "di", "plain"]
    heads = ["为此，建议：", "建议如下：", "对策建议", "为此，提出以下建议：", "我们建议：", ""]
    for topic in sorted(ANSWERS):
        t, answers = bank[topic], ANSWERS[topic]
        for n in range(6):
            k = min(len(t["S"]), rng.choice([3, 4, 4, 5, 6]))
            chosen = sorted(rng.sample(range(len(t["S"])), k))
            style = styles[(n + len(items)) % len(styles)]
            body = fill(rng, rng.choice(t["B"])) + fill(rng, rng.choice(t["P"]).split("｜")[-1])
            head = heads[n % len(heads)]
            sep = "\n" if style in ("paren", "num", "dun") or n % 2 else ""
            lines = [mark(style, i) + suggestion_text(rng, t["S"][s], style) for i, s in enumerate(chosen)]
            text = body + "\n" + head + ("\n" if head.endswith("建议") else "") + sep.join(lines)
            answerable = [s for s in chosen if s in answers]
            share = [0.0, 0.34, 0.5, 0.67, 1.0, 1.0][n]
            answered = sorted(rng.sample(answerable, round(len(answerable) * share))) if answerable else []
            acts = [rng.choice(answers[s]) for s in answered]
            unused = [a for a in range(len(t["A"])) if all(a not in answers[s] for s in chosen if s in answers)]
            if unused and rng.random() < 0.5:  # an action that answers nothing asked: a reply often reports more
                acts.append(rng.choice(unused))
            acts = list(dict.fromkeys(acts))
            rng.shuffle(acts)
            verbs = ["已", "已经", "目前正在", "计划于2026年底前", "积极"]
            paras = [f"{CN[i]}、{rng.choice(verbs)}{fill(rng, t['A'][a])}。" for i, a in enumerate(acts)]
            closing = rng.choice(["下一步，我们将继续加大工作力度，推动问题逐步解决。",
                                  "感谢您对我们工作的关心和支持。"])
            reply = ("张明代表：\n您提出的《关于" + fill(rng, t["T"][0]) + "的建议》收悉，现答复如下：\n"
                     + "\n".join(paras) + ("\n" if paras else "") + closing)
            items.append({"id": f"cov-{len(items) + 1:03d}", "topic": topic,
                          "split": "dev" if topic in DEV_TOPICS else "test", "proposal": text, "reply": reply,
                          "points": [{"text": lines[i], "answered": any(a in answers.get(s, []) for a in acts)}
                                     for i, s in enumerate(chosen)]})
    return items


def category_items(rng: random.Random) -> list[dict]:
    with open(HERE / "closed_cases.csv", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["年度"] in ("2024", "2025")]
    items = []
    for year in ("2024", "2025"):
        chosen = rng.sample([r for r in rows if r["年度"] == year], 90)
        for i, r in enumerate(chosen):
            true = r["答复类别"]
            given = rng.choice([c for c in "ABC" if c != true]) if i % 3 == 0 else true
            items.append({"id": r["编号"], "split": "dev" if year == "2024" else "test", "reply": r["答复内容"],
                          "true": true, "given": given})
    return items


# Not-fileable items, by ground; each written to read like an item that arrives in a session's batch.
NOT_FILEABLE = {
    "personal_dispute": [
        "关于解决我与邻居宅基地纠纷的建议|我家与邻居因宅基地边界问题多年争执不下，邻居在我家院墙外私自搭建棚屋，多次协商无果，请政府出面为我家主持公道。",
        "关于帮助我家追讨工程欠款的建议|本人承包某公司装修工程，对方拖欠我本人工程款8万元至今未付，请有关部门帮我追回欠款。",
        "关于处理我与前夫财产分割问题的建议|离婚后前夫一直不履行财产分割约定，我个人生活困难，请求政府协调解决我的家庭财产纠纷。",
        "关于调解我家与物业公司个人纠纷的建议|我因个人房屋漏水与物业公司发生纠纷，物业拒不赔偿，请相关部门为我个人讨个说法。",
        "关于解决本人与单位劳动争议的建议|本人被原单位辞退，我认为单位应赔偿我本人经济补偿金，请政府督促单位向我赔偿。",
        "关于协调兄弟之间遗产继承纠纷的建议|父亲去世后，我与兄弟之间因房产继承问题产生矛盾，请政府协调我们家的遗产分配。",
    ],
    "litigation": [
        "关于重新审理我亲属案件的建议|我亲属的合同纠纷案件已由市中级人民法院作出判决，我们认为判决不公，请求撤销判决重新审理。",
        "关于干预某借贷案件执行的建议|该借贷纠纷目前正在区人民法院审理中，尚未判决，请政府出面要求法院支持原告的诉讼请求。",
        "关于某工程合同仲裁结果的建议|某建设工程合同纠纷已提交江州仲裁委员会仲裁，仲裁正在进行，建议政府责成仲裁委改变裁决方向。",
        "关于复查一起刑事案件的建议|某刑事案件已进入检察院审查起诉阶段，当事人家属认为定性有误，请求撤销该案。",
        "关于推翻某行政诉讼判决的建议|某企业与区政府的行政诉讼案已经二审终审判决，企业仍不服，建议市政府改变终审判决结果。",
        "关于暂停执行法院判决的建议|法院已判决我方败诉并进入强制执行程序，请政府要求法院暂停执行。",
    ],
    "outside_remit": [
        "关于调整国家外交政策的建议|建议我国在国际事务中调整对某些国家的外交政策，加强与周边国家的军事合作。",
        "关于修改宪法相关条款的建议|建议对宪法中有关公民基本权利的条款进行修改，增加新的权利内容。",
        "关于调整全国个人所得税税率的建议|建议国家将个人所得税起征点提高到每月一万元，并调整全国统一税率表。",
        "关于改革全国高考制度的建议|建议国家取消全国统一高考，改为各高校自主招生，由教育部统一部署。",
        "关于调整人民币汇率政策的建议|建议中国人民银行调整人民币汇率形成机制，扩大汇率浮动区间。",
        "关于增设外省高铁站点的建议|建议在邻省某市增设一座高铁站点，方便该省群众出行，由国铁集团统一规划。",
    ],
    "party_internal": [
        "关于调整市委常委分工的建议|建议对市委常委班子成员的分工进行调整，加强对组织工作的领导。",
        "关于党员发展名额分配的建议|建议市委组织部增加我支部的党员发展名额，优先发展我推荐的入党积极分子。",
        "关于党内干部提拔任用的建议|建议在本次换届中提拔某同志担任区委副书记，其工作能力突出。",
        "关于党支部换届选举的建议|建议某党支部推迟换届选举，由现任书记继续主持党支部工作。",
        "关于党费收缴标准的建议|建议调整本单位党员党费收缴标准，降低退休党员的党费比例。",
    ],
    "personal_appeal": [
        "关于为我本人安排工作的建议|本人下岗多年，家庭困难，请政府为我本人安排一份事业单位的工作。",
        "关于给我儿子解决入学指标的建议|我儿子今年中考差几分没有达到市一中录取线，请教育局给我儿子一个入学指标。",
        "关于为本人落实职称的建议|本人从教二十年，至今未评上高级职称，请有关部门为我个人特批高级职称。",
        "关于批准我家建房申请的建议|我家的建房申请被镇政府退回，请政府特批我家在耕地上建房。",
        "关于给予我个人困难补助的建议|本人因病致贫，请政府一次性给予我个人困难补助五万元。",
    ],
    "commercial": [
        "关于推广某品牌净水器的建议|某公司生产的净水器质量过硬，建议全市学校统一采购该品牌净水器。",
        "关于指定某企业承建项目的建议|某建筑公司实力雄厚，建议将新区道路工程直接交由该公司承建。",
        "关于采购我公司软件产品的建议|本人所在公司开发的政务软件功能完善，建议市政府各部门统一采购。",
    ],
}
# Fileable items on nearby wording (no ground applies): the pre-screen must leave them alone.
NEAR_MISS = [
    "关于推进诉调对接化解矛盾纠纷的建议|建议建立人民调解与诉讼的衔接机制，在各区法院设立诉调对接工作室，依法及时化解邻里纠纷、物业纠纷等矛盾。",
    "关于加强劳动争议仲裁工作的建议|我市劳动争议案件逐年增多，建议充实劳动人事争议仲裁院力量，推行网上立案，缩短仲裁办案周期。",
    "关于优化个人所得税办税服务的建议|建议税务部门在各区政务中心设立个税专窗，帮助老年人完成个人所得税年度汇算。",
    "关于加强基层党建引领社区治理的建议|建议推行社区“党建+网格”治理模式，整合物业、业委会和志愿者力量，解决老旧小区管理难题。",
    "关于完善困难群众临时救助的建议|部分因病致贫家庭难以及时获得救助，建议简化临时救助审批，提高救助标准，建立主动发现机制。",
    "关于规范物业服务纠纷调处的建议|物业服务纠纷投诉多，建议建立物业纠纷调解委员会，由住建、司法部门指导化解业主与物业之间的矛盾。",
    "关于加快推进高铁站周边配套建设的建议|江州东站周边公交接驳不足，建议增开接驳线路，完善出租车候客区和停车场。",
    "关于支持本地软件企业发展的建议|建议设立软件产业发展基金，对本地软件企业研发投入给予补助，支持企业参与政务信息化建设。",
]


def admissibility_items(rng: random.Random, bank: dict) -> list[dict]:
    items: list[dict] = []
    for ground, texts in NOT_FILEABLE.items():
        for i, line in enumerate(texts):
            title, body = line.split("|")
            items.append({"id": f"adm-{len(items) + 1:03d}", "split": "dev" if i % 2 == 0 else "test",
                          "title": title, "body": body, "multi_matter": False, "ground": ground})
    units = sorted(ANSWERS) + sorted(k for k in bank if k not in ANSWERS and len(bank[k]["S"]) >= 3)
    for i in range(20):
        a, b = rng.sample(units, 2)
        while a.split("/")[0] == b.split("/")[0]:
            b = rng.choice(units)
        sa = [suggestion_text(rng, s, "num") for s in rng.sample(bank[a]["S"], 2)]
        sb = [suggestion_text(rng, s, "num") for s in rng.sample(bank[b]["S"], 2)]
        body = (f"一、关于{fill(rng, bank[a]['N'][0])}。{fill(rng, rng.choice(bank[a]['B']))}建议：{''.join(sa)}\n"
                f"二、关于{fill(rng, bank[b]['N'][0])}。{fill(rng, rng.choice(bank[b]['B']))}建议：{''.join(sb)}")
        title = rng.choice(["关于几个民生问题的建议", f"关于{fill(rng, bank[a]['T'][0])}等问题的建议",
                            "关于当前群众关心的几件事的建议"])
        items.append({"id": f"adm-{len(items) + 1:03d}", "split": "dev" if i % 2 == 0 else "test", "title": title,
                      "body": body, "multi_matter": True, "ground": None, "topics": [a, b]})
    for i, line in enumerate(NEAR_MISS):
        title, body = line.split("|")
        items.append({"id": f"adm-{len(items) + 1:03d}", "split": "dev" if i % 2 == 0 else "test", "title": title,
                      "body": body, "multi_matter": False, "ground": None})
    with open(HERE / "open_batch.csv", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    for i, r in enumerate(rng.sample(rows, 40)):
        items.append({"id": r["编号"], "split": "dev" if i % 2 == 0 else "test", "title": r["标题"], "body": r["内容"],
                      "multi_matter": False, "ground": None})
    return items


ID_AREAS = ["110105", "330102", "440304", "510107", "420106", "320106"]


def id_number(rng: random.Random) -> str:
    body = rng.choice(ID_AREAS) + f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" + \
        f"{rng.randint(0, 999):03d}"
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * x for d, x in zip(body, w)) % 11]


def bank_card(rng: random.Random) -> str:
    digits = rng.choice(["622202", "621700", "622848", "622588"]) + "".join(str(rng.randint(0, 9)) for _ in range(12))
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d
                for i, d in enumerate(int(c) for c in reversed(digits)))
    return digits + str((10 - total % 10) % 10)


def phone(rng: random.Random, style: int) -> str:
    m = f"1{rng.choice('3456789')}{rng.randint(0, 9)}{rng.randint(0, 9999):04d}{rng.randint(0, 9999):04d}"
    return [m, f"{m[:3]}-{m[3:7]}-{m[7:]}", f"{m[:3]} {m[3:7]} {m[7:]}",
            f"0571-{rng.randint(2, 8)}{rng.randint(0, 9999999):07d}",
            f"（0571）{rng.randint(2, 8)}{rng.randint(0, 9999999):07d}", f"+86 {m}"][style % 6]


NAMES = ["张建国", "李秀英", "王志强", "刘桂兰", "陈海涛", "杨丽", "赵国庆", "黄春燕", "周文斌", "吴晓梅"]
ROADS = ["翠屏路", "江湾大道", "玉带街", "滨江路", "锦绣花园", "河湾村"]
# templates: (text with {name} {phone} {id} {email} {bank} {addr} slots); a slot's filler is a labelled span
TEMPLATES = [
    "居民{name}反映，其家住{addr}，楼道照明长期损坏。联系电话：{phone}。",
    "经办人：{name}，联系电话{phone}，如有疑问请与我们联系。",
    "该户主{name}（身份证号{id}）申请临时救助，经审核符合条件。",
    "村民{name}称其承包地被占用，请有关部门核实。联系方式：{phone}",
    "请将材料发送至{email}，或致电{phone}咨询。",
    "补助资金已打入{name}的银行卡，卡号{bank}。",
    "业主{name}家住{addr}，多次反映电梯故障问题。",
    "{name}女士来电反映噪音扰民，电话{phone}。",
    "联系人：{name}；手机：{phone}；邮箱：{email}。",
    "申请人{name}，身份证号码：{id}，住址：{addr}。",
    "患者{name}家属反映报销周期过长，其账号为{bank}，请尽快处理。",
    "我们已安排工作人员上门走访{addr}，与住户{name}当面沟通。",
]
# phones and ID numbers in the forms they arrive in (the issue asks for recall >= 0.98 on these two kinds)
CONTACT_TEMPLATES = [
    "申请人身份证号：{id}，手机号码：{phone}。",
    "联系电话{phone}（工作日9:00-17:00），身份证{id}。",
    "请核对：{id}（本人），{phone}（家属）。",
    "来电号码 {phone} 反映的问题已转办，来电人证件号{id}。",
    "如有疑问请拨打{phone}，或持身份证（{id}）到窗口办理。",
]
NEGATIVE_NOTES = ["（办理单位联系人：办公室，联系电话见公开栏）", "", "（此件公开发布）"]


def redaction_items(rng: random.Random) -> list[dict]:
    items = []
    for n in range(60):
        t = n % len(TEMPLATES)
        template = TEMPLATES[t]
        values = {"name": rng.choice(NAMES), "phone": phone(rng, n), "id": id_number(rng),
                  "email": f"{rng.choice(['zhang', 'lixy', 'wzq88', 'chen.ht'])}@"
                           f"{rng.choice(['163.com', 'qq.com', 'example.cn'])}",
                  "bank": bank_card(rng),
                  "addr": f"{rng.choice(ROADS)}{rng.randint(1, 300)}号{rng.randint(1, 12)}栋"
                          f"{rng.randint(1, 4)}单元{rng.randint(101, 1802)}室"}
        text, spans, pos = "", [], 0
        for m in re.finditer(r"\{(\w+)\}", template):
            text += template[pos:m.start()]
            kind = {"addr": "address"}.get(m.group(1), m.group(1))
            spans.append({"kind": kind, "start": len(text), "end": len(text) + len(values[m.group(1)])})
            text += values[m.group(1)]
            pos = m.end()
        text += template[pos:]
        items.append({"id": f"red-{n + 1:03d}", "split": "dev" if t % 2 == 0 else "test", "text": text, "spans": spans})
    with open(HERE / "closed_cases.csv", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.DictReader(fh) if r["年度"] == "2025"]
    for i, r in enumerate(rng.sample(rows, 30)):  # replies full of figures and dates, and no personal data
        items.append({"id": r["编号"], "split": "dev" if i % 2 == 0 else "test",
                      "text": r["答复内容"] + rng.choice(NEGATIVE_NOTES), "spans": []})
    for n in range(60):
        number = id_number(rng)
        values = {"phone": phone(rng, n // len(CONTACT_TEMPLATES)), "id": number.lower() if n % 7 == 0 else number}
        text, spans, pos = "", [], 0
        template = CONTACT_TEMPLATES[n % len(CONTACT_TEMPLATES)]
        for m in re.finditer(r"\{(\w+)\}", template):
            text += template[pos:m.start()]
            spans.append({"kind": m.group(1), "start": len(text), "end": len(text) + len(values[m.group(1)])})
            text += values[m.group(1)]
            pos = m.end()
        items.append({"id": f"red-c{n + 1:03d}", "split": "dev" if n % 2 == 0 else "test",
                      "text": text + template[pos:], "spans": spans})
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description="Write the labelled evaluation set of the reply aids.")
    ap.add_argument("--out", type=Path, default=OUT, help="folder to write the four .jsonl files to")
    out = ap.parse_args().out
    rng = random.Random(SEED)
    bank = topics()
    out.mkdir(parents=True, exist_ok=True)
    sets = {"coverage": coverage_items(rng, bank), "categories": category_items(rng),
            "admissibility": admissibility_items(rng, bank), "redaction": redaction_items(rng)}
    for name, items in sets.items():
        with open(out / f"{name}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for item in items:
                fh.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"{name}: {len(items)} items")


if __name__ == "__main__":
    main()

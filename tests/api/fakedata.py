"""Small synthetic closed cases for the API tests: a few departments, each with its own vocabulary.

Texts are built from fixed phrase banks with a seeded random generator, so every run trains the same tiny model.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from tests.conftest import MINI_REGISTRY

HEADERS = ["编号", "类型", "年度", "标题", "内容", "提案人", "主办单位", "协办单位", "交办日期", "答复内容", "答复类别",
           "满意度", "办结日期"]

TOPICS: dict[str, list[str]] = {
    "zjj": ["老旧小区改造", "加装电梯", "物业服务", "保障性住房", "城中村改造", "燃气管道更新", "建筑工地安全",
            "房地产市场", "二次供水", "小区雨污分流"],
    "nync": ["高标准农田", "农村人居环境", "乡村振兴", "农产品质量", "宅基地管理", "农业产业化", "种粮补贴",
             "防止返贫监测", "农村集体经济", "农机购置"],
    "cgzf": ["占道经营", "共享单车停放", "生活垃圾分类", "市容环境", "违章搭建", "户外广告", "城市照明", "公厕管理",
             "渣土车管理", "街道保洁"],
    "jyj": ["学位供给", "课后服务", "校园安全", "教师队伍", "学前教育", "职业教育", "学生资助", "义务教育均衡",
            "校车接送", "中小学食堂"],
    "dhq": ["东湖街道", "东湖区菜市场", "东湖老街", "东湖湿地公园", "东湖区社区", "东湖片区", "东湖区道路",
            "东湖镇", "东湖区学校周边", "东湖区停车"],
}
# Old names as ledgers wrote them before a reorganisation; they resolve to today's unit.
OLD_NAMES = {"nync": "乡村振兴局", "cgzf": "市城管局"}
FILLER = ["群众反映强烈", "建议加大投入", "完善长效机制", "加强部门协同", "明确责任分工", "加快推进实施",
          "提高服务水平", "强化督促检查", "广泛听取意见", "切实解决问题"]
CO = {"zjj": "cgzf", "cgzf": "zjj", "nync": "dhq"}


def dept_name(dept_id: str) -> str:
    return next(d["name"] for d in MINI_REGISTRY["departments"] if d["id"] == dept_id)


def make_text(rng: random.Random, dept_id: str, *, mix: float = 0.4) -> tuple[str, str]:
    """A title and body about ``dept_id``'s topics; with probability ``mix`` one topic of another department."""
    words = rng.sample(TOPICS[dept_id], 3)
    if rng.random() < mix:
        words[2] = rng.choice(TOPICS[rng.choice([d for d in TOPICS if d != dept_id])])
    title = f"关于加强{words[0]}工作的建议"
    body = "。".join(
        [f"当前{words[0]}方面存在不少问题，{rng.choice(FILLER)}", f"{words[1]}和{words[2]}需要统筹推进",
         f"{rng.choice(FILLER)}，{rng.choice(FILLER)}"]
    ) + "。"
    return title, body


def closed_rows(n_per_dept: int = 24, years: tuple[int, ...] = (2022, 2023, 2024), seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    k = 0
    for dept_id in TOPICS:
        for i in range(n_per_dept):
            k += 1
            year = years[i % len(years)]
            title, body = make_text(rng, dept_id)
            lead = OLD_NAMES.get(dept_id, dept_name(dept_id)) if year == 2022 and i % 2 else dept_name(dept_id)
            co = dept_name(CO[dept_id]) if dept_id in CO and i % 3 == 0 else ""
            rows.append({
                "编号": f"{year}-{k:04d}", "类型": "建议" if k % 2 else "提案", "年度": year, "标题": title,
                "内容": body, "提案人": f"代表{k}", "主办单位": lead, "协办单位": co,
                "交办日期": f"{year}-03-{1 + i % 20:02d}", "答复内容": f"已会同有关方面研究办理{title}。",
                "答复类别": "ABC"[k % 3], "满意度": ["满意", "基本满意", "不满意"][k % 5 % 3],
                "办结日期": f"{year}-{5 + (k % 4):02d}-15",
            })
    return rows


def write_csv(rows: list[dict], path: Path, encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADERS)
        w.writeheader()
        for row in rows:
            w.writerow({h: row.get(h, "") for h in HEADERS})
    return path

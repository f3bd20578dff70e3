"""A store filled through the API for the supervision ledger and the periodic report: cases assigned in the first half
of 2026, some closed on time, some late, some overdue, some 不满意, one reopened, and cases outside the range."""

from __future__ import annotations

from tests.api.conftest import H

START, END = "2026-01-01", "2026-06-30"
FORMULA_TITLE = '=HYPERLINK("http://example.invalid","点我")'

# (case_no, title, lead, assigned_on, due_on or None, outcomes)
CASES = [
    ("JY-01", "关于加装电梯的建议", "住建局", "2026-01-10", None,
     [{"reply": "已办", "category": "A", "feedback": "满意", "closed_on": "2026-03-01"}]),
    ("JY-02", "关于物业管理的建议", "住建局", "2026-01-10", None,
     [{"reply": "已办", "category": "B", "feedback": "不满意", "closed_on": "2026-05-01"},
      {"reply": "重新办理中", "category": "B", "reopen": True}]),
    ("JY-03", FORMULA_TITLE, "住建局", "2026-01-10", None, []),
    ("JY-04", "关于老旧小区改造的建议", "住建局", "2026-04-05", None, []),
    ("JY-05", "关于停车难的建议", "住建局", "2026-03-01", None,
     [{"reply": "已办", "category": "A", "feedback": "满意", "closed_on": "2026-07-10"}]),
    ("TA-01", "关于学位供给的提案", "教育局", "2026-02-01", None,
     [{"reply": "已办", "category": "C", "feedback": "基本满意", "closed_on": "2026-04-01"}]),
    ("TA-02", "关于课后服务的提案", "教育局", "2026-02-01", None,
     [{"reply": "已办", "category": "A", "feedback": "不满意", "closed_on": "2026-06-15"}]),
    ("TA-03", "关于校园安全的提案", "教育局", "2026-03-20", "2026-06-20", []),
    ("TA-04", "关于农村道路的提案", "农业农村局", "2026-02-01", None,
     [{"reply": "已办", "category": "A", "closed_on": "2026-03-01"}]),
    ("OLD-1", "关于去年事项的建议", "住建局", "2025-12-01", None, []),
    ("NEW-1", "关于下半年事项的建议", "教育局", "2026-07-05", None, []),
]


def fill(client) -> dict[str, int]:
    """Create, assign and answer the cases above; returns case_no -> id."""
    ids = {}
    for case_no, title, lead, assigned_on, due_on, outcomes in CASES:
        r = client.post("/api/v1/cases", json={"case_no": case_no, "title": title, "year": 2026, "route": False},
                        headers=H["assigner"])
        assert r.status_code == 201, r.text
        ids[case_no] = r.json()["id"]
        decision = {"lead": lead, "assigned_on": assigned_on, **({"due_on": due_on} if due_on else {})}
        r = client.post(f"/api/v1/cases/{ids[case_no]}/decision", json=decision, headers=H["assigner"])
        assert r.status_code == 201, r.text
        for outcome in outcomes:
            r = client.post(f"/api/v1/cases/{ids[case_no]}/outcome", json=outcome, headers=H["drafter"])
            assert r.status_code == 201, r.text
    return ids


def supervisor_key(client) -> dict[str, str]:
    r = client.post("/api/v1/keys", json={"name": "督查室", "role": "supervisor"}, headers=H["admin"])
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["key"]}


# Written independently of models/supervision.py: per lead unit, as of END, for cases assigned from START to END.
DIRECT_SQL = """
SELECT lead_id,
       count(*) AS assigned,
       sum(status = 'closed' AND closed_on <= :end) AS closed,
       sum(status = 'closed' AND closed_on <= :end AND closed_on <= due_on) AS on_time,
       sum(status = 'closed' AND closed_on <= :end AND closed_on > due_on) AS closed_late,
       sum(NOT (status = 'closed' AND closed_on <= :end)) AS open,
       sum(NOT (status = 'closed' AND closed_on <= :end) AND due_on < :end) AS overdue,
       sum(NOT (status = 'closed' AND closed_on <= :end) AND due_on >= :end AND due_on <= date(:end, '+14 days'))
           AS due_soon,
       sum(status = 'closed' AND closed_on <= :end AND category = 'A') AS a,
       sum(status = 'closed' AND closed_on <= :end AND feedback IN ('满意', '基本满意')) AS satisfied,
       sum(status = 'closed' AND closed_on <= :end AND feedback != '') AS with_feedback,
       sum(EXISTS (SELECT 1 FROM outcomes o WHERE o.case_id = cases.id AND o.feedback = '不满意')) AS unsatisfied,
       sum(EXISTS (SELECT 1 FROM outcomes o WHERE o.case_id = cases.id AND o.closed_on IS NULL)) AS reopened
FROM cases
WHERE assigned_on BETWEEN :start AND :end
GROUP BY lead_id
"""


def direct_counts(db_path) -> dict[str, dict]:
    import sqlite3

    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(DIRECT_SQL, {"start": START, "end": END}).fetchall()
    finally:
        conn.close()
    return {r["lead_id"]: dict(r) for r in rows}

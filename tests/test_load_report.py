import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(phases: dict) -> dict:
    return {"date": "2026-12-08 00:00", "machine": {"cpu": "test"}, "encoder": "e5", "encoder_texts": 2000,
            "command": "profile_sheet.py", "phases": phases, "total_s": sum(phases.values()),
            "precedents_one_search_per_row_s": 1.0}


def test_a_phase_a_run_did_not_time_shows_a_dash_not_zero():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import load_report

    runs = {"old": _run({"classifier (model.route)": 3.1}),
            "new": _run({"classifier with the vectors (model.route, blend or stack)": 4.2})}
    text = "\n".join(load_report.profile_section({"runs": runs}))
    assert "| classifier (model.route) | 3.1 | – |" in text
    assert "| classifier with the vectors (model.route, blend or stack) | – | 4.2 |" in text

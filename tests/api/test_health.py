from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import H, make_settings


def test_live_and_ready_need_no_key(client):
    assert client.get("/api/v1/health/live").json() == {"status": "ok", "checks": {}}
    ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["store"] is True and checks["model_loaded"] is True and checks["model_version"]
    assert checks["search_available"] is True and checks["search_note"] is None


def test_without_a_model_the_service_starts_but_is_not_ready(tmp_path):
    with TestClient(create_app(make_settings(tmp_path, None))) as client:
        ready = client.get("/api/v1/health/ready")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "not_ready"
        assert ready.json()["error"]["details"]["model_loaded"] is False
        routed = client.post("/api/v1/route", json={"title": "关于加装电梯的建议"}, headers=H["assigner"])
        assert routed.status_code == 503
        assert routed.json()["error"]["code"] == "model_unavailable"
        assert "jiaoban train" in routed.json()["error"]["message"]
        # Cases can still be registered and assigned by hand.
        case = client.post("/api/v1/cases", json={"title": "关于加装电梯的建议"}, headers=H["assigner"]).json()
        assert case["suggestion"] is None
        decision = client.post(f"/api/v1/cases/{case['id']}/decision", json={"lead": "住建局"}, headers=H["assigner"])
        assert decision.status_code == 201 and decision.json()["accepted"] is None

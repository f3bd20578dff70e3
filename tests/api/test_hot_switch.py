"""A hot switch of the model under 20 concurrent clients fails no request (issue #14): the service on loopback,
20 threads routing while an admin promotes another version and rolls back, several times over."""

import threading

import httpx

from tests.api.conftest import H

CLIENTS = 20
REQUESTS_EACH = 12
SWITCHES = 6
ITEM = {"title": "关于加快老旧小区加装电梯的建议", "body": "老旧小区加装电梯。"}


def test_promote_and_rollback_under_20_clients_fail_no_request(served):
    base = served
    with httpx.Client(base_url=base, timeout=60) as admin:
        original = admin.get("/api/v1/models/active", headers=H["drafter"]).json()["version"]
    other = f"{original}-copy"
    results: list[tuple[int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            start.wait()
            for _ in range(REQUESTS_EACH):
                r = c.post("/api/v1/route", json=ITEM, headers=H["assigner"])
                version = r.json().get("model_version", "") if r.status_code == 200 else r.text[:200]
                with lock:
                    results.append((r.status_code, version))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    switches, answered_at_switch = [], []
    with httpx.Client(base_url=base, timeout=60) as admin:
        start.wait()
        i = 0  # switch at least SWITCHES times, and on while the clients are still sending (bounded)
        while i < SWITCHES or (any(t.is_alive() for t in threads) and i < 10 * SWITCHES):
            r = (admin.post(f"/api/v1/models/{other}/promote", headers=H["admin"]) if i % 2 == 0
                 else admin.post("/api/v1/models/rollback", headers=H["admin"]))
            switches.append(r.status_code)
            with lock:
                answered_at_switch.append(len(results))
            i += 1
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert switches == [200] * len(switches)
    assert min(answered_at_switch) < CLIENTS * REQUESTS_EACH  # the switches happened under load
    assert len(results) == CLIENTS * REQUESTS_EACH
    failed = [r for r in results if r[0] != 200]
    assert not failed, failed[:5]
    assert {v for _, v in results} <= {original, other}

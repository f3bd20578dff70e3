"""API keys: roles, salted hashes, start-up provisioning and verification.

Keys are never stored or logged in clear: each is kept as SHA-256 over a per-key random salt and the key.
Keys from ``JIAOBAN_API_KEYS`` are (re)provisioned at every start; the ones removed from the setting are revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import sys
from dataclasses import dataclass

from api.config import ROLES, Settings
from api.store import Store

logger = logging.getLogger(__name__)

# What each role may do; admin may do everything.
# supervisor (督查室) reads everything and writes nothing but reports; a drafter's key may name its unit, and then
# sees and acts on its unit's cases only (api/scope.py).
PERMISSIONS: dict[str, set[str]] = {
    "route": {"assigner"},
    "decide": {"assigner"},
    "create_case": {"assigner"},
    "read": {"assigner", "drafter", "supervisor"},
    "search": {"assigner", "drafter", "supervisor"},
    "record_outcome": {"drafter"},
    "request_reassignment": {"drafter"},
    "report": {"supervisor"},
    "remind": {"supervisor"},
    "acknowledge_reminder": {"drafter"},
    "whoami": {"assigner", "drafter", "supervisor"},
}


ACTIONS = ("route", "decide", "create_case", "read", "search", "record_outcome", "request_reassignment", "report",
           "remind", "acknowledge_reminder", "admin")


def roles_for(action: str) -> list[str]:
    """The roles that may perform ``action``: admin first, then the others in alphabetical order."""
    return ["admin", *sorted(PERMISSIONS.get(action, ()))]


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: str
    unit_id: str | None = None  # a drafter key of one unit: it sees and acts on that unit's cases only

    def can(self, action: str) -> bool:
        return self.role == "admin" or self.role in PERMISSIONS.get(action, set())


def hash_key(key: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()


def new_key() -> str:
    return "jb_" + secrets.token_urlsafe(24)


def create_key(store: Store, *, name: str, role: str, source: str = "admin", key: str | None = None,
               unit_id: str | None = None) -> tuple[int, str]:
    """Store a new key (a random one unless given) and return (id, key). The clear key is not kept."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    key = key or new_key()
    salt = secrets.token_hex(16)
    key_id = store.add_key(name=name, role=role, salt=salt, hash=hash_key(key, salt), prefix=key[:6], source=source,
                           unit_id=unit_id)
    return key_id, key


def verify(store: Store, key: str) -> Principal | None:
    """The principal a presented key belongs to, or None. Every active key is compared in constant time."""
    found = None
    for row in store.keys():
        if hmac.compare_digest(hash_key(key, row["salt"]), row["hash"]) and found is None:
            found = Principal(key_id=row["id"], name=row["name"], role=row["role"], unit_id=row["unit_id"])
    return found


def provision_keys(store: Store, settings: Settings) -> str | None:
    """Make the store's keys match the settings at start-up.

    Returns a freshly generated development admin key when the settings name none (development only), so the
    caller can print it once; otherwise None.
    """
    wanted = settings.parsed_api_keys
    existing = store.keys()
    env_rows = [r for r in existing if r["source"] == "env"]
    keep: set[int] = set()
    for i, (role, key) in enumerate(wanted, start=1):
        match = next((r for r in env_rows if r["role"] == role and hmac.compare_digest(
            hash_key(key, r["salt"]), r["hash"])), None)
        if match:
            keep.add(match["id"])
        else:
            keep.add(create_key(store, name=f"env-{role}-{i}", role=role, source="env", key=key)[0])
    stale = [r["id"] for r in env_rows if r["id"] not in keep]
    # A development key lives as long as the process that printed it.
    stale += [r["id"] for r in existing if r["source"] == "dev"]
    if store.revoke_keys(stale):
        logger.info("revoked %d API keys no longer configured", len(stale))
    if wanted or settings.env != "development":
        return None
    _, key = create_key(store, name="development-admin", role="admin", source="dev")
    return key


def announce_dev_key(key: str) -> None:
    """Print the generated key once, to stdout only (never to the log)."""
    print(
        "\n[jiaoban] 开发模式：未配置 JIAOBAN_API_KEYS，已生成本次运行有效的管理员密钥：\n"
        f"    {key}\n"
        "[jiaoban] 请求时放在请求头 X-API-Key 中；生产环境请设置 JIAOBAN_API_KEYS。\n",
        file=sys.stdout,
        flush=True,
    )

"""The store's schema, as named migrations applied in order (never edited once released: add a new one).

The same migrations run on SQLite and on PostgreSQL (``models.db.translate`` adapts them), so a migration and the
store's queries keep to the SQL both understand:

- Types: INTEGER, TEXT, REAL, BLOB only (PostgreSQL gets DOUBLE PRECISION for REAL, BYTEA for BLOB). A table's key
  is ``id INTEGER PRIMARY KEY`` (an identity column on PostgreSQL); new rows are inserted with ``conn.insert(...)``,
  which returns the id (``RETURNING id`` / ``lastrowid``), never with ``AUTOINCREMENT`` or ``cursor.lastrowid``.
- Dates and times are ISO-8601 TEXT; flags are INTEGER 0/1 (a Python bool is sent as 0/1); JSON is TEXT, parsed
  in Python: no ``json_extract``/``json_each``/``->>``; a JSON list of ids is searched with ``LIKE '%"id"%'``.
- Placeholders are ``?`` (or ``:name`` with a dict); no literal ``?`` in SQL text. No ``WHERE 0``: write ``1 = 0``.
  LIKE patterns escape with ``like_escape`` and ``ESCAPE '\\'``.
- Upserts: ``INSERT ... ON CONFLICT (cols) DO NOTHING`` / ``DO UPDATE SET col = excluded.col``; no ``INSERT OR
  REPLACE``/``IGNORE``. ``ALTER TABLE ... ADD COLUMN`` one column per statement; no column drops or renames.
- A write that reads before it decides locks what it reads: ``SELECT ... FOR UPDATE`` (``SKIP LOCKED`` for queue
  claims) at the end of the statement; SQLite drops the clause, its writers hold the whole file.
- No PRAGMA, no SQLite-only functions (``ifnull``, ``group_concat``, ``strftime``), no PostgreSQL-only ones
  (``now()``, ``::`` casts, ``ILIKE``); ``coalesce``, ``count``, ``min``/``max``, ``EXISTS`` and subqueries are fine.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, list[str]]] = [
    ("0001_cases", [
        """CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            case_no TEXT UNIQUE,
            kind TEXT NOT NULL DEFAULT '',
            year INTEGER,
            title TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            proposer TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'closed')),
            lead_id TEXT,
            co_ids TEXT NOT NULL DEFAULT '[]',
            assigned_on TEXT,
            due_on TEXT,
            closed_on TEXT,
            category TEXT NOT NULL DEFAULT '',
            feedback TEXT NOT NULL DEFAULT '',
            suggestion TEXT,
            source TEXT NOT NULL DEFAULT 'api',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX cases_status_due ON cases (status, due_on)",
        "CREATE INDEX cases_year ON cases (year)",
        "CREATE INDEX cases_lead ON cases (lead_id)",
    ]),
    ("0002_decisions_outcomes", [
        """CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            lead_id TEXT NOT NULL,
            co_ids TEXT NOT NULL DEFAULT '[]',
            accepted INTEGER,
            suggestion TEXT,
            assigned_on TEXT,
            due_on TEXT,
            note TEXT NOT NULL DEFAULT '',
            decided_by TEXT NOT NULL,
            key_id INTEGER,
            decided_at TEXT NOT NULL
        )""",
        "CREATE INDEX decisions_case ON decisions (case_id, id)",
        """CREATE TABLE outcomes (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            reply TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL DEFAULT '',
            feedback TEXT NOT NULL DEFAULT '',
            closed_on TEXT,
            recorded_by TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )""",
        "CREATE INDEX outcomes_case ON outcomes (case_id, id)",
    ]),
    ("0003_registry_and_keys", [
        """CREATE TABLE registry_snapshots (
            id INTEGER PRIMARY KEY,
            data TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            salt TEXT NOT NULL,
            hash TEXT NOT NULL,
            prefix TEXT NOT NULL,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""",
    ]),
    ("0004_sessions_jobs", [
        # A session (会次): the sheets uploaded for one meeting; each row is an item with a case of its own.
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            held_on TEXT,
            kind TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE session_uploads (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id),
            file_name TEXT NOT NULL,
            file_hash TEXT NOT NULL,
            rows_read INTEGER NOT NULL,
            added INTEGER NOT NULL,
            changed INTEGER NOT NULL,
            unchanged INTEGER NOT NULL,
            missing INTEGER NOT NULL,
            errors TEXT NOT NULL DEFAULT '[]',
            columns TEXT NOT NULL DEFAULT '{}',
            uploaded_by TEXT NOT NULL,
            uploaded_at TEXT NOT NULL
        )""",
        "CREATE INDEX session_uploads_session ON session_uploads (session_id, id)",
        # match_key: 'no:' + 编号, or 'text:' + content hash + '#' + occurrence when the sheet has no 编号.
        """CREATE TABLE session_rows (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id),
            sheet_row INTEGER NOT NULL,
            match_key TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            in_latest INTEGER NOT NULL DEFAULT 1,
            result TEXT,
            vector BLOB,
            group_no INTEGER,
            group_similarity REAL,
            group_manual INTEGER NOT NULL DEFAULT 0,
            routed_at TEXT,
            UNIQUE (session_id, match_key)
        )""",
        "CREATE INDEX session_rows_session ON session_rows (session_id, sheet_row)",
        "CREATE INDEX session_rows_case ON session_rows (case_id)",
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            session_id INTEGER REFERENCES sessions (id),
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            total INTEGER NOT NULL DEFAULT 0,
            done INTEGER NOT NULL DEFAULT 0,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            worker TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX jobs_status ON jobs (status, id)",
        # A retried request with the same Idempotency-Key answers what the first one answered.
        """CREATE TABLE idempotent_requests (
            key TEXT NOT NULL,
            principal TEXT NOT NULL,
            route TEXT NOT NULL,
            status INTEGER NOT NULL,
            response TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (key, principal)
        )""",
    ]),
    ("0005_scoped_keys_reassignments", [
        "ALTER TABLE api_keys ADD COLUMN unit_id TEXT",
        # 退办/改办: a unit asks for an item to go elsewhere; an assigner approves (a new decision) or refuses.
        """CREATE TABLE reassignments (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            unit_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            suggested_id TEXT,
            status TEXT NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'approved', 'refused')),
            requested_by TEXT NOT NULL,
            key_id INTEGER,
            requested_at TEXT NOT NULL,
            decided_by TEXT,
            decided_at TEXT,
            answer TEXT NOT NULL DEFAULT '',
            decision_id INTEGER REFERENCES decisions (id)
        )""",
        "CREATE INDEX reassignments_case ON reassignments (case_id, id)",
        "CREATE INDEX reassignments_status ON reassignments (status, id)",
    ]),
    ("0006_reminders", [
        # 催办: the supervision office presses a unit about an open item; the unit's drafters acknowledge it.
        """CREATE TABLE reminders (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            unit_id TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            due_on TEXT,
            sent_by TEXT NOT NULL,
            key_id INTEGER,
            sent_at TEXT NOT NULL,
            acknowledged_by TEXT,
            acknowledged_at TEXT
        )""",
        "CREATE INDEX reminders_case ON reminders (case_id, id)",
        "CREATE INDEX reminders_unit ON reminders (unit_id, id)",
    ]),
    ("0007_model_promotions", [
        # The model version in service, for every replica: the latest row wins; replicas poll it (api.model_sync).
        """CREATE TABLE model_promotions (
            id INTEGER PRIMARY KEY,
            version TEXT NOT NULL,
            action TEXT NOT NULL,
            promoted_by TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
            promoted_at TEXT NOT NULL
        )""",
    ]),
    # Reply aids (issue 17): advice staff dismissed (recorded, never blocking), confirmed publication-ready replies,
    # and each recorded reply's coverage of the item's points (the ledger's "points answered").
    ("0008_reply_aids", [
        """CREATE TABLE aid_dismissals (
            id INTEGER PRIMARY KEY,
            case_id INTEGER REFERENCES cases (id),
            aid TEXT NOT NULL,
            code TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            dismissed_by TEXT NOT NULL,
            key_id INTEGER,
            dismissed_at TEXT NOT NULL
        )""",
        "CREATE INDEX aid_dismissals_case ON aid_dismissals (case_id, id)",
        """CREATE TABLE publications (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases (id),
            outcome_id INTEGER REFERENCES outcomes (id),
            title TEXT NOT NULL,
            reply TEXT NOT NULL,
            masked INTEGER NOT NULL DEFAULT 0,
            confirmed_by TEXT NOT NULL,
            key_id INTEGER,
            confirmed_at TEXT NOT NULL
        )""",
        "CREATE INDEX publications_case ON publications (case_id, id)",
        """CREATE TABLE reply_coverage (
            outcome_id INTEGER NOT NULL REFERENCES outcomes (id),
            case_id INTEGER NOT NULL REFERENCES cases (id),
            points INTEGER NOT NULL,
            answered INTEGER NOT NULL,
            computed_at TEXT NOT NULL,
            PRIMARY KEY (outcome_id)
        )""",
        "CREATE INDEX reply_coverage_case ON reply_coverage (case_id, outcome_id)",
    ]),
]

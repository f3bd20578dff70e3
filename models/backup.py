"""Online backup and restore of the SQLite case store, safe while the service runs (SQLite's backup API, WAL).
SQLite only: a PostgreSQL store (``JIAOBAN_DATABASE_URL``) is backed up with pg_dump (docs/scaling.md).

The copy is made page by page inside SQLite, so concurrent writers are never blocked for long and the copy is a
consistent snapshot; it is checked (``PRAGMA integrity_check``, the migrations table) before it is kept. Restore
checks the backup the same way and replaces the store file atomically; the service must be stopped first.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path


class BackupError(RuntimeError):
    """A backup or restore that cannot be made; the message says what to do."""


def refuse_postgres(database_url: str) -> None:
    """Backup and restore here are for the SQLite file only; a PostgreSQL store has its own tools."""
    if database_url:
        raise BackupError("案件库在 PostgreSQL 中（JIAOBAN_DATABASE_URL）：jiaoban backup/restore 只处理 SQLite "
                          "文件；请用 pg_dump -Fc 备份、pg_restore 恢复（见 docs/scaling.md），或用 --database 指定 "
                          "SQLite 文件")


def check_store_file(path: Path) -> list[str]:
    """The migrations applied in a store file; raises BackupError when it is not a sound case store."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"文件“{path}”已损坏（{verdict}），不能使用")
            return [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"文件“{path}”不是交办助手的案件库（{exc}）") from None


def backup_store(database: str | Path, target: str | Path) -> list[str]:
    """Copy the store to ``target`` (a new file) while it may be in use. Returns the migrations it holds."""
    database, target = Path(database), Path(target)
    if not database.is_file():
        raise BackupError(f"找不到案件库 {database}：请检查 JIAOBAN_DATABASE 或 --database")
    if target.exists():
        raise BackupError(f"备份文件 {target} 已存在：请换一个文件名，不会覆盖已有备份")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(sqlite3.connect(database)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst, pages=256)
        migrations = check_store_file(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return migrations


def restore_store(backup: str | Path, database: str | Path) -> list[str]:
    """Replace the store with a checked backup (the service must be stopped). The store it replaces is kept beside
    it as ``<name>.before-restore``. Returns the migrations the restored store holds."""
    backup, database = Path(backup), Path(database)
    if not backup.is_file():
        raise BackupError(f"找不到备份文件 {backup}")
    migrations = check_store_file(backup)
    database.parent.mkdir(parents=True, exist_ok=True)
    staged = database.with_name(database.name + ".restoring")
    with closing(sqlite3.connect(backup)) as src, closing(sqlite3.connect(staged)) as dst:
        src.backup(dst)
    if database.exists():
        os.replace(database, database.with_name(database.name + ".before-restore"))
    for suffix in ("-wal", "-shm"):  # the old store's write-ahead log must not be replayed onto the backup
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.replace(staged, database)
    return migrations

"""``python -m api.copy_store var/jiaoban.db postgresql://…``: copy a SQLite case store into an empty PostgreSQL
one, every table and row with its id (history, sessions, jobs, keys), for a service that outgrows one file.

The SQLite file is first brought to this program's migrations (as a start of the service would), the PostgreSQL
database gets the same schema, and the rows are copied table by table in the order the migrations created them
(so references point backwards), in one transaction: on any error nothing is left in the target. Each table's id
sequence then continues after the copied ids. Stop the service first; beyond that upgrade the file is only read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from api.store import Store, StoreError

BATCH = 1000


def copy_store(source: str | Path, target_url: str) -> dict[str, int]:
    """Copy every table of the SQLite store ``source`` into the empty PostgreSQL store ``target_url``.

    Returns:
        Rows copied per table.

    Raises:
        StoreError: the source is not a SQLite file, the target not PostgreSQL, or the target holds rows already.
    """
    if not Path(source).is_file():
        raise StoreError(f"找不到 SQLite 案件库 {source}")
    src, dst = Store(Path(source)), Store(target_url)
    if dst.dialect != "postgresql":
        raise StoreError("目标应为 postgresql:// 开头的数据库地址")
    src.open()
    dst.open()
    with src.reader() as s:
        tables = [r[0] for r in s.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                                          "'sqlite_%' AND name != 'migrations' ORDER BY rowid")]
    copied: dict[str, int] = {}
    try:
        with src.reader() as s, dst.transaction() as d:
            for table in tables:
                if d.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
                    raise StoreError(f"目标数据库的 {table} 表已有数据：请复制到一个新建的空数据库")
                cur = s.execute(f"SELECT * FROM {table}")
                cols = [c[0] for c in cur.description]
                sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                copied[table] = 0
                while rows := cur.fetchmany(BATCH):
                    d.executemany(sql, [tuple(r) for r in rows])
                    copied[table] += len(rows)
                if "id" in cols:  # new rows continue after the copied ids
                    d.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
    finally:
        src.close()
        dst.close()
    return copied


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print("用法：python -m api.copy_store SQLite案件库文件 postgresql://用户:密码@主机:端口/库名\n"
              "把 SQLite 案件库的全部表和记录复制到一个新建的空 PostgreSQL 数据库（先停止服务）。\n"
              "例：python -m api.copy_store var/jiaoban.db postgresql://jiaoban@127.0.0.1:5432/jiaoban")
        return 0 if args and args[0] in ("-h", "--help") else 2
    try:
        copied = copy_store(args[0], args[1])
    except StoreError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    print("已复制：" + "，".join(f"{t} {n} 行" for t, n in copied.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

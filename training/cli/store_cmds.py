"""jiaoban backup / restore: an online copy of the SQLite case store, and putting one back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from models.backup import backup_store, refuse_postgres, restore_store
from training.cli.common import out, settings

DbOpt = Annotated[Path | None, typer.Option("--database", help="案件库文件（默认：JIAOBAN_DATABASE）")]


def backup_cmd(
    target: Annotated[Path, typer.Argument(help="备份文件（新文件，不覆盖已有的）")],
    database: DbOpt = None,
) -> None:
    """在线备份案件库（服务运行中也可以）：逐页复制并校验完整性。

    例：jiaoban backup var/backups/jiaoban-20261201.db
    """
    if database is None:
        refuse_postgres(settings().database_url)
    migrations = backup_store(database or settings().database, target)
    out.print(f"已备份到 {target}（{len(migrations)} 个迁移，完整性校验通过）")


def restore_cmd(
    backup: Annotated[Path, typer.Argument(help="由 jiaoban backup 生成的备份文件")],
    database: DbOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="确认已停止服务，用备份替换当前案件库")] = False,
) -> None:
    """用备份替换案件库（先停止服务）；原文件保留为 <文件名>.before-restore。

    例：jiaoban restore var/backups/jiaoban-20261201.db --yes
    """
    if database is None:
        refuse_postgres(settings().database_url)
    target = database or settings().database
    if not yes:
        raise typer.BadParameter("恢复会替换当前案件库：请先停止服务，再加 --yes 确认", param_hint="--yes")
    migrations = restore_store(backup, target)
    out.print(f"已用 {backup} 恢复案件库 {target}（{len(migrations)} 个迁移）；原文件保留为 {target.name}.before-restore")

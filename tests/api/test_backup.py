"""jiaoban backup copies the store while the service writes to it; jiaoban restore puts a checked copy back."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from models.backup import BackupError
from tests.api.conftest import H, sqlite_file
from training.cli import app as cli

runner = CliRunner()


@sqlite_file
def test_online_backup_and_restore(tmp_path, settings):
    db = settings.database
    backup = tmp_path / "backups" / "store.db"
    with TestClient(create_app(settings)) as client:
        first = client.post("/api/v1/cases", json={"title": "关于加装电梯的建议"}, headers=H["assigner"]).json()
        res = runner.invoke(cli, ["backup", str(backup), "--database", str(db)])  # the service is running
        assert res.exit_code == 0, res.output
        assert "完整性校验通过" in res.stdout
        again = runner.invoke(cli, ["backup", str(backup), "--database", str(db)])
        assert again.exit_code != 0 and "已存在" in str(again.exception)  # never overwrites a backup
        later = client.post("/api/v1/cases", json={"title": "关于学位的建议"}, headers=H["assigner"]).json()

    refused = runner.invoke(cli, ["restore", str(backup), "--database", str(db)])
    assert refused.exit_code != 0 and "--yes" in refused.output
    res = runner.invoke(cli, ["restore", str(backup), "--database", str(db), "--yes"])
    assert res.exit_code == 0, res.output
    assert db.with_name(db.name + ".before-restore").is_file()
    with TestClient(create_app(settings)) as client:
        assert client.get(f"/api/v1/cases/{first['id']}", headers=H["assigner"]).status_code == 200
        assert client.get(f"/api/v1/cases/{later['id']}", headers=H["assigner"]).status_code == 404


@sqlite_file
def test_a_damaged_backup_is_refused_and_the_store_is_kept(tmp_path, settings):
    with TestClient(create_app(settings)) as client:
        client.post("/api/v1/cases", json={"title": "关于加装电梯的建议"}, headers=H["assigner"])
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x07" * 5000)
    before = settings.database.read_bytes()
    res = runner.invoke(cli, ["restore", str(junk), "--database", str(settings.database), "--yes"])
    assert res.exit_code != 0 and "案件库" in str(res.exception)
    assert settings.database.read_bytes() == before
    missing = runner.invoke(cli, ["backup", str(tmp_path / "b.db"), "--database", str(tmp_path / "nope.db")])
    assert missing.exit_code != 0 and "找不到案件库" in str(missing.exception)


def test_backup_and_restore_refuse_a_postgresql_store_and_name_its_tools(tmp_path, monkeypatch):
    monkeypatch.setenv("JIAOBAN_DATABASE_URL", "postgresql://jiaoban@127.0.0.1:1/jiaoban")
    for args in (["backup", str(tmp_path / "b.db")], ["restore", str(tmp_path / "b.db"), "--yes"]):
        result = CliRunner().invoke(cli, args)
        assert isinstance(result.exception, BackupError) and "pg_dump" in str(result.exception)
        assert not (tmp_path / "b.db").exists()


"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries (``make test`` installs them), a data
directory in a temporary folder, a free loopback port, trust authentication, stopped and removed at the end.

PostgreSQL refuses to run as root; as root the cluster runs as the ``postgres`` user (``runuser``). When no server
can start, ``start`` raises ``Unavailable`` with the reason, and the PostgreSQL tests skip with it.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "jiaoban"


class Unavailable(RuntimeError):
    """No PostgreSQL server can be started here (the message says why)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise Unavailable("未找到 PostgreSQL 服务器程序（initdb）：请运行 make test（安装 Debian 的 postgresql 包）")


class Cluster:
    """``start()`` a server, ``database()`` a fresh database URL per test, ``stop()`` at the end."""

    def __init__(self) -> None:
        self.port = 0
        self.dir: Path | None = None
        self._names = itertools.count(1)
        self._as: list[str] = []

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=timeout)

    def start(self) -> Cluster:
        bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="jiaoban-pg-"))
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                raise Unavailable("以 root 运行时需要 runuser 切换到 postgres 用户")
            try:
                shutil.chown(self.dir, "postgres", "postgres")
            except (LookupError, OSError) as exc:
                raise Unavailable(f"以 root 运行时需要 postgres 用户（{exc}）") from None
            self._as = ["runuser", "-u", "postgres", "--"]
        data, self.port = self.dir / "data", free_port()
        done = self._run(str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8",
                         "--locale=C")
        if done.returncode != 0:
            raise Unavailable(f"initdb 失败：{done.stderr.strip()[-400:]}")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        done = self._run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.dir / "log"),
                         "-w", "-t", "60", "start")
        if done.returncode != 0:
            log = (self.dir / "log").read_text(errors="replace")[-400:] if (self.dir / "log").exists() else ""
            raise Unavailable(f"PostgreSQL 未能启动：{done.stderr.strip()[-300:]} {log}")
        self._bindir = bindir
        return self

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.dir is None:
            return
        if (self.dir / "data" / "postmaster.pid").exists():
            self._run(str(self._bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop",
                      timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

"""Servers for the tests and benchmarks, from Debian's packages. A throwaway PostgreSQL cluster: Debian's server binaries (``make test`` installs them), a data
directory in a temporary folder, a free loopback port, trust authentication, stopped and removed at the end.

PostgreSQL refuses to run as root; as root the cluster runs as the ``postgres`` user (``runuser``). When no server
can start, ``start`` raises ``Unavailable`` with the reason, and the PostgreSQL tests skip with it. And the
repository's nginx configuration (docs/deploy/nginx.conf) rewritten for given ports and a private folder.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "jiaoban"
ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


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


def nginx_conf(port: int, upstreams: list[int], work: Path) -> str:
    """The repository's nginx.conf with this test's ports and a private pid file, logs and temp folders."""
    conf = (ROOT / "docs" / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    conf = conf.replace("listen 127.0.0.1:8000;", f"listen 127.0.0.1:{port};")
    servers = "".join(f"        server 127.0.0.1:{p} max_fails=3 fail_timeout=5s;\n" for p in upstreams)
    conf = re.sub(r"(        server 127\.0\.0\.1:800\d [^\n]*\n)+", servers, conf)
    conf = conf.replace("pid /run/jiaoban-nginx.pid;", f"pid {work}/nginx.pid;")
    conf = conf.replace("error_log /var/log/nginx/jiaoban-error.log warn;", f"error_log {work}/error.log warn;")
    temps = "".join(f"    {name}_temp_path {work}/{name};\n" for name in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = conf.replace("http {\n", "http {\n" + temps, 1)
    return ("user root;\n" if os.geteuid() == 0 else "") + conf

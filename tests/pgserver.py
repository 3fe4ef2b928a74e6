"""A throwaway PostgreSQL server for the tests and benchmarks: its own cluster in a temporary folder.

Run as the `postgres` user when we are root (initdb refuses root). Password
logins over TCP (scram-sha-256), trust on the private Unix socket for setup.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "test-superuser-pw"


def find_bindir() -> Path | None:
    """The folder of initdb/pg_ctl: pg_config's answer, else the newest Debian layout."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return Path(env)
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(out) / "pg_ctl").exists():
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: Path, fsync: bool = False) -> None:
        self.bindir = bindir
        self.fsync = fsync
        self.root = Path(tempfile.mkdtemp(prefix="skype-etl-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=True, cwd=self.root)

    def start(self) -> PostgresServer:
        self.socket_dir.mkdir()
        pwfile = self.root / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if self.as_postgres:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket_dir, "postgres")
            shutil.chown(pwfile, "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--pwfile",
            str(pwfile),
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        )
        self.run_server()
        return self

    def run_server(self) -> None:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=50"
        )
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "60", "start")

    def halt(self) -> None:
        """Stop the server as a crash would (its files stay; `run_server` brings it back)."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- for tests ------------------------------------------------------------------
    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str | None = SUPERUSER_PASSWORD) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the Unix socket; returns psql's output."""
        return self.psql(database, "-At", "-c", sql)

    def psql(self, database: str, *args: str, script: str | None = None) -> str:
        """psql as the superuser over the Unix socket, stopping at the first error; `script` goes to its stdin."""
        command = [str(self.bindir / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER]
        command += ["-d", database, "-v", "ON_ERROR_STOP=1", *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, input=script, capture_output=True, text=True, check=True).stdout.strip()

    def restore(self, dump: Path) -> str:
        """A new database holding what a plain-SQL pg_dump file holds; returns its name."""
        name = self.create_database()
        self.psql(name, "-q", "-f", "-", script=dump.read_text())
        return name

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.admin(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        for _ in range(20):
            try:
                self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                return
            except subprocess.CalledProcessError:
                time.sleep(0.1)

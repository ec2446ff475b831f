"""A throwaway PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port), so a fault
test can crash and restart "the database" without touching the machine's shared server."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.deployed import free_port


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: p.split("/")[4])
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """initdb into a temporary folder and run it on 127.0.0.1:<free port> (trust auth)."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
        self.bin = bin_dir
        # PostgreSQL refuses to run as root: as root, the cluster belongs to `postgres`, in a
        # folder it can reach (pytest's tmp_path under /tmp/pytest-of-root is root's only).
        self.as_user: list[str] = []
        self.home = Path(tempfile.mkdtemp(prefix="iqa-faults-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}\n{log}")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def crash(self) -> None:
        """Stop at once, as a crash would (no checkpoint; the next start recovers from WAL)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def tool(self, tool: str, *args: str) -> None:
        """Run a client tool (createdb, pg_restore...) of the same version against it."""
        subprocess.run(
            [str(self.bin / tool), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             *args],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def pg_tool(tool: str) -> str:
    """The client tool of the newest installed version (pg_dump must be >= the server's)."""
    bin_dir = _bin_dir()
    found = bin_dir / tool if bin_dir else None
    return str(found) if found and found.exists() else (shutil.which(tool) or tool)

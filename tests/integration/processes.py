"""Real processes for the integration tests: Celery workers, a gunicorn web server, and Redis
and PostgreSQL servers of the test's own (so that a test may stop them without touching the
machine's shared services). Each runs in its own process group, logs to a file, and is
stopped by the test that started it, whatever happens."""

import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.services import require

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def database_url(settings_dict=None):
    """DATABASE_URL of the database this test runs on (pytest-django's test_<name>)."""
    db = settings_dict or connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


def require_postgres_and_redis():
    require(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    require(os.getenv("CELERY_BROKER_URL", "").startswith("redis://"), "Redis (CELERY_BROKER_URL)")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hub_env(**overrides):
    """The environment of a hub process (worker, web server, manage.py): production settings
    (HUB_DEBUG off), plain-text logs, and the given overrides."""
    env = {
        **os.environ,
        "HUB_LOG_FORMAT": "text",
        "HUB_SECRET_KEY": os.getenv("HUB_SECRET_KEY") or "test-only-not-a-secret",
        "HUB_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HUB_SECURE_SSL_REDIRECT": "0",
        "HUB_SECURE_COOKIES": "0",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    env.pop("HUB_DEBUG", None)
    env.update({name: str(value) for name, value in overrides.items()})
    return env


def spawn(command, log, env, cwd=ROOT):
    """Start `command` in a process group of its own, its output appended to `log`."""
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    process.log = Path(log)
    return process


def stop(process, sig=signal.SIGTERM, timeout=20):
    """Stop a process started by `spawn` and everything in its group."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # Children left behind by a killed parent (a worker's pool) go too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def tail(process, lines=60):
    text = process.log.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def children(pid):
    """The ids of a process's direct children (a prefork worker's pool processes)."""
    found = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in Path(task).read_text().split()]
    return found


def wait_for(condition, timeout, what, processes=()):
    """Poll `condition` until it is true; fail naming `what` (and the logs of `processes`
    that died or are still running) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args[:4]} exited ({process.returncode}):\n{tail(process)}")
        if condition():
            return
        time.sleep(0.25)
    logs = "\n".join(f"--- {p.log.name}\n{tail(p)}" for p in processes)
    pytest.fail(f"{what}: not within {timeout} s\n{logs}")


# --- Celery workers -----------------------------------------------------------------------


def start_worker(log, queue, *, concurrency=2, beat=False, **env):
    """A prefork Celery worker of the hub consuming `queue` only, with `env` (DATABASE_URL,
    CELERY_BROKER_URL, HUB_* settings) over hub_env()'s. With beat, it runs Celery beat too
    (the periodic sweep), its schedule beside the log."""
    command = [
        *(sys.executable, "-m", "celery", "-A", "hub", "worker"),
        *("-Q", queue, "-n", f"{queue}@%h", "--pool=prefork", "-c", str(concurrency)),
        *("--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    if beat:
        command += ["--beat", "--schedule", str(Path(log).with_suffix(".beat"))]
    return spawn(command, log, hub_env(**{**env, "HUB_VALIDATION_QUEUE": queue}))


# --- the web server -----------------------------------------------------------------------


def start_server(log, port, **env):
    """gunicorn serving the hub on 127.0.0.1:`port` with `env` over hub_env()'s (one process,
    four threads); returned once /healthz answers."""
    command = [
        *(str(BIN / "gunicorn"), "hub.wsgi", "--bind", f"127.0.0.1:{port}"),
        *("--workers", "1", "--threads", "4", "--timeout", "60", "--log-level", "warning"),
    ]
    server = spawn(command, log, hub_env(**env))
    server.port = port
    wait_for(lambda: _answers(port), 30, "gunicorn answering /healthz", [server])
    return server


def _answers(port):
    try:
        request(port, "GET", "/healthz")
        return True
    except OSError:
        return False


def request(port, method, path, body=None, headers=None, timeout=30):
    """One HTTP request to 127.0.0.1:`port`: (status, headers, body as JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        try:
            content = json.loads(text)
        except ValueError:
            content = text
        return response.status, {k.lower(): v for k, v in response.getheaders()}, content
    finally:
        conn.close()


# --- a Redis server of the test's own -------------------------------------------------------


class RedisServer:
    """redis-server on a free port, without persistence: stopping it loses whatever it held,
    as a broker that crashes does."""

    def __init__(self, directory):
        binary = shutil.which("redis-server")
        self.available = binary is not None
        self.binary = binary
        self.directory = Path(directory)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        command = [
            *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
        ]
        self.process = spawn(command, self.directory / "redis.log", os.environ)
        wait_for(self.answers, 15, "redis-server answering", [self.process])

    def answers(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.process is not None:
            stop(self.process, signal.SIGKILL)
            self.process = None


# --- a PostgreSQL cluster of the test's own -------------------------------------------------


def _postgres_bin():
    """The directory of initdb and pg_ctl: the newest /usr/lib/postgresql/*/bin, or PATH."""
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if versions:
        return Path(versions[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temporary directory, on a free port, trust auth,
    no fsync. PostgreSQL refuses to run as root: as root, its commands run as the postgres
    user (runuser), who owns the directory."""

    def __init__(self):
        self.bin = _postgres_bin()
        self.available = self.bin is not None
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self.available = self.available and shutil.which("runuser") is not None
        self.port = free_port()
        self.directory = None
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/hub"

    def _run(self, *command, check=True):
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        result = subprocess.run(
            [*prefix, *command], check=False, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
        return result

    def create(self):
        self.directory = Path(tempfile.mkdtemp(prefix="hub-pg-"))
        if self.as_root:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.directory / "data"),
            "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        self.start()
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", "hub",
        )  # fmt: skip

    def start(self):
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"), "-o", options,
            "-l", str(self.directory / "postgres.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode="fast"):
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"),
            "-m", mode, "-w", "-t", "60", "stop",
        )  # fmt: skip

    def _postmaster(self):
        return int((self.directory / "data" / "postmaster.pid").read_text().split()[0])

    def freeze(self):
        """Stop every process of the server (SIGSTOP), as a hung database server is: the
        kernel still accepts connections and acknowledges what is sent, nothing answers.
        The postmaster first, so that it starts no new process meanwhile."""
        postmaster = self._postmaster()
        os.kill(postmaster, signal.SIGSTOP)
        for pid in children(postmaster):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        postmaster = self._postmaster()
        for pid in children(postmaster):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        os.kill(postmaster, signal.SIGCONT)

    def destroy(self):
        if self.directory is None:
            return
        with contextlib.suppress(OSError, ValueError, IndexError):
            self.thaw()  # a frozen server would not stop
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate",
            "stop", check=False,
        )  # fmt: skip
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None

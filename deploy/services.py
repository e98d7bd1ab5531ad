#!/usr/bin/env python3
"""Start and stop the throwaway PostgreSQL and Kafka servers the test suite runs against.

Standard library only, so it runs before the project's virtualenv exists.  Driven by
deploy/test.sh; can also be used by hand (DIR holds services.json, see below):

    python3 deploy/services.py run --state-dir DIR -- CMD...  # start both, run CMD, stop both
    python3 deploy/services.py start-postgres --state-dir DIR # prints an export line
    python3 deploy/services.py start-kafka --state-dir DIR    # prints an export line
    python3 deploy/services.py stop --state-dir DIR           # stops both, removes temp dirs
    python3 deploy/services.py fetch-kafka                    # only download the broker jars

`run` stays the parent of both servers for the whole run (it registers as child subreaper, so
the postmaster forked off by pg_ctl is reaped too), exits with CMD's status and stops everything
on the way out, also on SIGINT/SIGTERM/SIGHUP.  `start-*` print shell `export` lines on stdout
(meant for `eval`) and human-readable progress on stderr.

Everything that is started is recorded (process id, process start time, temp dirs) in
DIR/services.json *before* waiting for it to become ready, so `stop` can always clean up, also
after a failed start.  Processes are only ever stopped by their recorded process id.

Environment knobs (all optional):
  CORRIDOR_TEST_PG_DSN / CORRIDOR_TEST_KAFKA_BOOTSTRAP  use these servers if they answer
  CORRIDOR_PG_BINDIR           directory holding initdb/pg_ctl/postgres (default: newest
                               /usr/lib/postgresql/*/bin, else PATH)
  CORRIDOR_CACHE_DIR           cache root for the Kafka jars (default ~/.cache/corridor)
  CORRIDOR_KAFKA_START_TIMEOUT seconds to wait for the broker (default 90)
  CORRIDOR_PG_START_TIMEOUT    seconds to wait for PostgreSQL (default 60)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import hashlib
import json
import os
import pwd
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
KAFKA_VERSION = "3.9.1"
KAFKA_POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
STATE_FILE = "services.json"
PG_USER = "corridor"
PG_DATABASE = "corridor_test"


class ServiceError(Exception):
    """A service could not be started or stopped; the message says which and why."""


# --------------------------------------------------------------------------------------------
# small helpers


def say(msg: str) -> None:
    print(f"[services] {msg}", file=sys.stderr, flush=True)


def export_line(name: str, value: str) -> str:
    return f"export {name}={shlex.quote(value)}"


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(could not read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out to outgoing connections (bind to port 0)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(exclude: set[int] | None = None) -> int:
    """A free loopback port below the ephemeral range. A server stopped and started again on
    its port (the fault suite's outages) must find it free: a port from the ephemeral range
    may meanwhile be the local end of some client's connection, and the restart then fails
    with "address already in use"."""
    exclude = exclude or set()
    low = ephemeral_range()[0]
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        if port in exclude:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise ServiceError("could not find a free TCP port on 127.0.0.1")


def tcp_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def proc_start_time(pid: int) -> str | None:
    """Start time of a process (field 22 of /proc/PID/stat), None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # zombie / dead: it has exited, only not reaped yet
        return None
    return fields[19]


def pid_is(pid: int, start_time: str | None) -> bool:
    """True if `pid` is still the very process we started (guards against pid reuse)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our (adopted) child and has exited
    current = proc_start_time(pid)
    return current is not None and (start_time is None or current == start_time)


def wait_gone(pid: int, start_time: str | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_is(pid, start_time):
            return True
        time.sleep(0.1)
    return not pid_is(pid, start_time)


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(packages: list[str], why: str) -> None:
    """Install Debian packages (root only) without letting their scripts start services."""
    if not is_root() or shutil.which("apt-get") is None:
        raise ServiceError(
            f"{why}, and they cannot be installed here (need root and apt-get): "
            f"install the Debian package(s) {' '.join(packages)}"
        )
    say(f"{why}: apt-get install {' '.join(packages)} ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The postgresql package would otherwise start a system-wide cluster on port 5432.
    policy = Path("/usr/sbin/policy-rc.d")
    added_policy = False
    if not policy.exists():
        policy.write_text(
            "#!/bin/sh\n# temporary, written by corridor deploy/services.py\nexit 101\n"
        )
        policy.chmod(0o755)
        added_policy = True
    try:
        for cmd in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        ):
            result = subprocess.run(
                cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
            )
            if result.returncode != 0:
                raise ServiceError(
                    f"{' '.join(cmd)} failed (exit {result.returncode}):\n"
                    f"{(result.stdout + result.stderr)[-3000:]}"
                )
    finally:
        if added_policy:
            policy.unlink(missing_ok=True)


class State:
    """services.json in the state dir: what was started, so `stop` can undo it."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / STATE_FILE

    def load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
            return data
        except FileNotFoundError:
            return {}

    def update(self, key: str, value: Any) -> None:
        data = self.load()
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.path)


# --------------------------------------------------------------------------------------------
# PostgreSQL


def pg_bindir(install: bool = True) -> Path:
    override = os.environ.get("CORRIDOR_PG_BINDIR")
    if override:
        path = Path(override)
        if not (path / "pg_ctl").exists():
            raise ServiceError(f"CORRIDOR_PG_BINDIR={override} has no pg_ctl")
        return path

    def find() -> Path | None:
        candidates = []
        for d in glob.glob("/usr/lib/postgresql/*/bin"):
            p = Path(d)
            if all((p / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
                version = p.parent.name
                candidates.append((int(version) if version.isdigit() else 0, p))
        if candidates:
            return max(candidates)[1]
        initdb = shutil.which("initdb")
        if initdb and shutil.which("pg_ctl"):
            return Path(initdb).resolve().parent
        return None

    found = find()
    if found is None and install:
        apt_install(["postgresql"], "PostgreSQL server binaries (initdb, pg_ctl) are missing")
        found = find()
    if found is None:
        raise ServiceError("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
    return found


def pg_version(bindir: Path) -> str:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return m.group(1) if m else "?"


def pg_os_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as when we are root (postgres refuses root)."""
    if not is_root():
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        say("creating system user 'postgres' (the PostgreSQL server refuses to run as root)")
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/var/lib/postgresql",
                "--shell",
                "/bin/sh",
                "postgres",
            ],
            check=True,
        )
        return pwd.getpwnam("postgres")


def run_as(
    user: pwd.struct_passwd | None, cmd: list[str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    kwargs: dict[str, Any] = {}
    env = dict(os.environ, LC_ALL="C", LANG="C")
    if user is not None:
        kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        env.update(HOME=str(cwd), USER=user.pw_name, LOGNAME=user.pw_name)
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def dsn_label(dsn: str) -> str:
    """host:port/db of a DSN, without the password."""
    u = urllib.parse.urlsplit(dsn)
    return f"{u.hostname or '?'}:{u.port or 5432}{u.path or ''}"


def pg_dsn_answers(dsn: str) -> tuple[bool, str]:
    """Does a real query over this DSN work?  psql if we have it, else pg_isready, else TCP."""
    env = dict(os.environ, PGCONNECT_TIMEOUT="5")
    psql = None
    with contextlib.suppress(ServiceError):
        psql = str(pg_bindir(install=False) / "psql")
    psql = psql if psql and os.path.exists(psql) else shutil.which("psql")
    if psql:
        r = subprocess.run(
            [psql, dsn, "-XAtqc", "select 1"],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        return r.returncode == 0 and r.stdout.strip() == "1", r.stderr.strip()
    isready = shutil.which("pg_isready")
    if isready:
        r = subprocess.run(
            [isready, "-d", dsn],
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        return r.returncode == 0, (r.stdout + r.stderr).strip()
    u = urllib.parse.urlsplit(dsn)
    ok = tcp_answers(u.hostname or "127.0.0.1", u.port or 5432)
    return ok, "" if ok else "TCP connection refused"


def start_postgres(state: State) -> tuple[str, str]:
    existing = os.environ.get("CORRIDOR_TEST_PG_DSN")
    if existing:
        ok, why = pg_dsn_answers(existing)
        if ok:
            say(f"using the PostgreSQL given in CORRIDOR_TEST_PG_DSN ({dsn_label(existing)})")
            return "CORRIDOR_TEST_PG_DSN", existing
        say(
            f"WARNING: CORRIDOR_TEST_PG_DSN is set ({dsn_label(existing)}) but does not answer"
            f" ({why or 'no reason given'}); starting a throwaway cluster instead"
        )

    t0 = time.monotonic()
    bindir = pg_bindir()
    version = pg_version(bindir)
    user = pg_os_user()
    root = Path(tempfile.mkdtemp(prefix="corridor-pg-"))
    state.update(
        "postgres",
        {
            "root": str(root),
            "bindir": str(bindir),
            "started": False,
            "os_user": user.pw_name if user else None,
        },
    )
    data, sock, logfile = root / "data", root / "sock", root / "postgres.log"
    sock.mkdir()
    if user is not None:
        for p in (root, sock):
            os.chown(p, user.pw_uid, user.pw_gid)

    r = run_as(
        user,
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ],
        cwd=root,
    )
    if r.returncode != 0:
        raise ServiceError(
            f"PostgreSQL: initdb failed (exit {r.returncode}):\n{r.stdout}{r.stderr}"
        )

    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            "\n# --- throwaway test cluster (corridor deploy/services.py) ---\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{sock}'\n"
            "max_connections = 200\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_wal_size = '1GB'\n"
            "shared_buffers = '128MB'\n"
            "timezone = 'UTC'\n"
            "log_timezone = 'UTC'\n"
            "log_min_messages = warning\n"
            "log_connections = off\n"
        )
    (data / "pg_hba.conf").write_text(
        "# throwaway test cluster: trust on the private unix socket, passwords over TCP\n"
        "local all all trust\n"
        "host  all all 127.0.0.1/32 scram-sha-256\n"
    )

    timeout = os.environ.get("CORRIDOR_PG_START_TIMEOUT", "60")
    state.update("postgres", {**state.load()["postgres"], "started": True})  # stop must try
    port = 0
    for attempt in range(1, 4):
        port = free_port()
        r = run_as(
            user,
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(logfile),
                "-o",
                f"-p {port}",
                "-w",
                "-t",
                timeout,
                "start",
            ],
            cwd=root,
            timeout=float(timeout) + 30,
        )
        if r.returncode == 0:
            break
        log = tail(logfile, 30)
        if "already in use" in log and attempt < 3:
            say(f"PostgreSQL: port {port} was taken meanwhile, retrying on another port")
            logfile.unlink(missing_ok=True)
            continue
        raise ServiceError(
            f"PostgreSQL: pg_ctl start failed (exit {r.returncode}): "
            f"{r.stdout.strip()} {r.stderr.strip()}\n--- {logfile} ---\n{log}"
        )
    pid = int((data / "postmaster.pid").read_text().split()[0])
    state.update("postgres", {**state.load()["postgres"], "pid": pid, "port": port})

    password = secrets.token_hex(16)
    r = run_as(
        user,
        [
            str(bindir / "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(sock),
            "-p",
            str(port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            f"CREATE ROLE {PG_USER} LOGIN CREATEDB PASSWORD '{password}'",
            "-c",
            f"CREATE DATABASE {PG_DATABASE} OWNER {PG_USER}",
        ],
        cwd=root,
    )
    if r.returncode != 0:
        raise ServiceError(f"PostgreSQL: creating role/database failed:\n{r.stdout}{r.stderr}")

    dsn = f"postgresql://{PG_USER}:{password}@127.0.0.1:{port}/{PG_DATABASE}"
    ok, why = pg_dsn_answers(dsn)  # proves password auth over TCP on 127.0.0.1 works
    if not ok:
        raise ServiceError(f"PostgreSQL started but {dsn_label(dsn)} does not answer: {why}")
    say(
        f"PostgreSQL {version} started on 127.0.0.1:{port} (pid {pid}) in "
        f"{time.monotonic() - t0:.1f}s; database {PG_DATABASE}, role {PG_USER}, data in {data}"
    )
    return "CORRIDOR_TEST_PG_DSN", dsn


def stop_postgres(info: dict[str, Any]) -> bool:
    root = Path(info["root"])
    data = root / "data"
    ok = True
    if info.get("started") and (data / "postmaster.pid").exists():
        bindir = Path(info["bindir"])
        user = pwd.getpwnam(info["os_user"]) if info.get("os_user") else None
        t0 = time.monotonic()
        stopped = False
        for mode in ("fast", "immediate"):
            r = run_as(
                user,
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", "30", "stop"],
                cwd=root,
                timeout=60,
            )
            if r.returncode == 0:
                stopped = True
                break
            say(f"PostgreSQL: pg_ctl stop -m {mode} failed: {r.stdout.strip()} {r.stderr.strip()}")
        if not stopped and info.get("pid"):
            pid = int(info["pid"])
            if pid_is(pid, None):
                say(f"PostgreSQL: sending SIGKILL to postmaster pid {pid}")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                stopped = wait_gone(pid, None, 10)
        if stopped:
            say(f"PostgreSQL stopped (pid {info.get('pid', '?')}) in {time.monotonic() - t0:.1f}s")
        else:
            say(f"ERROR: PostgreSQL (pid {info.get('pid', '?')}) could not be stopped")
            ok = False
    if ok:
        shutil.rmtree(root, ignore_errors=True)
    return ok


# --------------------------------------------------------------------------------------------
# Kafka


def cache_root() -> Path:
    if os.environ.get("CORRIDOR_CACHE_DIR"):
        return Path(os.environ["CORRIDOR_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "corridor"


def kafka_libs() -> Path:
    """Directory with the broker's jars, fetched with Maven on first use and cached."""
    import fcntl

    base = cache_root() / f"kafka-{KAFKA_VERSION}"
    libs = base / "libs"
    marker = libs / ".corridor-complete"
    want = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()
    base.mkdir(parents=True, exist_ok=True)
    with (base / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once: one downloads, the other waits
        if marker.exists() and marker.read_text().strip() == want:
            return libs
        if shutil.which("java") is None:
            apt_install(["openjdk-17-jre-headless"], "java is missing")
        if shutil.which("mvn") is None:
            apt_install(["maven"], "mvn is missing")
        t0 = time.monotonic()
        say(f"fetching Kafka {KAFKA_VERSION} jars with Maven into {libs} (one-time) ...")
        tmp = base / f"libs.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}",
            "-DincludeScope=runtime",
        ]
        r = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=KAFKA_POM.parent,
            check=False,
        )
        if r.returncode != 0 or not (tmp / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
            shutil.rmtree(tmp, ignore_errors=True)
            raise ServiceError(
                f"Kafka: fetching the broker jars failed ({' '.join(cmd)}, exit "
                f"{r.returncode}):\n{(r.stdout + r.stderr)[-4000:]}"
            )
        (tmp / ".corridor-complete").write_text(want + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        tmp.rename(libs)
        n = len(list(libs.glob("*.jar")))
        say(f"fetched {n} jars in {time.monotonic() - t0:.1f}s")
        return libs


def kafka_api_versions(host: str, port: int, timeout: float = 3.0) -> bool:
    """Send a Kafka ApiVersions v0 request; True if a well-formed Kafka answer comes back."""
    correlation_id = 0x0C0FFEE
    client_id = b"corridor-probe"
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(struct.pack(">i", len(body)) + body)
            header = b""
            while len(header) < 10:
                chunk = s.recv(10 - len(header))
                if not chunk:
                    return False
                header += chunk
            _size, corr, error = struct.unpack(">iih", header)
            return bool(corr == correlation_id and error == 0)
    except (OSError, struct.error):
        return False


def parse_bootstrap(bootstrap: str) -> list[tuple[str, int]]:
    out = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        out.append((host.strip("[]") or "127.0.0.1", int(port)))
    return out


def kafka_cluster_id() -> str:
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def java_cmd(libs: Path, kdir: Path, heap: str = "512m") -> list[str]:
    java = shutil.which("java")
    if java is None:
        apt_install(["openjdk-17-jre-headless"], "java is missing")
        java = shutil.which("java") or "java"
    return [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{kdir / 'log4j.properties'}",
        f"-Dkafka.logs.dir={kdir / 'logs'}",
        "-cp",
        f"{libs}/*",
    ]


def write_kafka_config(kdir: Path, port: int, controller_port: int) -> Path:
    props = kdir / "server.properties"
    props.write_text(
        "# single-node KRaft broker+controller for tests (corridor deploy/services.py)\n"
        "process.roles=broker,controller\n"
        "node.id=1\n"
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}\n"
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n"
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n"
        "controller.listener.names=CONTROLLER\n"
        "inter.broker.listener.name=PLAINTEXT\n"
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
        f"log.dirs={kdir / 'data'}\n"
        "auto.create.topics.enable=true\n"
        "num.partitions=3\n"
        "default.replication.factor=1\n"
        "min.insync.replicas=1\n"
        "offsets.topic.replication.factor=1\n"
        "offsets.topic.num.partitions=3\n"
        "transaction.state.log.replication.factor=1\n"
        "transaction.state.log.min.isr=1\n"
        "transaction.state.log.num.partitions=3\n"
        "group.initial.rebalance.delay.ms=0\n"
        "num.network.threads=2\n"
        "num.io.threads=2\n"
        "background.threads=2\n"
        "num.recovery.threads.per.data.dir=1\n"
        "log.retention.hours=1\n"
        "log.segment.bytes=16777216\n"
        "delete.topic.enable=true\n"
    )
    (kdir / "log4j.properties").write_text(
        "log4j.rootLogger=INFO, stdout\n"
        "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
        "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
        "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        "log4j.logger.org.apache.kafka.clients=WARN\n"
        "log4j.logger.kafka.request.logger=WARN\n"
        "log4j.logger.state.change.logger=WARN\n"
    )
    return props


def start_kafka(state: State) -> tuple[str, str]:
    existing = os.environ.get("CORRIDOR_TEST_KAFKA_BOOTSTRAP")
    if existing:
        try:
            hosts = parse_bootstrap(existing)
        except ValueError:
            hosts = []
        if any(kafka_api_versions(h, p) for h, p in hosts):
            say(f"using the Kafka given in CORRIDOR_TEST_KAFKA_BOOTSTRAP ({existing})")
            return "CORRIDOR_TEST_KAFKA_BOOTSTRAP", existing
        say(
            f"WARNING: CORRIDOR_TEST_KAFKA_BOOTSTRAP is set ({existing}) but no Kafka answers "
            "there; starting a throwaway broker instead"
        )

    t0 = time.monotonic()
    libs = kafka_libs()
    kdir = Path(tempfile.mkdtemp(prefix="corridor-kafka-"))
    state.update("kafka", {"root": str(kdir)})
    logfile = kdir / "kafka.log"
    timeout = float(os.environ.get("CORRIDOR_KAFKA_START_TIMEOUT", "90"))

    for attempt in range(1, 4):
        shutil.rmtree(kdir / "data", ignore_errors=True)
        (kdir / "logs").mkdir(exist_ok=True)
        port = free_port()
        controller_port = free_port({port})
        props = write_kafka_config(kdir, port, controller_port)
        cmd = [
            *java_cmd(libs, kdir, heap="256m"),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            kafka_cluster_id(),
            "-c",
            str(props),
        ]
        r = subprocess.run(
            cmd,
            cwd=kdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if r.returncode != 0:
            raise ServiceError(
                f"Kafka: formatting KRaft storage failed (exit {r.returncode}):\n"
                f"{(r.stdout + r.stderr)[-4000:]}"
            )

        with logfile.open("ab") as log:
            proc = subprocess.Popen(
                [*java_cmd(libs, kdir), "kafka.Kafka", str(props)],
                cwd=kdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not hit by the terminal's Ctrl-C; we stop it by pid
            )
        state.update(
            "kafka",
            {
                "root": str(kdir),
                "pid": proc.pid,
                "start_time": proc_start_time(proc.pid),
                "port": port,
            },
        )

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if kafka_api_versions("127.0.0.1", port):
                say(
                    f"Kafka {KAFKA_VERSION} started on 127.0.0.1:{port} (pid {proc.pid}) in "
                    f"{time.monotonic() - t0:.1f}s; controller on 127.0.0.1:{controller_port}, "
                    f"log {logfile}"
                )
                return "CORRIDOR_TEST_KAFKA_BOOTSTRAP", f"127.0.0.1:{port}"
            time.sleep(0.25)

        if proc.poll() is None:
            raise ServiceError(
                f"Kafka: broker (pid {proc.pid}) did not accept connections on "
                f"127.0.0.1:{port} within {timeout:.0f}s\n--- tail of {logfile} "
                f"---\n{tail(logfile)}"
            )
        log_tail = tail(logfile)
        if "Address already in use" in log_tail and attempt < 3:
            say(f"Kafka: port {port}/{controller_port} was taken meanwhile, retrying")
            continue
        raise ServiceError(
            f"Kafka: broker exited with status {proc.returncode} before it was "
            f"ready\n--- tail of {logfile} ---\n{log_tail}"
        )
    raise ServiceError("Kafka: could not start the broker")


def stop_kafka(info: dict[str, Any]) -> bool:
    ok = True
    pid = info.get("pid")
    if pid:
        pid = int(pid)
        start_time = info.get("start_time")
        if pid_is(pid, start_time):
            t0 = time.monotonic()
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not wait_gone(pid, start_time, 30):
                say(f"Kafka (pid {pid}) still running 30s after SIGTERM: sending SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                if not wait_gone(pid, start_time, 10):
                    say(f"ERROR: Kafka (pid {pid}) could not be stopped")
                    ok = False
            if ok:
                say(f"Kafka stopped (pid {pid}) in {time.monotonic() - t0:.1f}s")
    if ok:
        shutil.rmtree(info["root"], ignore_errors=True)
    return ok


# --------------------------------------------------------------------------------------------
# command line


def stop_all(state: State) -> bool:
    data = state.load()
    ok = True
    # Kafka first: it is the slower one, and nothing in it depends on PostgreSQL.
    if "kafka" in data:
        if stop_kafka(data["kafka"]):
            state.update("kafka", None)
        else:
            ok = False
    if "postgres" in data:
        if stop_postgres(data["postgres"]):
            state.update("postgres", None)
        else:
            ok = False
    return ok


def set_child_subreaper() -> None:
    """Adopt orphaned descendants (the postmaster that pg_ctl forks off) so they get reaped.

    Without this they are re-parented to PID 1, which in some sandboxes never reaps them and
    leaves `<defunct>` entries behind after they have been stopped.
    """
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def die_with_parent() -> None:
    """In the child: get SIGTERM if this supervisor dies (so no test run outlives it)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def reap_children(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def run_with_services(state: State, cmd: list[str]) -> int:
    """Start PostgreSQL and Kafka, run `cmd` with their env vars, always stop them after."""
    set_child_subreaper()
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        if child is not None and child.poll() is None:
            # Ctrl-C already reached the child (same process group); pass TERM/HUP on.
            if signum != signal.SIGINT:
                child.send_signal(signum)
            return
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    rc = 1
    try:
        for name, value in (start_postgres(state), start_kafka(state)):
            os.environ[name] = value
            shown = re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", value)
            say(f"{name}={shown}")
        say(f"running: {shlex.join(cmd)}")
        child = subprocess.Popen(cmd, preexec_fn=die_with_parent)
        rc = child.wait()
        if rc < 0:
            rc = 128 - rc
        say(f"{shlex.join(cmd)} exited with status {rc}")
    except ServiceError as exc:
        say(f"ERROR: {exc}")
        say(f"not running {shlex.join(cmd)}: a service could not be started")
        rc = 1
    except subprocess.TimeoutExpired as exc:
        say(f"ERROR: timed out running {exc.cmd}")
        rc = 1
    except SystemExit as exc:
        say("interrupted")
        rc = int(exc.code) if isinstance(exc.code, int) else 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # do not let a second Ctrl-C skip the cleanup
        if not stop_all(state):
            rc = rc or 1
        reap_children(5)
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start-postgres", "start-kafka", "stop", "run"):
        p = sub.add_parser(name)
        p.add_argument(
            "--state-dir",
            required=True,
            type=Path,
            help="directory for services.json (created if missing)",
        )
        if name == "run":
            p.add_argument(
                "cmd", nargs=argparse.REMAINDER, help="-- command to run with the services up"
            )
    sub.add_parser("fetch-kafka", help="only download/cache the Kafka broker jars")
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch-kafka":
            print(kafka_libs())
            return 0
        args.state_dir.mkdir(parents=True, exist_ok=True)
        state = State(args.state_dir)
        if args.command == "run":
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            if not cmd:
                parser.error("run needs a command after --")
            return run_with_services(state, cmd)
        if args.command == "start-postgres":
            print(export_line(*start_postgres(state)), flush=True)
        elif args.command == "start-kafka":
            print(export_line(*start_kafka(state)), flush=True)
        elif args.command == "stop":
            return 0 if stop_all(state) else 1
    except ServiceError as exc:
        say(f"ERROR: {exc}")
        return 1
    except subprocess.TimeoutExpired as exc:
        say(f"ERROR: timed out running {exc.cmd}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Tools for fault tests and the fault bench: a TCP proxy between the app and
PostgreSQL that can be cut and restored, a private PostgreSQL server that can
be restarted without touching the machine's own, gunicorn in a subprocess
with its workers' process ids, and phones that send their answers again with
the same ticket until they are thanked, as the form script does.

Everything listens and connects on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from itsdangerous import URLSafeSerializer

from survey.usecases.submission import TICKET_SALT

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------
# A cuttable TCP proxy


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a PostgreSQL server. ``cut()`` closes
    every open connection and from then on closes new ones at once (the app
    sees "server closed the connection unexpectedly"); ``restore()`` forwards
    again. The database itself is never touched."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._stopped = False
        self.connections = 0
        self.refused = 0
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        return re.sub(r"@[^/@]+/", f"@127.0.0.1:{self.port}/", database_url, count=1)

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._stopped = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                self.refused += 1
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            self.connections += 1
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _close(sock)
                with self._lock:
                    self._sockets.discard(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


# --------------------------------------------------------------------------
# A private PostgreSQL server


def postgresql_bindir() -> Path | None:
    """Where initdb and pg_ctl live, or None when PostgreSQL is not installed."""
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        found = ""
    candidates = [Path(found)] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


class PrivatePostgres:
    """A PostgreSQL server of its own in a temporary folder, on a free port:
    restarting it (``pg_ctl restart``) disturbs nobody else using the
    machine's server. As root it runs as the ``postgres`` user (PostgreSQL
    refuses to run as root)."""

    def __init__(self):
        bindir = postgresql_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server programs (initdb, pg_ctl) not found")
        self.bindir = bindir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="minyi-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-instructions")
        self.start()

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=timeout, cwd=self.folder)

    def _options(self) -> str:
        return f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-w", "start")

    def restart(self, mode: str = "fast") -> float:
        """Restart the server (``fast``: sessions ended, clean shutdown;
        ``immediate``: like a crash, recovery on start). Seconds it took."""
        start = time.perf_counter()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(),
                  "-m", mode, "-w", "restart")
        return time.perf_counter() - start

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


# --------------------------------------------------------------------------
# gunicorn


class Gunicorn:
    """The app served by gunicorn on a free port, in a subprocess."""

    def __init__(self, database_url: str, secret_key: str, *, workers: int = 2, threads: int = 8,
                 instance_path: str | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret_key,
            "PUBLIC_BASE_URL": self.base,
            "MINYI_WARM_UP_ROUNDS": "0",
        }
        if instance_path:
            env["MINYI_INSTANCE_PATH"] = instance_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
             "--bind", f"127.0.0.1:{self.port}", "--log-level", "error", "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=env,
        )
        self.wait_until_serving(workers)

    def wait_until_serving(self, workers: int | None = None, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(self.base + "/static/favicon.svg", timeout=2).raise_for_status()
                if workers is None or len(self.worker_pids()) >= workers:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def gunicorn(database_url: str, secret_key: str, **options) -> Iterator[Gunicorn]:
    server = Gunicorn(database_url, secret_key, **options)
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------
# Phones


_HIDDEN = r'<input[^>]*name="{name}"[^>]*value="([^"]*)"'


def submission_key(secret_key: str, ticket: str) -> str:
    """The submission key a form's ticket carries."""
    return URLSafeSerializer(secret_key, salt=TICKET_SALT).loads(ticket)["k"]


@dataclass
class Phone:
    """One resident's phone: its own cookies, one form, one answer set."""

    token: str
    answers: dict
    session: requests.Session = field(default_factory=requests.Session)
    fields: dict = field(default_factory=dict)
    thanks_url: str | None = None
    outcomes: Counter = field(default_factory=Counter)
    #: monotonic times: first POST, thank-you page, last failed attempt
    sent_at: float | None = None
    thanked_at: float | None = None
    last_failure_at: float | None = None

    @property
    def ticket(self) -> str:
        return self.fields["ticket"]

    def open_form(self, base: str, deadline: float) -> None:
        """GET the form (again while the server answers 503), as a resident
        reloading would."""
        from html import unescape

        while True:
            try:
                page = self.session.get(f"{base}/s/{self.token}", timeout=30)
                if page.status_code == 200:
                    break
                self.outcomes[f"GET {page.status_code}"] += 1
            except requests.RequestException as exc:
                self.outcomes[f"GET {type(exc).__name__}"] += 1
            if time.monotonic() > deadline:
                raise TimeoutError("the form never opened")
            time.sleep(0.2)
        self.fields = {"csrf_token": unescape(re.search(_HIDDEN.format(name="csrf_token"), page.text).group(1)),
                       "ticket": unescape(re.search(_HIDDEN.format(name="ticket"), page.text).group(1))}
        for qid, value in self.answers.items():
            self.fields[f"q_{qid}"] = value

    def send_until_thanked(self, base: str, deadline: float, *, first_wait: float = 0.1, max_wait: float = 2.0,
                           honour_retry_after: bool = False) -> bool:
        """POST the same answers with the same ticket until the thank-you page
        loads (303, then 200), waiting longer after each failure, as the form
        script does (shorter waits here, unless ``honour_retry_after``)."""
        failures = 0
        self.sent_at = time.monotonic()
        while time.monotonic() < deadline:
            wait = None
            try:
                reply = self.session.post(f"{base}/s/{self.token}", data=self.fields, allow_redirects=False,
                                          headers={"X-Minyi-Answers-Kept": "1"}, timeout=30)
                self.outcomes[f"POST {reply.status_code}"] += 1
                if reply.status_code == 303:
                    location = reply.headers["Location"]
                    if self._thank_you_page(base, location):
                        self.thanks_url = location
                        self.thanked_at = time.monotonic()
                        return True
                elif reply.status_code < 500 and reply.status_code not in (408, 429):
                    return False  # the server's page speaks (the phone stops retrying)
                if honour_retry_after and reply.headers.get("Retry-After", "").isdigit():
                    wait = float(reply.headers["Retry-After"])
            except requests.RequestException as exc:
                self.outcomes[f"POST {type(exc).__name__}"] += 1
            failures += 1
            self.last_failure_at = time.monotonic()
            backoff = min(max_wait, first_wait * 2 ** (failures - 1))
            time.sleep(max(wait or 0, backoff * (0.5 + 0.5 * _jitter())))
        return False


    def _thank_you_page(self, base: str, location: str) -> bool:
        try:
            thanks = self.session.get(requests.compat.urljoin(base, location), timeout=30)
        except requests.RequestException as exc:
            self.outcomes[f"thanks {type(exc).__name__}"] += 1
            return False
        self.outcomes[f"thanks {thanks.status_code}"] += 1
        return thanks.status_code == 200


def open_forms(phones: list[Phone], base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for phone in phones:
        phone.open_form(base, deadline)


@dataclass
class StreamResult:
    seconds: float
    chaos: object = None


def stream(phones: list[Phone], base: str, *, threads: int, timeout: float, chaos=None,
           honour_retry_after: bool = False) -> StreamResult:
    """Every phone sends its answers until thanked, ``threads`` at a time,
    while ``chaos(thanked)`` runs in its own thread (``thanked()`` counts the
    phones thanked so far, to time a fault mid-stream). Returns the stream's
    duration and what ``chaos`` returned."""
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.monotonic() + timeout
    result: dict = {}

    def thanked() -> int:
        return sum(1 for phone in phones if phone.thanks_url)

    def run_chaos():
        try:
            result["chaos"] = chaos(thanked)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            result["chaos"] = exc

    chaos_thread = threading.Thread(target=run_chaos, name="chaos", daemon=True) if chaos else None
    start = time.perf_counter()
    if chaos_thread:
        chaos_thread.start()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda phone: phone.send_until_thanked(base, deadline, honour_retry_after=honour_retry_after),
                      phones))
    seconds = time.perf_counter() - start
    if chaos_thread:
        chaos_thread.join(timeout=max(1.0, deadline - time.monotonic()))
    if isinstance(result.get("chaos"), BaseException):
        raise result["chaos"]
    return StreamResult(seconds, result.get("chaos"))


def outcomes_so_far(phones: list[Phone]) -> dict:
    total = Counter()
    for phone in phones:
        total.update(phone.outcomes)
    return dict(sorted(total.items()))


def wait_until(condition, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


_jitter_source = __import__("random").Random(9)


def _jitter() -> float:
    return _jitter_source.random()


def exactly_once_report(phones: list[Phone], secret_key: str, rows: list[tuple[str, int, int]],
                        answer_rows: int) -> dict:
    """Compare what the phones were told with what the database holds.

    ``rows``: (submission key, answer rows, answers in its answer set) of
    every stored response; ``answer_rows``: all answer rows in the database.
    Returns counts and the list of problems (empty when every thank-you page
    is exactly one stored response and every answer set was stored once).
    """
    problems: list[str] = []
    stored = Counter(key for key, _, _ in rows)
    keys = [submission_key(secret_key, phone.ticket) for phone in phones]
    thanked = [phone for phone in phones if phone.thanks_url]
    for phone, key in zip(phones, keys):
        if phone.thanks_url is None:
            problems.append(f"never thanked: {key} {dict(phone.outcomes)}")
        elif not phone.thanks_url.endswith(f"/done/{key}"):
            problems.append(f"thank-you page of another submission: {phone.thanks_url} for {key}")
        if stored[key] != 1:
            problems.append(f"submission {key} stored {stored[key]} times")
    strangers = set(stored) - set(keys)
    if strangers:
        problems.append(f"{len(strangers)} stored responses no phone sent")
    # A response is stored whole or not at all: its answer rows are its answer set.
    incomplete = [key for key, count, expected in rows if count != expected or expected == 0]
    if incomplete:
        problems.append(f"{len(incomplete)} responses with missing answers")
    if answer_rows != sum(count for _, count, _ in rows):
        problems.append(f"{answer_rows} answer rows, {sum(c for _, c, _ in rows)} belong to stored responses")
    outcomes = Counter()
    for phone in phones:
        outcomes.update(phone.outcomes)
    return {
        "phones": len(phones),
        "thanked": len(thanked),
        "stored": len(rows),
        "distinct_keys": len(stored),
        "outcomes": dict(sorted(outcomes.items())),
        "problems": problems,
    }

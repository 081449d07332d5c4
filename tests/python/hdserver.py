"""A Helpdesk service binary started for a Python test: its own database on the test MariaDB
(HELPDESK_DB_* as scripts/servers.sh prints them), a free loopback port read from its log, and a
SIGTERM stop that reports the exit status. Also a small runner that prints "N passed, N failed"
as scripts/test.sh counts it."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    return os.environ.get("HD_BINARY_DIR", os.path.join(ROOT, "build"))


def binary(path_in_build):
    """build/<path_in_build>, e.g. "services/helpdesk-tickets"; raises when it is not built."""
    path = os.path.join(build_dir(), path_in_build)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is not built (set HD_BINARY_DIR to the CMake build directory)")
    return path


def until(call, errors, seconds=20, pause=0.1):
    """call() again until it returns without raising one of errors (an exception class or a
    tuple: a service still starting is NOT_SERVING until MariaDB, Redis and its migrations are
    ready), for at most `seconds`; its result, or the last error once the time is up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except errors:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)


def drop_database(name):
    """Best effort, with the mariadb client and the test servers' settings."""
    if not shutil.which("mariadb") or not (os.environ.get("HELPDESK_DB_SOCKET") or os.environ.get("HELPDESK_DB_PORT")):
        return
    cmd = ["mariadb", "-u", os.environ.get("HELPDESK_DB_USER", "root")]
    if os.environ.get("HELPDESK_DB_SOCKET"):
        cmd += ["--socket", os.environ["HELPDESK_DB_SOCKET"]]
    else:
        cmd += ["-h", os.environ.get("HELPDESK_DB_HOST", "127.0.0.1"), "-P", os.environ["HELPDESK_DB_PORT"]]
    env = dict(os.environ, MYSQL_PWD=os.environ.get("HELPDESK_DB_PASSWORD", ""))
    subprocess.run(cmd + ["-e", f"DROP DATABASE IF EXISTS `{name}`"], env=env, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Service:
    """helpdesk-<svc> on 127.0.0.1 with a free port and database `hdt_<tag>_<pid>`; extra_env
    adds settings (TLS, timers). Use as a context manager or call start() / stop()."""

    def __init__(self, svc, tag, extra_env=None):
        self.svc, self.tmp = svc, tempfile.mkdtemp(prefix=f"hd-py{tag}-")
        self.db_name = f"hdt_{tag}_{os.getpid()}"
        self.log_path = os.path.join(self.tmp, f"{svc}.log")
        self.env = dict(os.environ, HELPDESK_METRICS_ADDR="127.0.0.1:0", HELPDESK_SHUTDOWN_GRACE="5s",
                        **{f"HELPDESK_{svc.upper()}_ADDR": "127.0.0.1:0",
                           f"HELPDESK_{svc.upper()}_DB_NAME": self.db_name},
                        **(extra_env or {}))
        self.proc = self.port = self.log = None

    def start(self, timeout=20):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary(f"services/helpdesk-{self.svc}")], env=self.env,
                                     stderr=self.log, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self.port and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
            m = re.search(rb"event=rpc\.listening .* port=(\d+)", self.log_text())
            if m:
                self.port = int(m.group(1))
        if not self.port:
            self.proc.kill()
            raise RuntimeError(f"helpdesk-{self.svc} did not start:\n" + self.log_text().decode(errors="replace"))
        return self

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read()

    def stop(self):
        """SIGTERM; returns the exit status (killed after 30 s)."""
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        elif self.proc:
            rc = self.proc.returncode
        if self.log:
            self.log.close()
            self.log = None
        return rc

    def cleanup(self):
        self.stop()
        drop_database(self.db_name)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


def run_tests(tests, setup=None, teardown=None):
    """Runs each test (a function), prints ok/FAIL lines and "N passed, N failed"; 0 or 1."""
    passed = failed = 0
    if setup:
        setup()
    try:
        for t in tests:
            try:
                t()
                passed += 1
                print(f"ok   {t.__name__}", flush=True)
            except Exception as e:  # report every failure, then go on
                failed += 1
                print(f"FAIL {t.__name__}: {type(e).__name__}: {e}", flush=True)
    finally:
        if teardown:
            teardown()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0

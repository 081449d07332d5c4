#!/usr/bin/python3
"""TLS from another gRPC stack (Debian's python3-grpcio) against the real helpdesk-routing binary.

Makes a self-signed certificate (CN=localhost, SAN localhost and 127.0.0.1) with openssl, starts
helpdesk-routing with HELPDESK_TLS_CERT/KEY on a free loopback port, and checks that
  - a TLS health check that trusts the certificate succeeds (SERVING once MariaDB and Redis answer),
  - a plaintext call to the TLS port fails cleanly with UNAVAILABLE, and the server serves on,
  - a TLS call that trusts another certificate fails with UNAVAILABLE,
  - SIGTERM stops the server with exit status 0.

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/tls_check.py   (or with pytest)
MariaDB and Redis come from HELPDESK_DB_* / HELPDESK_REDIS_* as scripts/servers.sh prints them;
without them the server answers NOT_SERVING, which still proves the TLS call went through.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import grpc

HEALTH = "/grpc.health.v1.Health/Check"
SERVING, NOT_SERVING = 1, 2
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_server = {}


def _binary():
    build = os.environ.get("HD_BINARY_DIR", os.path.join(ROOT, "build"))
    path = os.path.join(build, "services", "helpdesk-routing")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is not built (set HD_BINARY_DIR to the CMake build directory)")
    return path


def _make_cert(directory, name, host="localhost", ip="127.0.0.1"):
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    san = f"subjectAltName=DNS:{host}" + (f",IP:{ip}" if ip else "")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={host}", "-addext", san, "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def _status_of(reply):
    """grpc.health.v1.HealthCheckResponse: field 1 (varint) is the status; absent means 0."""
    if len(reply) >= 2 and reply[0] == 0x08:
        return reply[1]
    return 0


def _health(channel, timeout=5.0):
    return _status_of(channel.unary_unary(HEALTH)(b"", timeout=timeout))


def _tls_channel(port, ca_file):
    with open(ca_file, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    return grpc.secure_channel(f"localhost:{port}", creds)


def _drop_database(name):
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


def setup_module(module=None):
    tmp = tempfile.mkdtemp(prefix="hd-pytls-")
    cert, key = _make_cert(tmp, "server")
    other_cert, _ = _make_cert(tmp, "other")
    log_path = os.path.join(tmp, "routing.log")
    db_name = f"hdt_pytls_{os.getpid()}"
    env = dict(os.environ, HELPDESK_ROUTING_ADDR="127.0.0.1:0", HELPDESK_METRICS_ADDR="127.0.0.1:0",
               HELPDESK_TLS_CERT=cert, HELPDESK_TLS_KEY=key, HELPDESK_ROUTING_DB_NAME=db_name,
               HELPDESK_SHUTDOWN_GRACE="5s")
    log = open(log_path, "wb")
    proc = subprocess.Popen([_binary()], env=env, stderr=log, stdout=subprocess.DEVNULL)
    port = 0
    deadline = time.monotonic() + 20
    while not port and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        with open(log_path, "rb") as f:
            m = re.search(rb"event=rpc\.listening .* port=(\d+)", f.read())
        if m:
            port = int(m.group(1))
    if not port:
        proc.kill()
        raise RuntimeError("helpdesk-routing did not start:\n" + open(log_path, errors="replace").read())
    _server.update(tmp=tmp, cert=cert, other_cert=other_cert, proc=proc, port=port, log=log,
                   log_path=log_path, db_name=db_name)


def teardown_module(module=None):
    proc = _server["proc"]
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _server["log"].close()
    _drop_database(_server["db_name"])
    shutil.rmtree(_server["tmp"], ignore_errors=True)


def test_tls_health_check_with_the_servers_certificate_succeeds():
    want_serving = bool(os.environ.get("HELPDESK_DB_SOCKET") or os.environ.get("HELPDESK_DB_PORT"))
    with _tls_channel(_server["port"], _server["cert"]) as ch:
        status = _health(ch)
        deadline = time.monotonic() + 20
        while want_serving and status != SERVING and time.monotonic() < deadline:
            time.sleep(0.1)
            status = _health(ch)
    assert status in (SERVING, NOT_SERVING), status
    if want_serving:
        assert status == SERVING, status


def test_plaintext_call_to_the_tls_port_fails_unavailable_and_the_server_serves_on():
    started = time.monotonic()
    with grpc.insecure_channel(f"127.0.0.1:{_server['port']}") as ch:
        try:
            _health(ch)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAVAILABLE, e.code()
        else:
            raise AssertionError("a plaintext call to the TLS port succeeded")
    assert time.monotonic() - started < 5, "the failure came at the deadline, not at once"
    assert _server["proc"].poll() is None, "the server died"
    with _tls_channel(_server["port"], _server["cert"]) as ch:
        assert _health(ch) in (SERVING, NOT_SERVING)


def test_tls_call_trusting_another_certificate_fails_unavailable():
    with _tls_channel(_server["port"], _server["other_cert"]) as ch:
        try:
            _health(ch)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAVAILABLE, e.code()
        else:
            raise AssertionError("a TLS call trusting the wrong certificate succeeded")


def test_sigterm_stops_the_tls_server_with_exit_status_0():
    proc = _server["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    with open(_server["log_path"], "rb") as f:
        text = f.read()
    assert b"event=stopped" in text


def main():
    tests = [test_tls_health_check_with_the_servers_certificate_succeeds,
             test_plaintext_call_to_the_tls_port_fails_unavailable_and_the_server_serves_on,
             test_tls_call_trusting_another_certificate_fails_unavailable,
             test_sigterm_stops_the_tls_server_with_exit_status_0]
    passed = failed = 0
    setup_module()
    try:
        for t in tests:
            try:
                t()
                passed += 1
                print(f"ok   {t.__name__}")
            except Exception as e:  # report every failure, then go on
                failed += 1
                print(f"FAIL {t.__name__}: {type(e).__name__}: {e}")
    finally:
        teardown_module()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

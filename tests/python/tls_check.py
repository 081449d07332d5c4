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
import shutil
import subprocess
import sys
import tempfile
import time

import grpc

import hdserver

HEALTH = "/grpc.health.v1.Health/Check"
SERVING, NOT_SERVING = 1, 2

_server = {}

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

def setup_module(module=None):
    tmp = tempfile.mkdtemp(prefix="hd-pytls-")
    cert, key = _make_cert(tmp, "server")
    other_cert, _ = _make_cert(tmp, "other")
    server = hdserver.Service("routing", "pytls", {"HELPDESK_TLS_CERT": cert, "HELPDESK_TLS_KEY": key})
    _server.update(tmp=tmp, cert=cert, other_cert=other_cert, server=server, port=server.start().port,
                   proc=server.proc)

def teardown_module(module=None):
    _server["server"].cleanup()
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
    assert _server["server"].stop() == 0
    assert b"event=stopped" in _server["server"].log_text()

def main():
    return hdserver.run_tests([test_tls_health_check_with_the_servers_certificate_succeeds,
                               test_plaintext_call_to_the_tls_port_fails_unavailable_and_the_server_serves_on,
                               test_tls_call_trusting_another_certificate_fails_unavailable,
                               test_sigterm_stops_the_tls_server_with_exit_status_0],
                              setup_module, teardown_module)

if __name__ == "__main__":
    sys.exit(main())

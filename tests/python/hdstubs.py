"""Python stubs of protos/ for the tests that call Helpdesk from outside C.

The stubs are generated when a test runs (never committed) by scripts/gen-python-stubs.sh, with
Debian's protoc and grpc_python_plugin, into a temporary folder that is removed at exit.
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load(protos=None):
    """Generates the stubs of `protos` (paths under protos/, all of them when None) and makes
    them importable: `from helpdesk.v1 import tickets_pb2`, `from grpc.health.v1 import
    health_pb2`. Returns the folder they are in. Raises CalledProcessError when protoc fails."""
    out = tempfile.mkdtemp(prefix="hd-pystubs-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run([str(ROOT / "scripts" / "gen-python-stubs.sh"), out, *(protos or [])], check=True)
    sys.path.insert(0, out)
    import grpc  # noqa: E402 - the installed grpcio, a regular package

    # grpc/health/v1 is generated under OUT/grpc, but `import grpc` finds the installed package
    # first and would never look there: add the folder to that package's search path (what
    # pkgutil.extend_path does for packages split over several folders).
    extra = os.path.join(out, "grpc")
    if os.path.isdir(extra) and extra not in grpc.__path__:
        grpc.__path__.append(extra)
    return out

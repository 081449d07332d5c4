#!/usr/bin/env bash
# Generates Python message and gRPC stubs from protos/ into OUTDIR with Debian's protoc and its
# gRPC plugin (python3 -m grpc_tools.protoc is too old for our protos). Never committed.
#   scripts/gen-python-stubs.sh OUTDIR [PROTO...]   PROTO relative to protos/; default: all of them
# Then put OUTDIR on sys.path: `from helpdesk.v1 import tickets_pb2, tickets_pb2_grpc`.
# grpc/health/v1 lands under OUTDIR/grpc, which the installed `grpc` package shadows: see
# tests/python/hdstubs.py for how to import it.
set -euo pipefail

out=${1:?usage: gen-python-stubs.sh OUTDIR [PROTO...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
plugin=/usr/bin/grpc_python_plugin
for tool in protoc "$plugin"; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "gen-python-stubs.sh: $tool not found; run scripts/deps.sh" >&2; exit 1; }
done

if [ "$#" -eq 0 ]; then
  mapfile -t protos < <(cd "$root/protos" && find . -name '*.proto' | sed 's|^\./||' | sort)
else
  protos=("$@")
fi
mkdir -p "$out"
# -I/usr/include: the well-known types (google/protobuf/*.proto) come from libprotobuf-dev.
protoc -I "$root/protos" -I /usr/include --python_out="$out" --grpc_out="$out" \
  --plugin=protoc-gen-grpc="$plugin" "${protos[@]}"

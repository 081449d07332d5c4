#!/usr/bin/env bash
# The format check of make test: every C file the project keeps (git ls-files *.c *.h) must be as
# clang-format formats it with the project's .clang-format (100 columns, the house style). Prints
# each file that is not, with the first lines clang-format would change, and "format: N files
# checked, M unformatted"; exit 1 when any is. scripts/check-format.sh --fix formats them in place.
# Files may be given as arguments instead of the whole tree (used by its own test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fix=0
if [ "${1:-}" = --fix ]; then fix=1; shift; fi
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(git ls-files '*.c' '*.h'); fi
if ! command -v clang-format >/dev/null 2>&1; then
  echo "format: clang-format is missing (scripts/deps.sh installs it)" >&2
  exit 1
fi
if [ "$fix" = 1 ]; then
  clang-format --style=file:"$root/.clang-format" -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! clang-format --style=file:"$root/.clang-format" --dry-run --Werror "$f" >/dev/null 2>&1; then
    bad=$((bad + 1))
    echo "format: $f is not formatted (scripts/check-format.sh --fix formats it):"
    clang-format --style=file:"$root/.clang-format" "$f" | diff -u "$f" - | sed -n '3,12p' || true
  fi
done
echo "format: ${#files[@]} files checked, $bad unformatted"
[ "$bad" -eq 0 ]

#!/usr/bin/python3
"""The README's examples, run as a reader would paste them, against a running stack.

A fenced block whose info string is `python runnable` or `sh runnable` (the language, a space,
the word runnable) is run; any other block is only read. The python blocks are one session, in
the README's order: each runs in the namespace the blocks above it left (as if pasted one after
the other into one /usr/bin/python3), so a later block uses the `stub` and `tokens` an earlier
one made. Each sh block runs alone, under `bash -e -o pipefail`. Both run from the repository
root, with HELPDESK_<SVC>_TARGET set from the stack's HELPDESK_<SVC>_ADDR (scripts/test.sh
exports those) unless already set; without either, the examples use `make run`'s ports.

Every link of the README is checked too: a relative target must exist inside the repository (a
link outside it, or to the web, is refused: the README is read from a clone).

Run: /usr/bin/python3 tests/python/readme_examples.py [README]    (make test runs it)
Prints one ok/FAIL line per block and per link, then "N passed, N failed".
"""
import io
import os
import re
import subprocess
import sys
import traceback
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("tickets", "routing", "accounts", "kpi")
FENCE = re.compile(r"^```(.*)$")
LINK = re.compile(r"\]\(([^)\s]+)\)")
BLOCK_TIMEOUT_S = 120


def blocks(text):
    """(line, language, runnable, code) of every fenced block; line is the opening fence's."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        words = m.group(1).split()
        start, code = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            code.append(lines[i])
            i += 1
        i += 1
        out.append((start, words[0] if words else "", "runnable" in words[1:], "\n".join(code) + "\n"))
    return out


def links(text):
    """(line, target) of every markdown link outside code blocks."""
    out, in_code = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code:
            out.extend((n, t) for t in LINK.findall(line))
    return out


def check_link(readme, target):
    """None when target is fine, else why not."""
    if target.startswith("#"):
        return None
    if re.match(r"^[a-z][a-z0-9+.-]*:", target):
        return "points outside the repository"
    path = (readme.parent / target.split("#", 1)[0]).resolve()
    if ROOT not in path.parents and path != ROOT:
        return "points outside the repository"
    if not path.exists():
        return "does not exist"
    return None


def stack_env():
    env = dict(os.environ)
    for svc in SERVICES:
        addr = env.get(f"HELPDESK_{svc.upper()}_ADDR")
        if addr and not env.get(f"HELPDESK_{svc.upper()}_TARGET"):
            env[f"HELPDESK_{svc.upper()}_TARGET"] = addr
    return env


def run_sh(code, env):
    p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
    return p.returncode == 0, p.stdout + p.stderr, f"exit status {p.returncode}"


def run_python(code, namespace, name):
    """Runs code in namespace (the session so far); its output goes to ours."""
    buf = io.StringIO()
    try:
        with redirect_stdout(buf):
            exec(compile(code, name, "exec"), namespace)  # noqa: S102 - the README's own code
        return True, buf.getvalue(), ""
    except Exception as e:  # the block failed: say where
        return False, buf.getvalue() + traceback.format_exc(limit=4), f"{type(e).__name__}: {e}"


def main():
    readme = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "README.md"
    text = readme.read_text()
    env = stack_env()
    os.environ.update(env)  # the python session reads the same settings
    os.chdir(ROOT)
    passed = failed = 0
    session = {"__name__": "__readme__"}
    session_broken = False
    found = [b for b in blocks(text) if b[2]]
    for line, lang, _, code in found:
        name = f"{readme.name}:{line} ({lang} runnable)"
        if lang == "python":
            if session_broken:
                ok, out, why = False, "", "an earlier python block failed; this one needs it"
            else:
                ok, out, why = run_python(code, session, name)
                session_broken = not ok
        elif lang == "sh":
            ok, out, why = run_sh(code, env)
        else:
            ok, out, why = False, "", f"no runner for language '{lang}' (python or sh)"
        for l in out.rstrip().splitlines():
            print(f"    {l}")
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {why}"), flush=True)
        passed, failed = passed + ok, failed + (not ok)
    if not found:
        print(f"FAIL {readme.name}: no block is marked runnable")
        failed += 1
    for line, target in links(text):
        why = check_link(readme, target)
        print(f"{'ok  ' if not why else 'FAIL'} {readme.name}:{line} link {target}"
              + (f": {why}" if why else ""))
        passed, failed = passed + (not why), failed + bool(why)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

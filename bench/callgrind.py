#!/usr/bin/env python3
"""Instructions per request, counted by callgrind: a figure that does not move with the
machine's load, so that a regression shows even on a busy or shared machine.

    python3 bench/callgrind.py [--no-build] [--requests N] [--out FILE] [--keep]

Builds the release binary (as bench/run.sh does), starts `taskapi serve` on a fresh SQLite
database under `valgrind --tool=callgrind` with instrumentation off, registers a user and
stores 50 tasks over HTTP, then for each measured request: sends a few unmeasured ones
(warm caches, prepared statements), zeroes the counters, turns instrumentation on, sends
N requests one after another on one keep-alive connection, turns it off and dumps. The
instructions of every thread of the server (actix workers, blocking threads with SQLite,
housekeeping) in that window, divided by N, are the figure. The client (this script) is
another process and is not counted.

Needs valgrind (`apt-get install -y valgrind`). Takes a few minutes: the server runs about
50 times slower under callgrind.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "callgrind-password-123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.token = None

    def call(self, method, path, body=None, expect=(200,), extra=None):
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status not in expect:
            sys.exit(f"{method} {path} answered {response.status}: {payload[:300]!r}")
        return json.loads(payload) if payload else None


def wait_ready(port, server, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited during start-up ({server.returncode})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health/ready")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("the server did not become ready")


def control(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def dumped_instructions(work, pid, before):
    """Instructions in the dump that appeared since `before` (the set of files then)."""
    # callgrind dumps when the server next runs code: an idle server may take a moment.
    deadline = time.monotonic() + 30
    while True:
        new = sorted(set(work.glob(f"callgrind.out.{pid}*")) - before,
                     key=lambda p: p.stat().st_mtime)
        if new or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not new:
        sys.exit("callgrind wrote no dump")
    total = 0
    for path in new:
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"(?:summary|totals):\s+(\d+)", line)
            if m:
                total = max(total, int(m.group(1)))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--out", help="also write the Markdown table here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder and its dumps (for callgrind_annotate)")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = target / "release" / "taskapi"
    if not binary.exists():
        sys.exit(f"no binary at {binary}")

    work = Path(tempfile.mkdtemp(prefix="taskapi-callgrind."))
    port = free_port()
    env = dict(os.environ,
               TASKAPI_ENV="production",
               TASKAPI__SERVER__HOST="127.0.0.1",
               TASKAPI__SERVER__PORT=str(port),
               TASKAPI__DATABASE__URL=f"sqlite://{work}/taskapi.db",
               TASKAPI__AUTH__JWT_SECRET=secrets.token_urlsafe(48),
               TASKAPI__AUTH__BCRYPT_COST="4",
               TASKAPI__AUTH__ACCESS_TTL="3h",
               TASKAPI__THROTTLE__ENABLED="false",
               TASKAPI__QUOTA__WRITES_PER_MINUTE="0",
               TASKAPI__QUOTA__TASKS_PER_USER="0",
               # Generous: every request is ~50 times slower under callgrind.
               TASKAPI__SERVER__REQUEST_TIMEOUT="300s",
               TASKAPI__DATABASE__STATEMENT_TIMEOUT="60s",
               TASKAPI__DATABASE__POOL_TIMEOUT="60s",
               RUST_LOG="warn")
    log = open(work / "server.log", "w")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no",
         f"--callgrind-out-file={work}/callgrind.out.%p", str(binary), "serve"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(port, server)
        api = Api(port)
        api.call("POST", "/register", {"email": "cg@bench.invalid", "password": PASSWORD},
                 expect=(201,))
        api.token = api.call("POST", "/login",
                             {"email": "cg@bench.invalid", "password": PASSWORD})["access_token"]
        ids = [api.call("POST", "/tasks", {"title": f"task {n}", "tags": ["bench"]},
                        expect=(201,))["id"] for n in range(50)]
        counter = iter(range(10**9))
        scenarios = [
            ("GET /ping", lambda: api.call("GET", "/ping")),
            ("GET /tasks/{id}", lambda: api.call("GET", f"/tasks/{ids[0]}")),
            ("GET /tasks?limit=50", lambda: api.call("GET", "/tasks?limit=50")),
            ("POST /tasks", lambda: api.call("POST", "/tasks",
                                             {"title": f"new {next(counter)}"}, expect=(201,))),
            # As the web client creates: each with a new Idempotency-Key.
            ("POST /tasks with Idempotency-Key", lambda: api.call(
                "POST", "/tasks", {"title": f"keyed {next(counter)}"}, expect=(201,),
                extra={"Idempotency-Key": f"callgrind-{next(counter)}"})),
            ("PATCH /tasks/{id}", lambda: api.call("PATCH", f"/tasks/{ids[1]}",
                                                   {"title": f"renamed {next(counter)}"})),
            # Each move takes the next of the other tasks to the first place, so each writes.
            ("POST /tasks/{id}/move", lambda: api.call(
                "POST", f"/tasks/{ids[2 + next(counter) % 48]}/move", {"after_id": None})),
        ]
        results = []
        for name, send in scenarios:
            for _ in range(args.warmup):
                send()
            before = set(work.glob(f"callgrind.out.{server.pid}*"))
            control(server.pid, "--zero")
            control(server.pid, "--instr=on")
            for _ in range(args.requests):
                send()
            control(server.pid, "--instr=off")
            control(server.pid, f"--dump={name}")
            instructions = dumped_instructions(work, server.pid, before)
            results.append((name, instructions / args.requests))
            print(f"{name}: {instructions / args.requests / 1000:.0f} k instructions a request",
                  file=sys.stderr)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    ping = results[0][1]
    lines = [
        f"Instructions per request (callgrind, SQLite, release build, commit {commit}, "
        f"{args.requests} requests each after {args.warmup} unmeasured, one keep-alive "
        f"connection):",
        "",
        "| request | instructions | ÷ `GET /ping` |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{name}` | {round(ir):,} | {ir / ping:.1f} |".replace(",", " ")
              for name, ir in results]
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")
    if args.keep:
        print(f"dumps kept in {work}", file=sys.stderr)
    else:
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()

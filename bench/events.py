#!/usr/bin/env python3
"""Live events under load (standard library only): how much 1 000 open GET /events streams
cost the server, and how long a change takes to reach all of them. See bench/README.md.

  python3 bench/events.py BINARY [--backend sqlite|postgres] [--streams 1000] [--writes 50]
                                 [--cross]

Starts BINARY (a release build of taskapi) on a fresh database (SQLite in a temporary
folder, or a new database on --pg-url), registers one account, opens --streams streams of
it (raising events.max_streams_per_user to match), then makes --writes tasks one after the
other through another connection. For each write it records, per stream, the time from just
before the POST until the stream has received the change, and reports over every (write,
stream) pair the p50, p99 and maximum, and the server's resident memory with no stream and
with every stream open (from /proc). With --cross (PostgreSQL), a second instance on the
same database holds the streams while the writes go through the first, so every change
crosses instances. Results go to stdout as JSON.
"""

import argparse
import asyncio
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def call(port, method, path, body=None, token=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data else None


def wait_ready(port, deadline):
    while time.monotonic() < deadline:
        try:
            status, _ = call(port, "GET", "/health/ready")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("the server did not become ready")


class Stream:
    """One open stream: the bytes it received, and when each awaited marker arrived."""

    def __init__(self):
        self.buffer = b""
        self.seen = {}
        self.waiting = None

    async def run(self, port, token, opened):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            sys.exit(f"a stream was refused: {head[:200]!r}")
        opened.set_result(None) if not opened.done() else None
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.monotonic()
            self.buffer += chunk
            marker = self.waiting
            if marker is not None and marker not in self.seen and marker.encode() in self.buffer:
                self.seen[marker] = now
                self.buffer = b""


async def measure(port, write_port, token, streams, writes, pid):
    holders = [Stream() for _ in range(streams)]
    opened = [asyncio.get_running_loop().create_future() for _ in holders]
    tasks = [asyncio.create_task(h.run(port, token, o)) for h, o in zip(holders, opened)]
    await asyncio.gather(*opened)
    await asyncio.sleep(1.0)
    latencies = []
    loop = asyncio.get_running_loop()
    for n in range(writes):
        marker = f"bench-event-{n}-{uuid.uuid4().hex[:8]}"
        for h in holders:
            h.waiting = marker
        started = time.monotonic()
        status, _ = await loop.run_in_executor(
            None, lambda: call(write_port, "POST", "/tasks", {"title": marker}, token)
        )
        if status != 201:
            sys.exit(f"a write answered {status}")
        deadline = started + 30
        while time.monotonic() < deadline and not all(marker in h.seen for h in holders):
            await asyncio.sleep(0.005)
        missing = sum(1 for h in holders if marker not in h.seen)
        if missing:
            sys.exit(f"write {n}: {missing} streams did not receive it within 30 s")
        latencies.extend(h.seen[marker] - started for h in holders)
        await asyncio.sleep(0.05)
    open_rss = rss_kib(pid)
    for t in tasks:
        t.cancel()
    return latencies, open_rss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--port", type=int, default=18_571)
    parser.add_argument("--cross", action="store_true",
                        help="streams on a second instance, writes through the first")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.streams * 2 + 256)), hard))
    work = tempfile.mkdtemp(prefix="taskapi-events-")
    database = None
    if args.backend == "sqlite":
        url = f"sqlite://{work}/bench.db"
    else:
        database = f"bench_events_{uuid.uuid4().hex[:8]}"
        subprocess.run(["psql", args.pg_url, "-qc", f"CREATE DATABASE {database}"], check=True)
        parsed = urllib.parse.urlsplit(args.pg_url)
        url = urllib.parse.urlunsplit(parsed._replace(path=f"/{database}"))
    env = dict(
        os.environ,
        TASKAPI_ENV="development",
        TASKAPI__SERVER__HOST="127.0.0.1",
        TASKAPI__SERVER__PORT=str(args.port),
        TASKAPI__DATABASE__URL=url,
        TASKAPI__AUTH__JWT_SECRET="bench-events-" + "x" * 40,
        TASKAPI__AUTH__BCRYPT_COST="4",
        TASKAPI__AUTH__ACCESS_TTL="3h",
        TASKAPI__THROTTLE__ENABLED="false",
        TASKAPI__QUOTA__WRITES_PER_MINUTE="0",
        TASKAPI__EVENTS__MAX_STREAMS_PER_USER=str(min(args.streams, 1000)),
        RUST_LOG="warn,taskapi::access=off",
    )
    if args.cross and args.backend != "postgres":
        sys.exit("--cross needs --backend postgres (instances share a PostgreSQL database)")
    servers = []
    ports = [args.port, args.port + 1] if args.cross else [args.port]
    for n, port in enumerate(ports):
        servers.append(subprocess.Popen(
            [args.binary, "serve"], cwd=work, env=dict(env, TASKAPI__SERVER__PORT=str(port)),
            stdout=subprocess.DEVNULL, stderr=open(f"{work}/server{n}.log", "w")))
        wait_ready(port, time.monotonic() + 60)
    server = servers[-1]
    stream_port = ports[-1]
    try:
        email = "events@example.com"
        password = "a long bench password"
        status, _ = call(args.port, "POST", "/register", {"email": email, "password": password})
        if status != 201:
            sys.exit(f"register answered {status}")
        status, login = call(args.port, "POST", "/login", {"email": email, "password": password})
        token = login["access_token"]
        idle_rss = rss_kib(server.pid)
        latencies, open_rss = asyncio.run(
            measure(stream_port, args.port, token, args.streams, args.writes, server.pid))
        latencies.sort()
        def pct(p):
            return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000
        print(json.dumps({
            "backend": args.backend,
            "across_instances": args.cross,
            "streams": args.streams,
            "writes": args.writes,
            "deliveries": len(latencies),
            "latency_ms": {"p50": round(pct(0.50), 1), "p99": round(pct(0.99), 1),
                           "max": round(latencies[-1] * 1000, 1),
                           "mean": round(statistics.fmean(latencies) * 1000, 1)},
            "rss_mib": {"no_streams": round(idle_rss / 1024, 1),
                        "streams_open": round(open_rss / 1024, 1),
                        "growth": round((open_rss - idle_rss) / 1024, 1)},
        }, indent=2))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if database:
            subprocess.run(["psql", args.pg_url, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Attackers of bench/run.sh's attack scenarios (standard library only). See bench/README.md.

Subcommands:
  seed-search BASE TOKEN COUNT LENGTH   create COUNT tasks over HTTP whose description is
                                        LENGTH times 'a' (the stored half of the search bomb;
                                        the searches themselves are sent by wrk)
  slow BASE COUNT SECONDS READY STATS   hold COUNT slow connections for SECONDS: half send
                                        one request, then one byte of the next head every
                                        --interval; the other half send a POST /login head
                                        and then its body one byte at a time, each from an
                                        X-Forwarded-For address of its own (the server must
                                        trust 127.0.0.1 as a proxy), so that the per-address
                                        throttle does not answer them at once. A connection
                                        the server closes is opened again at once, so COUNT
                                        stay open. READY is written once all COUNT are open
                                        and dribbling; STATS (JSON) at the end.
"""

import argparse
import asyncio
import http.client
import json
import signal
import statistics
import sys
import time
import urllib.parse
from pathlib import Path


def seed_search(base, token, count, length):
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    description = "a" * length
    for n in range(count):
        body = json.dumps({"title": f"search bomb {n}", "description": description})
        conn.request("POST", "/tasks", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            sys.exit(f"seed-search: task {n} answered {response.status}")
    conn.close()


class Stats:
    def __init__(self):
        self.kinds = {kind: {"opened": 0, "closed_by_server": 0, "statuses": {},
                             "held_s": [], "open_at_end": 0}
                      for kind in ("head", "body")}
        self.connect_errors = 0
        self.dribbling = 0

    def closed(self, kind, opened_at, status):
        k = self.kinds[kind]
        k["closed_by_server"] += 1
        k["held_s"].append(time.monotonic() - opened_at)
        key = str(status) if status else "none"
        k["statuses"][key] = k["statuses"].get(key, 0) + 1

    def summary(self, count, seconds):
        out = {"connections": count, "seconds": seconds, "connect_errors": self.connect_errors}
        for kind, k in self.kinds.items():
            held = k.pop("held_s")
            k["held_median_s"] = round(statistics.median(held), 2) if held else None
            k["held_max_s"] = round(max(held), 2) if held else None
            out[kind] = k
        return out


async def read_head(reader):
    """Reads one response head (and its body, by Content-Length); returns the status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def slow_client(number, kind, host, port, interval, stats, stop, ready_counter):
    counted = False
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            stats.connect_errors += 1
            await asyncio.sleep(0.5)
            continue
        stats.kinds[kind]["opened"] += 1
        status = None
        opened_at = time.monotonic()
        try:
            if kind == "head":
                # One whole request, then the next one's head a byte at a time, never ending.
                writer.write(b"GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n")
                await writer.drain()
                await read_head(reader)
                dribble = b"GET /ping HTTP/1.1\r\nX-Slow: " + b"a" * 100_000
            else:
                # A login whose body never finishes (999 bytes at one a second).
                address = f"172.{16 + number // 65536 % 16}.{number // 256 % 256}.{number % 256}"
                writer.write(b"POST /login HTTP/1.1\r\nHost: bench\r\n"
                             b"X-Forwarded-For: " + address.encode() + b"\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
                await writer.drain()
                dribble = b'{"email":"' + b"a" * 900
            opened_at = time.monotonic()
            if not counted:
                counted = True
                ready_counter()
            received = b""
            for i in range(len(dribble)):
                if stop.is_set():
                    break
                writer.write(dribble[i:i + 1])
                await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(4096), timeout=interval)
                except asyncio.TimeoutError:
                    continue
                if not data:
                    break  # the server closed the connection
                received += data
                if status is None and b"\r\n" in received:
                    try:
                        status = int(received.split(b"\r\n", 1)[0].split()[1])
                    except (IndexError, ValueError):
                        status = -1
            if stop.is_set():
                stats.kinds[kind]["open_at_end"] += 1
            else:
                stats.closed(kind, opened_at, status)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            if not stop.is_set():
                stats.closed(kind, opened_at, status)
        finally:
            writer.close()


async def slow(base, count, seconds, ready_path, stats_path, interval):
    parsed = urllib.parse.urlsplit(base)
    stats = Stats()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    started = 0

    def one_ready():
        nonlocal started
        started += 1
        if started == count:
            Path(ready_path).write_text(f"{time.time()}\n")

    tasks = []
    for n in range(count):
        kind = "head" if n % 2 == 0 else "body"
        tasks.append(asyncio.create_task(
            slow_client(n, kind, parsed.hostname, parsed.port, interval, stats, stop, one_ready)))
        if n % 50 == 49:
            await asyncio.sleep(0.05)  # no SYN burst: 1 000 connections in about a second
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        stop.set()
    await asyncio.wait(tasks, timeout=interval + 5)
    for task in tasks:
        task.cancel()
    summary = stats.summary(count, seconds)
    summary["all_open"] = started == count
    Path(stats_path).write_text(json.dumps(summary) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("seed-search")
    p.add_argument("base")
    p.add_argument("token")
    p.add_argument("count", type=int)
    p.add_argument("length", type=int)
    p = sub.add_parser("slow")
    p.add_argument("base")
    p.add_argument("count", type=int)
    p.add_argument("seconds", type=float)
    p.add_argument("ready")
    p.add_argument("stats")
    p.add_argument("--interval", type=float, default=1.0,
                   help="seconds between two bytes of one connection")
    args = parser.parse_args()
    if args.command == "seed-search":
        seed_search(args.base, args.token, args.count, args.length)
    elif args.command == "slow":
        asyncio.run(slow(args.base, args.count, args.seconds, args.ready, args.stats,
                         args.interval))


if __name__ == "__main__":
    main()

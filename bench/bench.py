#!/usr/bin/env python3
"""Helpers of bench/run.sh that are easier in Python than in bash (standard library only).

Subcommands:
  free-port                          print a TCP port that is free on 127.0.0.1
  json-field KEY                     print KEY of the JSON object read on stdin
  seed-sqlite DB ...                 insert users and tasks straight into a SQLite database
  sqlite-query DB SQL                print the rows of a query, one tab-separated row a line
  pg-url URL DB                      print the PostgreSQL URL with its database replaced
  walk BASE TOKEN PATH PAGES         follow `Link: rel="next"` PAGES-1 times from PATH and
                                     print the path of the last page reached
  sqlite-sync-cost DB                time one-row commits in WAL mode with synchronous=NORMAL
                                     and FULL on DB's disk; print commits/s of each (JSON)
  report DIR                         print the report of one backend's run and write it as
                                     Markdown (see bench/README.md)

The SQLite rows are written in exactly the forms of crates/storage/src/codec.rs: ids as
hyphenated lower-case UUIDs (time-ordered, version 7 like the application's), timestamps as
fixed-width RFC 3339 UTC text with six fractional digits and a trailing Z.
"""

import argparse
import http.client
import json
import random
import re
import socket
import sqlite3
import sys
import time
import urllib.parse
from pathlib import Path

# Seeded data starts here (2025-01-01T00:00:00Z); the benchmark's own requests are "now".
BASE_EPOCH = 1_735_689_600
WORDS = ["Buy milk", "Write report", "Call Alice", "Fix the bike", "Plan trip",
         "Review pull request", "Pay bills", "Book dentist", "Water plants", "Renew passport"]
DAY = 86_400


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def json_field(key):
    print(json.load(sys.stdin)[key])


def ts_text(micros):
    """Epoch microseconds -> 2025-01-01T00:00:00.000000Z (the stored SQLite form)."""
    seconds, frac = divmod(micros, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%06dZ" % frac


def uuid7(micros, rng):
    """A version-7 UUID text for the instant: 48-bit milliseconds, then random bits."""
    value = ((micros // 1000) << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) \
        | (0b10 << 62) | rng.getrandbits(62)
    h = "%032x" % value
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def task_row(n, owner, micros, rng):
    """Row n of the seeded task shape (the PostgreSQL seed in sql/ builds the same shape)."""
    title = f"{WORDS[n % len(WORDS)]} #{n}"
    description = "" if n % 2 == 0 else f"Seeded by bench/run.sh for the load benchmark, row {n}."
    created = ts_text(micros)
    done = n % 4 == 0
    completed = ts_text(micros + 3_600_000_000) if done else None
    due = None if n % 3 == 0 else ts_text(micros + (n % 30 + 1) * DAY * 1_000_000)
    updated = completed if done else created
    title_key = title.lower()
    task_id = uuid7(micros, rng)
    # In the owner's inbox (whose id is the owner's), at the top level, at the position the
    # migration to lists gave existing tasks: `z`, the id's hex, `1` (creation order).
    position = "z" + task_id.replace("-", "") + "1"
    return n, (task_id, owner, owner, position, title, description, 1 if done else 0,
               completed, n % 3, due, created, updated, 1, title_key,
               title_key + "\x01" + description.lower())


TASK_INSERT = (
    "INSERT INTO tasks (id, created_by, list_id, position, title, description, is_done, "
    "completed_at, priority, due_at, created_at, updated_at, version, title_key, search_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
TAG_INSERT = "INSERT INTO task_tags (task_id, position, tag) VALUES (?, ?, ?)"


def insert_tasks(conn, rows_iter, batch=50_000):
    """Inserts (n, row) pairs in transactions of `batch` rows, tagging every 10th task."""
    total = 0
    while True:
        rows = []
        for row in rows_iter:
            rows.append(row)
            if len(rows) == batch:
                break
        if not rows:
            return total
        tags = []
        for n, row in rows:
            if n % 10 == 0:
                tags.append((row[0], 0, "work"))
                if n % 20 == 0:
                    tags.append((row[0], 1, "home"))
        with conn:
            conn.executemany(TASK_INSERT, (row for _, row in rows))
            conn.executemany(TAG_INSERT, tags)
        total += len(rows)


def seed_sqlite(args):
    # Another stream per call, so that ids of separate calls never repeat their random bits.
    rng = random.Random(f"{args.seed}/{args.owner}/{args.users}/{args.first_row}")
    conn = sqlite3.connect(args.db, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    conn.isolation_level = "DEFERRED"  # `with conn:` now wraps each batch in a transaction
    start = time.monotonic()
    inserted = 0
    # Row numbers keep titles (and so title keys) distinct across calls.
    first = args.first_row
    if args.owner:
        def rows():
            for i in range(args.tasks):
                n = first + i
                yield task_row(n, args.owner, BASE_EPOCH * 1_000_000 + n * 1_000_003, rng)
        inserted += insert_tasks(conn, rows())
    else:
        users = []
        with conn:
            for u in range(args.users):
                micros = BASE_EPOCH * 1_000_000 - (args.users - u) * 1_000_000
                user_id = uuid7(micros, rng)
                users.append(user_id)
                created = ts_text(micros)
                conn.execute(
                    "INSERT INTO users (id, email, password_hash, role, disabled, created_at, "
                    "updated_at) VALUES (?, ?, ?, 'user', 0, ?, ?)",
                    (user_id, f"seed{u}@bench.invalid", "seeded-never-logs-in", created, created))
                # Its inbox, as registration makes it.
                conn.execute(
                    "INSERT INTO lists (id, name, name_key, inbox_of, archived, created_at, "
                    "updated_at, version) VALUES (?, 'Inbox', 'inbox', ?, 0, ?, ?, 1)",
                    (user_id, user_id, created, created))
                conn.execute(
                    "INSERT INTO list_members (list_id, user_id, role, added_at) "
                    "VALUES (?, ?, 'owner', ?)", (user_id, user_id, created))
        # Tasks grouped by owner (as an owner's tasks would be spread in time, but inserted
        # together so that the owner-led indexes grow in order).
        def rows():
            for i in range(args.tasks):
                n = first + i
                owner = users[i * len(users) // args.tasks]
                yield task_row(n, owner, BASE_EPOCH * 1_000_000 + n * 1_000_003, rng)
        if users and args.tasks:
            inserted += insert_tasks(conn, rows())
    conn.isolation_level = None
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"seeded {inserted} tasks in {time.monotonic() - start:.1f}s", file=sys.stderr)


def sqlite_query(db, sql):
    # Autocommit, as psql: a statement that writes (a seed) is kept.
    conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    for row in conn.execute(sql):
        print("\t".join("" if v is None else str(v) for v in row))
    conn.close()


def sqlite_sync_cost(db, seconds=2.0, rounds=2):
    """Commits per second of one-row transactions on one connection, in WAL mode, with
    synchronous=NORMAL and FULL in turn (`rounds` times each, the best kept): what FULL's sync
    of the log at every commit costs on this disk, without the server around it."""
    best = {"NORMAL": 0.0, "FULL": 0.0}
    for _ in range(rounds):
        for mode in ("NORMAL", "FULL"):
            Path(db).unlink(missing_ok=True)
            conn = sqlite3.connect(db, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {mode}")
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            commits = 0
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t (body) VALUES (?)", ("x" * 200,))
                conn.execute("COMMIT")
                commits += 1
            best[mode] = max(best[mode], commits / (time.monotonic() - start))
            conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)
    print(json.dumps({"normal_cps": round(best["NORMAL"], 1), "full_cps": round(best["FULL"], 1),
                      "sqlite": sqlite3.sqlite_version}))


def pg_url(url, database):
    parts = urllib.parse.urlsplit(url)
    print(urllib.parse.urlunsplit(parts._replace(path="/" + database)))


def walk(base, token, path, pages):
    parsed = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    for page in range(1, pages):
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"walk: page {page} ({path}) answered {response.status}")
        match = re.search(r'<([^>]+)>;\s*rel="next"', response.getheader("Link") or "")
        if not match:
            sys.exit(f"walk: page {page} has no next page; there are fewer than {pages} pages")
        path = match.group(1)
    print(path)


# --- report -----------------------------------------------------------------------------

def load_results(directory):
    runs = {}
    for line in (Path(directory) / "results.jsonl").read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            runs[record["label"]] = record
    meta = {}
    for line in (Path(directory) / "meta.txt").read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            meta[key] = value
    return runs, meta


def report(directory, out_path):
    runs, meta = load_results(directory)
    backend = meta.get("backend", "?")
    cores = int(meta.get("cores", "1"))
    lines = []
    say = lines.append

    say(f"# taskapi load benchmark — {backend}")
    say("")
    say(f"- date: {meta.get('date', '?')}")
    say(f"- machine: {meta.get('cpu', '?')}, {cores} cores, {meta.get('memory', '?')} RAM, "
        f"{meta.get('kernel', '?')}")
    say(f"- commit: {meta.get('commit', '?')}")
    say(f"- database: {meta.get('database', '?')}")
    say(f"- data: {meta.get('tasks_total', '?')} tasks of {meta.get('users_total', '?')} users "
        f"(bench user {meta.get('user_tasks', '?')} tasks, deep user "
        f"{meta.get('deep_tasks', '?')} tasks); seeding took {meta.get('seed_seconds', '?')} s")
    say(f"- load: wrk {meta.get('wrk', '?')}, {meta.get('threads', '?')} threads, "
        f"{meta.get('duration', '?')} per run ({meta.get('login_duration', '?')} for logins), "
        f"bcrypt cost {meta.get('bcrypt_cost', '?')}, throttling off, access log "
        f"{meta.get('access_log', '?')}")
    say("")
    say("| scenario | endpoint | connections | req/s | p50 ms | p99 ms | errors |")
    say("|---|---|---:|---:|---:|---:|---:|")
    for label, record in runs.items():
        errors = record["errors"]
        detail = []
        for key in ("non2xx", "connect", "read", "write", "timeout"):
            if record.get(key):
                detail.append(f"{key} {record[key]}")
        error_text = str(errors) + (f" ({', '.join(detail)})" if detail else "")
        if record.get("attack"):
            # An attacker's answers: refusals are the defence working, not errors.
            answers = [f"{code}: {record[f's{code}']}" for code in (401, 408, 429, 503)
                       if record.get(f"s{code}")]
            error_text = "attacker" + (f" ({', '.join(answers)})" if answers else "")
        say(f"| {label} | `{record.get('endpoint', '?')}` | {record.get('connections', '?')} | "
            f"{record['rps']:.1f} | {record['p50_ms']:.2f} | {record['p99_ms']:.2f} | "
            f"{error_text} |")
    say("")

    def rps(label):
        return runs[label]["rps"] if label in runs and runs[label]["rps"] > 0 else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    mb = lambda key: int(meta[key]) / 1024 if meta.get(key, "").isdigit() else None  # noqa: E731
    idle, peak, after = mb("rss_idle_kb"), mb("rss_peak_high_kb"), mb("rss_after_load_kb")
    say("| resident memory | MB |")
    say("|---|---:|")
    for name, value in (("idle after start on the seeded database", idle),
                        (f"peak during {meta.get('high_connections', '256')} connections", peak),
                        ("idle after all the load", after),
                        ("high-water mark of the process (VmHWM)", mb("rss_hwm_kb"))):
        say(f"| {name} | {'?' if value is None else f'{value:.1f}'} |")
    if mb("rss_peak_slow_kb") is not None:
        say(f"| peak during {meta.get('slow_connections', '1000')} slow connections (and the "
            f"reads) | {mb('rss_peak_slow_kb'):.1f} |")
    say("")

    # One connection's logins follow each other: the mean time of one is a hash plus a little
    # HTTP and SQL. (Its count over the run would be coarser: a few dozen logins.)
    limit = None
    one_login_ms = runs.get("login_c1", {}).get("mean_ms")
    if one_login_ms:
        limit = cores * 1000 / one_login_ms
    login_conns = runs.get("login", {}).get("connections", "?")
    read_target = 0.35 if backend == "sqlite" else 0.30
    sqlite = backend == "sqlite"
    p99 = lambda label: runs[label]["p99_ms"] if label in runs else None  # noqa: E731
    # (target, measured value, comparison, wanted, the runs it is computed from)
    checks = [
        ("GET /tasks/{id} ÷ GET /ping throughput", ratio(rps("get_task"), rps("ping")),
         ">=", read_target, ["get_task", "ping"]),
        (f"logins ({login_conns} conns) ÷ bcrypt limit", ratio(rps("login"), limit),
         ">=", 0.9, ["login", "login_c1"]),
        ("storm: reads ÷ unloaded reads throughput", ratio(rps("storm_reads"), rps("get_task")),
         ">=", 0.5, ["storm_reads", "get_task"]),
        ("storm: reads p99 ÷ unloaded p99", ratio(p99("storm_reads"), p99("get_task")),
         "<", 3.0, ["storm_reads", "get_task"]),
        ("storm: logins ÷ bcrypt limit", ratio(rps("storm_logins"), limit), ">=", 0.45,
         ["storm_logins", "login_c1"]),
        (f"{meta.get('high_connections', '256')} ÷ {meta.get('connections', '32')} "
         "connections throughput", ratio(rps("get_task_high"), rps("get_task")), ">=", 0.9,
         ["get_task_high", "get_task"]),
        (f"list time at {meta.get('tasks_total', '?')} ÷ at {meta.get('small_total', '?')} "
         "tasks", ratio(rps("list_small"), rps("list")), "<=", 1.5, ["list_small", "list"]),
        (f"page {meta.get('deep_page', '?')} time ÷ first page time",
         ratio(rps("deep_first"), rps("deep_last")), "<=", 2.0, ["deep_first", "deep_last"]),
        # The original service's figures as ratios to this run's ping (it was measured
        # listing 50 of 50 stored tasks; list_small is a page of 50 of 1 000).
        ("GET /tasks?limit=50 (list_small) ÷ GET /ping throughput",
         ratio(rps("list_small"), rps("ping")), ">=", 0.13 if sqlite else 0.081,
         ["list_small", "ping"]),
        ("POST /tasks ÷ GET /ping throughput", ratio(rps("create"), rps("ping")), ">=",
         0.075 if sqlite else 0.062, ["create", "ping"]),
        ("PATCH /tasks/{id} (spread) ÷ GET /ping throughput", ratio(rps("update"), rps("ping")),
         ">=", 0.080 if sqlite else 0.053, ["update", "ping"]),
        ("PATCH /tasks/{id} (one row) ÷ GET /ping throughput",
         ratio(rps("update_hot"), rps("ping")), ">=", 0.080 if sqlite else 0.053,
         ["update_hot", "ping"]),
        ("GET /tasks/{id} of a shared list ÷ of the inbox throughput",
         ratio(rps("get_task_shared"), rps("get_task")), ">=", 0.9,
         ["get_task_shared", "get_task"]),
        (f"GET /changes time at {meta.get('changes_total', '?')} ÷ at "
         f"{meta.get('changes_small_total', '?')} changes",
         ratio(rps("changes_small"), rps("changes")), "<=", 1.5, ["changes_small", "changes"]),
        ("idle resident memory (MB)", idle, "<", 30.0, []),
        (f"resident memory at {meta.get('high_connections', '256')} connections (MB)", peak,
         "<", 150.0, ["get_task_high"]),
    ]
    attack_names = {"search": "crafted searches", "slow": "slow connections",
                    "flood": "wrong passwords, one address",
                    "flood_spread": "wrong passwords, spread",
                    "ping_flood": "control: a GET /ping flood"}
    for name in meta.get("attacks", "").split():
        if name == "ping_flood":
            continue  # a control: what any flood from this machine costs, no target
        reads = f"{name}_reads"
        checks.append((f"{attack_names.get(name, name)}: reads ÷ unloaded reads throughput",
                       ratio(rps(reads), rps("get_task")), ">=", 0.5, [reads, "get_task"]))
        checks.append((f"{attack_names.get(name, name)}: reads p99 (ms)", p99(reads), "<", 50.0,
                       [reads]))
    high = runs.get("get_task_high")
    failed = 0
    say("Performance targets (ratios within this run; times are 1 ÷ throughput at equal "
        "connections)")
    say("")
    say("| target | measured | wanted | verdict |")
    say("|---|---:|---:|---|")
    for name, value, op, target, labels in checks:
        broken = [label for label in labels if runs.get(label, {}).get("errors")]
        if value is None:
            verdict = "n/a"
        elif broken:
            # A ratio of runs that got errors (e.g. 4xx) measures the errors, not the service.
            verdict = f"FAIL (errors in {', '.join(broken)})"
            failed += 1
        else:
            ok = {"<": value < target, "<=": value <= target, ">=": value >= target}[op]
            verdict = "PASS" if ok else "FAIL"
            failed += not ok
        shown = "?" if value is None else f"{value:.2f}"
        say(f"| {name} | {shown} | {op} {target:g} | {verdict} |")
    high_errors = high["errors"] if high else None
    verdict = "n/a" if high is None else ("PASS" if high_errors == 0 else "FAIL")
    failed += verdict == "FAIL"
    say(f"| errors at {meta.get('high_connections', '256')} connections | "
        f"{'?' if high_errors is None else high_errors} | = 0 | {verdict} |")
    say("")
    say(f"bcrypt limit = {cores} cores ÷ {one_login_ms or 0:.1f} ms (mean time of one login "
        f"at 1 connection) = {limit or 0:.2f} logins/s. A login is one hash plus a little "
        "HTTP and SQL, so this slightly understates the pure hashing limit.")
    attack_lines = attack_summary(runs, meta, attack_names)
    if attack_lines:
        say("")
        lines.extend(attack_lines)
    sync = json.loads(meta["sync_cost"]) if meta.get("sync_cost") else None
    if sync and sync.get("normal_cps"):
        say("")
        say(f"SQLite {sync.get('sqlite', '?')} (Python's), one connection, one-row "
            f"transactions in WAL mode on the work folder's disk: synchronous=NORMAL "
            f"{sync['normal_cps']:.0f} commits/s, FULL {sync['full_cps']:.0f} commits/s "
            f"(FULL ÷ NORMAL = {sync['full_cps'] / sync['normal_cps']:.2f}). taskapi's SQLite "
            "writers take turns (one commit at a time), so with FULL its writes are bounded by about "
            "the FULL figure.")
    other_errors = sorted(label for label, r in runs.items()
                          if r["errors"] and label != "get_task_high" and not r.get("attack"))
    if other_errors:
        say("")
        say(f"Note: errors in {', '.join(other_errors)} (see the table).")
    text = "\n".join(lines) + "\n"
    print(text)
    if out_path:
        Path(out_path).write_text(text)
    return failed


def attack_summary(runs, meta, names):
    """Lines on the attacks: what each attacker did and was answered, beside the reads."""
    attacks = meta.get("attacks", "").split()
    if not attacks:
        return []
    base = runs.get("get_task")
    lines = ["Attacks (server restarted with throttling on and 127.0.0.1 a trusted proxy; the "
             f"reads are another user's `GET /tasks/{{id}}` at {meta.get('connections', '32')} "
             "connections, as `get_task`)", "",
             "| attack | attacker | reads req/s | ÷ unloaded | reads p99 ms | ÷ unloaded p99 |",
             "|---|---|---:|---:|---:|---:|"]
    for name in attacks:
        reads = runs.get(f"{name}_reads")
        attacker = runs.get(f"{name}_attack")
        if name == "search":
            what = (f"{meta.get('search_tasks', '?')} tasks of {meta.get('search_length', '?')} "
                    f"× 'a', {attacker['connections'] if attacker else '?'} connections of "
                    f"`GET /tasks?q=<199 × a>b`")
        elif name == "slow":
            what = f"{meta.get('slow_connections', '?')} slow connections"
        elif name == "flood":
            what = (f"{attacker['connections'] if attacker else '?'} connections of wrong "
                    "passwords for one email, from one address")
        elif name == "ping_flood":
            what = (f"{attacker['connections'] if attacker else '?'} connections of "
                    "`GET /ping`, the cheapest answer there is (a control: what any flood "
                    "from this machine costs the reads, no target)")
        else:
            what = (f"{attacker['connections'] if attacker else '?'} connections of wrong "
                    "passwords, each for a new email from a new address (X-Forwarded-For)")
        if attacker:
            answers = [f"{code}: {attacker[f's{code}']}" for code in (401, 408, 429, 503)
                       if attacker.get(f"s{code}")]
            ok = attacker["requests"] - attacker["non2xx"]
            what += (f": {attacker['rps']:.0f} req/s, p50 {attacker['p50_ms']:.1f} ms, "
                     f"answers 2xx: {ok}" + "".join(f", {a}" for a in answers))
            sockets = sum(attacker.get(k, 0) for k in ("connect", "read", "write", "timeout"))
            if sockets:
                what += f", socket errors/timeouts: {sockets}"
        if reads and base and base["rps"] and base["p99_ms"]:
            lines.append(f"| {names.get(name, name)} | {what} | {reads['rps']:.1f} | "
                         f"{reads['rps'] / base['rps']:.2f} | {reads['p99_ms']:.2f} | "
                         f"{reads['p99_ms'] / base['p99_ms']:.2f} |")
        else:
            lines.append(f"| {names.get(name, name)} | {what} | ? | ? | ? | ? |")
    control = runs.get("get_task_restarted")
    if control and base and base["rps"]:
        lines.append("")
        lines.append(f"Control: the same reads unloaded on the restarted server "
                     f"(`get_task_restarted`): {control['rps']:.1f} req/s "
                     f"({control['rps'] / base['rps']:.2f} × `get_task`), p99 "
                     f"{control['p99_ms']:.2f} ms.")
    slow = json.loads(meta["slow_stats"]) if meta.get("slow_stats") else None
    if slow:
        lines.append("")
        parts = []
        for kind, text in (("head", "dribbling the next request's head"),
                           ("body", "dribbling a POST /login body")):
            k = slow.get(kind, {})
            shown = lambda v: "—" if v is None else v  # noqa: E731
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(k.get("statuses", {}).items()))
            parts.append(f"{text}: {k.get('opened', 0)} opened, {k.get('closed_by_server', 0)} "
                         f"closed by the server after a median {shown(k.get('held_median_s'))} s "
                         f"(max {shown(k.get('held_max_s'))} s; answers {statuses or 'none'}), "
                         f"{k.get('open_at_end', 0)} open at the end")
        lines.append(f"Slow connections ({slow.get('connections')} at once"
                     f"{'' if slow.get('all_open') else ', NOT all opened'}; connect errors "
                     f"{slow.get('connect_errors', 0)}) — " + "; ".join(parts) + ".")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("free-port")
    p = sub.add_parser("json-field")
    p.add_argument("key")
    p = sub.add_parser("seed-sqlite")
    p.add_argument("db")
    p.add_argument("--owner", help="give every task to this user id (else create --users)")
    p.add_argument("--users", type=int, default=0)
    p.add_argument("--tasks", type=int, required=True)
    p.add_argument("--first-row", type=int, default=0, help="row number of the first task")
    p.add_argument("--seed", type=int, default=7)
    p = sub.add_parser("sqlite-query")
    p.add_argument("db")
    p.add_argument("sql")
    p = sub.add_parser("sqlite-sync-cost")
    p.add_argument("db")
    p = sub.add_parser("pg-url")
    p.add_argument("url")
    p.add_argument("database")
    p = sub.add_parser("walk")
    p.add_argument("base")
    p.add_argument("token")
    p.add_argument("path")
    p.add_argument("pages", type=int)
    p = sub.add_parser("report")
    p.add_argument("dir")
    p.add_argument("--out")
    args = parser.parse_args()
    if args.command == "free-port":
        free_port()
    elif args.command == "json-field":
        json_field(args.key)
    elif args.command == "seed-sqlite":
        seed_sqlite(args)
    elif args.command == "sqlite-query":
        sqlite_query(args.db, args.sql)
    elif args.command == "sqlite-sync-cost":
        sqlite_sync_cost(args.db)
    elif args.command == "pg-url":
        pg_url(args.url, args.database)
    elif args.command == "walk":
        walk(args.base, args.token, args.path, args.pages)
    elif args.command == "report":
        report(args.dir, args.out)


if __name__ == "__main__":
    main()

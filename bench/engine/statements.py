#!/usr/bin/env python3
"""Statements per execution on PostgreSQL, one in flight (issue 10: each
statement is a round trip). Starts `troupe serve` on a database furnished by
setup.py whose sessions log every statement (log_statement = all), runs N
executions one after the other (each waited for by status reads), and prints
the statements per execution: all of them, the status reads' share (measured
apart and taken off), and each kind of statement.

usage: statements.py TROUPE DATA_DIR FAKE_BASE_URL PG_LOG [N]
  TROUPE_DATABASE_URL names the (fresh, furnished) database; PG_LOG is its
  server's log file (tests/pg.sh: DIR/log). Time-driven statements (idle job
  polls, cancel polls, lease renewals) fall in the count as they happen."""
import json, os, re, socket, subprocess, sys, time, urllib.request

binp, data, fake, pglog = sys.argv[1:5]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 50
key, wf = subprocess.check_output([sys.executable, os.path.join(os.path.dirname(__file__), "setup.py"), binp, data, fake],
                                  text=True).split()
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
base = f"http://127.0.0.1:{port}"
p = subprocess.Popen([binp, "serve", "--listen", f"127.0.0.1:{port}", "--data", data],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    req.add_header("authorization", "Bearer " + key)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


# One statement per log entry: "LOG:  statement: ..." (simple protocol) or
# "LOG:  execute <name>: ..." (extended).
STMT = re.compile(r"LOG:\s+(?:statement|execute [^:]*):\s+(.*)")


def statements(since):
    with open(pglog, errors="replace") as f:
        f.seek(since)
        return [m.group(1).strip() for m in map(STMT.search, f.read().splitlines()) if m]


def kind(sql):
    words = re.sub(r"\s+", " ", sql).split(" ")
    head = " ".join(words[:4]) if words[0].upper() in ("SELECT", "WITH") else " ".join(words[:3])
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", sql, re.I)
    return (words[0].upper() + (" " + table.group(1) if table else "")) if words[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK") else words[0].upper()


def run_one():
    ex = call("POST", f"/api/v1/workflows/{wf}/execute", {"inputs": {"topic": "statements"}})
    reads = 0
    while True:
        reads += 1
        st = call("GET", f"/api/v1/executions/{ex['id']}")["status"]
        if st in ("succeeded", "failed", "cancelled"):
            return st, reads
        time.sleep(0.005)


try:
    for _ in range(400):
        try:
            call("GET", "/readyz")
            break
        except Exception:
            time.sleep(0.05)
    last, _ = run_one()  # warm: caches, connections
    # a status read alone
    mark = os.path.getsize(pglog)
    ex = call("GET", "/api/v1/executions?limit=1")["items"][0]["id"]
    for _ in range(20):
        call("GET", f"/api/v1/executions/{ex}")
    time.sleep(0.3)
    per_read = len(statements(mark)) / 20
    mark = os.path.getsize(pglog)
    reads = ok = 0
    for _ in range(n):
        st, r = run_one()
        reads += r
        ok += st == "succeeded"
    time.sleep(0.3)  # the last writes reach the log
    got = statements(mark)
    kinds = {}
    for q in got:
        kinds[kind(q)] = kinds.get(kind(q), 0) + 1
    print(f"executions: {n} ({ok} succeeded), one in flight; {reads / n:.1f} status reads each, "
          f"{per_read:.1f} statements per read")
    print(f"statements per execution: {len(got) / n:.1f} in all, {(len(got) - reads * per_read) / n:.1f} "
          f"without the status reads")
    for k, c in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {c / n:6.2f}  {k}")
finally:
    p.terminate()
    p.wait()

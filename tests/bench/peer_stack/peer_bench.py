#!/usr/bin/python3
"""kpid against the Prometheus + sql_exporter + Alertmanager stack, side by side.

Started by run.sh (which finds the binaries); everything happens in RUN_DIR on 127.0.0.1:

  PostgreSQL  table kpi(id, name, value, crossed): SERIES series. A load generator updates
              every value every TICK seconds so that it rides 3 % of the range above its
              goal's expected trajectory. DRIFT of the series are, each at its own scheduled
              time, moved by one UPDATE to 20 % below the trajectory: off_track by the
              threshold (gap > 0.15) and by the forecast, and they stay there.
  kpid        one SQL KPI per series with a deadline goal (use_forecast, notify_on
              off_track), collected every INTERVAL and judged every INTERVAL; a webhook
              and an email receiver, one group per KPI, group_wait 0s.
  stack       prometheus-sql-exporter running the same queries every INTERVAL, Prometheus
              scraping it every INTERVAL with one alerting rule per series (value below the
              trajectory's off_track line, or predict_linear over the forecast window below
              the forecast's off_track line), evaluated every INTERVAL with `for: 0s`;
              Alertmanager with one group per KPI, group_wait 0s, to a webhook and SMTP.

Both sides run at the same time against the same database and the same crossings, after
both are ready. Measured over DURATION seconds from then: RSS (sum of each side's
processes, /proc/PID/status every second: peak and mean), CPU seconds (utime + stime,
children included, from /proc/PID/stat, the difference over the window), on-disk state at
the end, and per crossing the time from the UPDATE's commit to the side's webhook receiving
the alert for that series (p50, p99). PostgreSQL serves both and counts for neither; the
CPU of the backends serving each side is reported beside it.
"""

import datetime
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

try:
    import psycopg2
except ImportError:
    sys.exit("peer_stack: python3-psycopg2 is needed (apt-get install python3-psycopg2)")

HERE = os.path.dirname(os.path.abspath(__file__))
PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# The goal shared by every series: 0 -> 1000 over 20 days, of which 19 have passed.
BASELINE, TARGET = 0.0, 1000.0
AT_RISK, OFF_TRACK = 0.05, 0.15
ABOVE, BELOW = 0.03, -0.20  # offsets from the trajectory, as fractions of the range
FORECAST_WINDOW = "10m"


class StartError(Exception):
    pass


def env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        sys.exit(f"peer_stack: {name} must be a whole number")


def env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        sys.exit(f"peer_stack: {name} must be a number")


def free_port(taken):
    """A free port below the ephemeral range, so that no outgoing connection of the many
    made during the run (database, scrapes, webhooks) takes it before its server binds."""
    with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
        low = int(f.read().split()[0])
    while True:
        port = random.randrange(max(1024, low - 12000), low)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except OSError as e:  # URLError, HTTPError, refused, timeout
        return getattr(e, "code", None), ""


def tail(path, lines=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def percentile(sorted_values, q):
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, int(-(-q * len(sorted_values) // 100)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


class Proc:
    """A started server: its log, and a stop by PID."""

    def __init__(self, name, side, argv, log, env=None, cwd=None):
        self.name, self.side, self.log = name, side, log
        self.argv = argv
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                          start_new_session=True)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, grace=10.0):
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


def wait_for(what, proc, check, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise StartError(f"{what} exited with status {proc.popen.returncode}; "
                             f"log {proc.log}:\n{tail(proc.log)}")
        if check():
            return
        time.sleep(0.2)
    log = f"; log {proc.log}:\n{tail(proc.log)}" if proc is not None else ""
    raise StartError(f"{what} was not ready within {timeout:.0f} s{log}")


def parents():
    """pid -> ppid of every process, from /proc/*/stat."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                parent[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
    return parent


def children(pids, parent=None):
    """pids and every descendant."""
    parent = parents() if parent is None else parent
    found, todo = set(pids), list(pids)
    while todo:
        p = todo.pop()
        for child, pp in parent.items():
            if pp == p and child not in found:
                found.add(child)
                todo.append(child)
    return found


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def reaped_cpu_seconds(pid):
    """cutime + cstime: what the waited-for children of pid used."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[13:15]) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_seconds(pid):
    """utime + stime + cutime + cstime of a live process (waited-for children included)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


class Bench:
    def __init__(self):
        self.root = os.environ["RUN_DIR"]
        self.kpid_bin = os.environ["KPID"]
        self.duration = env_int("DURATION", 300)
        self.series = env_int("SERIES", 1000)
        self.interval = env_int("INTERVAL", 5)
        self.kpid_eval = env_int("KPID_EVALUATION_INTERVAL", self.interval)
        self.kpid_concurrency = env_int("KPID_MAX_CONCURRENCY", 4)
        self.tick = env_float("TICK", 2)
        self.drift = env_float("DRIFT", 0.2)
        self.queries = os.environ.get("EXPORTER_QUERIES", "per-kpi")
        if self.queries not in ("per-kpi", "single"):
            sys.exit("peer_stack: EXPORTER_QUERIES is per-kpi or single")
        if self.series < 1 or self.interval < 1 or self.duration < 30:
            sys.exit("peer_stack: SERIES >= 1, INTERVAL >= 1 and DURATION >= 30 are needed")
        # Crossings start once the forecasts have a few samples and stop early enough for
        # the slowest side to deliver the last one.
        self.warmup = min(60, self.duration // 5)
        self.tail = max(30, 6 * self.interval)
        if self.duration - self.warmup - self.tail < 10:
            sys.exit("peer_stack: DURATION too short for the warm-up and the tail")
        now = time.time()
        self.start_ts = now - 19 * 86400
        self.deadline_ts = now + 1 * 86400
        self.procs = []
        taken = set()
        self.ports = {k: free_port(taken) for k in
                      ("pg", "kpid", "exporter", "prom", "am", "hook_kpid", "hook_stack",
                       "smtp_kpid", "smtp_stack")}
        self.crossings = {}  # name -> commit time of the UPDATE that made it off_track
        self.stop_load = threading.Event()
        self.load_error = None
        self.samples = []  # (t, {side: rss}) every second in the window
        self.sampling = threading.Event()

    # ---- helpers -----------------------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def name(self, i):
        return f"k{i:05d}"

    def expected(self, t):
        e = (t - self.start_ts) / (self.deadline_ts - self.start_ts)
        return BASELINE + min(max(e, 0.0), 1.0) * (TARGET - BASELINE)

    def start(self, name, side, argv, env=None, cwd=None):
        try:
            p = Proc(name, side, argv, self.path("logs", name + ".log"), env=env, cwd=cwd)
        except OSError as e:
            raise StartError(f"{name}: cannot run {argv[0]}: {e}") from e
        self.procs.append(p)
        return p

    def side_pids(self, side, parent=None):
        return children([p.pid for p in self.procs if p.side == side and p.alive()], parent)

    # ---- PostgreSQL and the load generator ---------------------------------------------
    def start_postgres(self):
        pg = self.path("pg")
        os.makedirs(pg)
        shutil.chown(pg, "postgres", "postgres")
        as_pg = ["/usr/sbin/runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        r = subprocess.run(as_pg + [f"{PG_BIN}/initdb", "-D", f"{pg}/data", "-U", "postgres",
                                    "--auth-local=trust", "--auth-host=scram-sha-256",
                                    "--no-sync"], capture_output=True, text=True)
        if r.returncode != 0:
            raise StartError(f"PostgreSQL initdb failed:\n{r.stdout}{r.stderr}")
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.ports['pg']} -k {pg} -c fsync=off "
                "-c full_page_writes=off -c max_connections=50 -c autovacuum=off")
        r = subprocess.run(as_pg + [f"{PG_BIN}/pg_ctl", "-D", f"{pg}/data", "-l",
                                    f"{pg}/server.log", "-w", "-o", opts, "start"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise StartError(f"PostgreSQL did not start:\n{r.stdout}{r.stderr}\n"
                             f"{tail(pg + '/server.log')}")
        with open(f"{pg}/data/postmaster.pid", encoding="ascii") as f:
            self.postmaster = int(f.readline())
        self.pg_stop = as_pg + [f"{PG_BIN}/pg_ctl", "-D", f"{pg}/data", "-m", "fast", "stop"]
        admin = psycopg2.connect(host=pg, port=self.ports["pg"], user="postgres",
                                 dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as c:
            c.execute("CREATE USER kpid PASSWORD 'bench'")
            c.execute("CREATE DATABASE t OWNER kpid")
        admin.close()
        self.db = psycopg2.connect(host=pg, port=self.ports["pg"], user="kpid", dbname="t")
        # The measuring thread's own connection (pg_stat_activity), apart from the load's.
        self.admin = psycopg2.connect(host=pg, port=self.ports["pg"], user="postgres",
                                      dbname="t")
        self.admin.autocommit = True
        now = time.time()
        value = self.expected(now) + ABOVE * (TARGET - BASELINE)
        with self.db.cursor() as c:
            c.execute("CREATE TABLE kpi (id int PRIMARY KEY, name text NOT NULL, "
                      "value double precision NOT NULL, crossed boolean NOT NULL DEFAULT false)")
            c.execute("INSERT INTO kpi (id, name, value) SELECT i, 'k' || lpad(i::text, 5, '0'),"
                      " %s FROM generate_series(0, %s) i", (value, self.series - 1))
        self.db.commit()
        with open(self.path("pgpass"), "w", encoding="ascii") as f:
            f.write("bench\n")
        os.chmod(self.path("pgpass"), 0o600)

    def schedule(self, t0):
        """When each drifting series crosses: evenly over the window, from series spread
        over the table."""
        n = max(1, round(self.series * self.drift))
        first, last = t0 + self.warmup, t0 + self.duration - self.tail
        step = (last - first) / n
        stride = self.series / n
        return sorted((first + k * step, int(k * stride)) for k in range(n))

    def load(self):
        """Every TICK: all series to their trajectory (+3 % or, once crossed, -20 %).
        At each scheduled time: one UPDATE moves one series off track; its commit time is
        the crossing's start."""
        try:
            next_tick = time.time()
            while not self.stop_load.is_set():
                now = time.time()
                if self.plan and self.plan[0][0] <= now:
                    _, i = self.plan.pop(0)
                    with self.db.cursor() as c:
                        c.execute("UPDATE kpi SET crossed = true, value = %s WHERE id = %s",
                                  (self.expected(now) + BELOW * (TARGET - BASELINE), i))
                    self.db.commit()
                    self.crossings[self.name(i)] = time.time()
                    continue
                if next_tick <= now:
                    e = self.expected(now)
                    with self.db.cursor() as c:
                        c.execute("UPDATE kpi SET value = %s + CASE WHEN crossed THEN %s "
                                  "ELSE %s END", (e, BELOW * (TARGET - BASELINE),
                                                  ABOVE * (TARGET - BASELINE)))
                    self.db.commit()
                    next_tick += self.tick
                    continue
                wake = min(next_tick, self.plan[0][0]) if self.plan else next_tick
                self.stop_load.wait(max(0.0, min(wake - time.time(), 0.5)))
        except psycopg2.Error as e:  # reported at the end; the run is void then
            self.load_error = str(e).strip()

    # ---- receivers ---------------------------------------------------------------------
    def start_receivers(self):
        for side in ("kpid", "stack"):
            hook = self.start(f"webhook-{side}", "receivers",
                              ["/usr/bin/python3", os.path.join(HERE, "webhook_sink.py"),
                               str(self.ports[f"hook_{side}"]), self.path(f"webhook-{side}.jsonl")])
            mail = self.path(f"mail-{side}")  # a maildir that aiosmtpd's Mailbox creates
            smtp = self.start(f"smtp-{side}", "receivers",
                              ["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l",
                               f"127.0.0.1:{self.ports[f'smtp_{side}']}", "-c",
                               "aiosmtpd.handlers.Mailbox", mail])
            for what, proc, port in ((f"webhook receiver ({side})", hook, f"hook_{side}"),
                                     (f"SMTP receiver ({side})", smtp, f"smtp_{side}")):
                wait_for(what, proc, lambda p=port: self.connects(self.ports[p]), 15)

    @staticmethod
    def connects(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    # ---- kpid --------------------------------------------------------------------------
    def kpid_config(self):
        iso = lambda ts: datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        out = [f"""# Generated by tests/bench/peer_stack: {self.series} SQL KPIs with deadline goals.
[server]
listen = "127.0.0.1:{self.ports['kpid']}"

[storage]
path = "{self.path('kpid', 'kpid.db')}"

[evaluation]
interval = "{self.kpid_eval}s"
timezone = "UTC"

[[source]]
name = "db"
type = "sql"
driver = "postgresql"
connection = "host=127.0.0.1 port={self.ports['pg']} dbname=t user=kpid application_name=kpid"
password_file = "{self.path('pgpass')}"
max_concurrency = {self.kpid_concurrency}

[[route]]
receivers = ["hook", "mail"]
group_by = ["kpi"]
group_wait = "0s"
group_interval = "5m"
repeat_interval = "4h"

[[receiver]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:{self.ports['hook_kpid']}/"

[[receiver]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:{self.ports['smtp_kpid']}"
starttls = "never"
from = "kpid@example.com"
to = ["owner@example.com"]
"""]
        for i in range(self.series):
            out.append(f"""
[[kpi]]
name = "{self.name(i)}"
source = "db"
query = "SELECT value FROM kpi WHERE id = {i}"
interval = "{self.interval}s"
  [kpi.goal]
  baseline = {BASELINE:g}
  target = {TARGET:g}
  start = {iso(self.start_ts)}
  deadline = {iso(self.deadline_ts)}
  at_risk = {AT_RISK}
  off_track = {OFF_TRACK}
  forecast_window = "{FORECAST_WINDOW}"
  use_forecast = true
  notify_on = ["off_track", "missed"]
""")
        return "".join(out)

    def start_kpid(self):
        os.makedirs(self.path("kpid"))
        config = self.path("kpid.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(self.kpid_config())
        r = subprocess.run([self.kpid_bin, "check", "--config", config],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise StartError(f"kpid check rejected the generated config:\n{r.stdout}{r.stderr}")
        p = self.start("kpid", "kpid", [self.kpid_bin, "run", "--config", config,
                                        "--log-level", "warn"])
        url = f"http://127.0.0.1:{self.ports['kpid']}/-/ready"
        wait_for("kpid", p, lambda: http_get(url)[0] == 200, 120)

    # ---- the stack ---------------------------------------------------------------------
    def exporter_config(self):
        dsn = (f"postgres://kpid:bench@127.0.0.1:{self.ports['pg']}/t?sslmode=disable"
               "&application_name=sql_exporter")
        lines = ["jobs:", "- name: kpis", f"  interval: '{self.interval}s'", "  connections:",
                 f"  - '{dsn}'", "  queries:"]
        if self.queries == "single":
            lines += ["  - name: kpi_value", "    help: KPI value", "    labels: [kpi]",
                      "    values: [value]",
                      "    query: SELECT name AS kpi, value::float AS value FROM kpi"]
        else:
            for i in range(self.series):
                lines += ["  - name: kpi_value", "    help: KPI value", "    labels: [kpi]",
                          "    values: [value]",
                          f"    query: SELECT name AS kpi, value::float AS value FROM kpi "
                          f"WHERE id = {i}"]
        return "\n".join(lines) + "\n"

    def rules(self):
        span = self.deadline_ts - self.start_ts
        lines = ["groups:", "- name: kpis", f"  interval: {self.interval}s", "  rules:"]
        forecast_line = BASELINE + (1 - OFF_TRACK) * (TARGET - BASELINE)
        for i in range(self.series):
            n = self.name(i)
            v = f'sql_kpi_value{{kpi="{n}"}}'
            # off_track: gap = expected progress - progress > off_track, or (use_forecast)
            # the forecast at the deadline below 1 - off_track of the way.
            expected = (f"({BASELINE:g} + "
                        f"scalar(clamp(vector((time() - {self.start_ts:.0f}) / {span:.0f}), 0, 1))"
                        f" * {TARGET - BASELINE:g})")
            expr = (f"{v} < {expected} - {OFF_TRACK * (TARGET - BASELINE):g} or "
                    f"predict_linear({v}[{FORECAST_WINDOW}], {self.deadline_ts:.0f} - time()) "
                    f"< {forecast_line:g}")
            lines += [f"  - alert: {n}_goal", f"    expr: '{expr}'", "    for: 0s",
                      f"    labels: {{kpi: {n}, severity: critical, status: off_track}}"]
        return "\n".join(lines) + "\n"

    def start_stack(self):
        ex_cfg = self.path("sql-exporter.yml")
        with open(ex_cfg, "w", encoding="utf-8") as f:
            f.write(self.exporter_config())
        # As the Debian package's service runs it (/etc/default/prometheus-sql-exporter).
        env = dict(os.environ, GOGC="40", GOMAXPROCS="4", LOGLEVEL="WARN")
        ex = self.start("sql-exporter", "stack",
                        ["prometheus-sql-exporter", f"-config.file={ex_cfg}",
                         f"-web.listen-address=127.0.0.1:{self.ports['exporter']}"], env=env)
        metrics = f"http://127.0.0.1:{self.ports['exporter']}/metrics"
        wait_for("prometheus-sql-exporter (all series exported)", ex,
                 lambda: http_get(metrics, 5)[1].count("sql_kpi_value{") >= self.series, 120)

        am_cfg = self.path("alertmanager.yml")
        with open(am_cfg, "w", encoding="utf-8") as f:
            f.write(f"""route:
  receiver: owners
  group_by: [kpi]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
receivers:
- name: owners
  webhook_configs:
  - url: http://127.0.0.1:{self.ports['hook_stack']}/
    send_resolved: true
  email_configs:
  - to: owner@example.com
    from: alertmanager@example.com
    smarthost: 127.0.0.1:{self.ports['smtp_stack']}
    require_tls: false
    send_resolved: true
""")
        os.makedirs(self.path("alertmanager"))
        am = self.start("alertmanager", "stack",
                        ["prometheus-alertmanager", f"--config.file={am_cfg}",
                         f"--storage.path={self.path('alertmanager')}",
                         f"--web.listen-address=127.0.0.1:{self.ports['am']}",
                         "--cluster.listen-address="])
        wait_for("prometheus-alertmanager", am,
                 lambda: http_get(f"http://127.0.0.1:{self.ports['am']}/-/ready")[0] == 200, 30)

        with open(self.path("rules.yml"), "w", encoding="utf-8") as f:
            f.write(self.rules())
        with open(self.path("prometheus.yml"), "w", encoding="utf-8") as f:
            f.write(f"""global:
  scrape_interval: {self.interval}s
  scrape_timeout: {max(1, self.interval - 1)}s
  evaluation_interval: {self.interval}s
rule_files: [{self.path('rules.yml')}]
alerting:
  alertmanagers:
  - static_configs:
    - targets: ['127.0.0.1:{self.ports['am']}']
scrape_configs:
- job_name: sql
  static_configs:
  - targets: ['127.0.0.1:{self.ports['exporter']}']
""")
        r = subprocess.run(["promtool", "check", "config", self.path("prometheus.yml")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            out = "".join((r.stdout + r.stderr).splitlines(keepends=True)[:15])
            raise StartError(f"promtool rejected the generated config:\n{out}")
        os.makedirs(self.path("prometheus"))
        prom = self.start("prometheus", "stack",
                          ["prometheus", f"--config.file={self.path('prometheus.yml')}",
                           f"--storage.tsdb.path={self.path('prometheus')}",
                           f"--web.listen-address=127.0.0.1:{self.ports['prom']}"])
        base = f"http://127.0.0.1:{self.ports['prom']}"
        wait_for("prometheus", prom, lambda: http_get(base + "/-/ready")[0] == 200, 60)
        # Alerts that fire before Prometheus has discovered its Alertmanager are dropped.
        wait_for("prometheus (Alertmanager discovered)", prom,
                 lambda: f"127.0.0.1:{self.ports['am']}" in http_get(
                     base + "/api/v1/alertmanagers")[1], 60)
        query = base + f"/api/v1/query?query=count(sql_kpi_value)%3E%3D{self.series}"
        wait_for("prometheus (first scrape of all series)", prom,
                 lambda: '"result":[{' in http_get(query)[1].replace(" ", ""), 60)

    # ---- measuring ---------------------------------------------------------------------
    def sample(self):
        while not self.sampling.is_set():
            t = time.time()
            row = {}
            parent = parents()
            for side in ("kpid", "stack"):
                row[side] = sum(rss_bytes(p) for p in self.side_pids(side, parent))
            for p in self.procs:
                if p.side == "stack":
                    row[p.name] = sum(rss_bytes(c) for c in children([p.pid], parent))
            self.samples.append((t, row))
            self.sampling.wait(max(0.0, 1.0 - (time.time() - t)))

    def cpu(self):
        out = {"kpid": 0.0, "stack": 0.0}
        parent = parents()
        for p in self.procs:
            if p.side in out:
                c = sum(cpu_seconds(x) for x in children([p.pid], parent))
                out[p.side] += c
                out[p.name] = c
        # The PostgreSQL backends serving each side: kpid keeps its connections; the
        # exporter's come and go, so its share is what the postmaster reaped (autovacuum
        # is off, so little else ends) plus its live backends.
        out["pg_stack"] = reaped_cpu_seconds(self.postmaster)
        try:
            with self.admin.cursor() as c:
                c.execute("SELECT application_name, pid FROM pg_stat_activity "
                          "WHERE application_name IN ('kpid', 'sql_exporter')")
                rows = c.fetchall()
            for app, pid in rows:
                key = "pg_kpid" if app == "kpid" else "pg_stack"
                out[key] = out.get(key, 0.0) + cpu_seconds(pid)
        except psycopg2.Error:
            pass
        return out

    def latencies(self, side):
        first = {}
        spurious = 0
        try:
            with open(self.path(f"webhook-{side}.jsonl"), encoding="utf-8") as f:
                for line in f:
                    rec = json.loads(line)
                    if rec.get("status") != "firing":
                        continue
                    kpi = rec.get("kpi")
                    crossed = self.crossings.get(kpi)
                    if crossed is None or rec["t"] < crossed:
                        spurious += 1
                        continue
                    first.setdefault(kpi, rec["t"] - crossed)
        except OSError:
            pass
        values = sorted(first.values())
        return {"n": len(values), "expected": len(self.crossings), "spurious": spurious,
                "p50_s": percentile(values, 50), "p99_s": percentile(values, 99),
                "max_s": values[-1] if values else None}

    def mails(self, side):
        d = self.path(f"mail-{side}", "new")
        return len(os.listdir(d)) if os.path.isdir(d) else 0

    def stop_all(self):
        self.stop_load.set()
        self.sampling.set()
        for p in reversed(self.procs):
            p.stop()
        for conn in (getattr(self, "db", None), getattr(self, "admin", None)):
            if conn is not None:
                try:
                    conn.close()
                except psycopg2.Error:
                    pass
        if getattr(self, "pg_stop", None):
            subprocess.run(self.pg_stop, capture_output=True, check=False)
            self.pg_stop = None

    # ---- the run -----------------------------------------------------------------------
    def run(self):
        os.makedirs(self.path("logs"), exist_ok=True)
        print(f"peer_stack: run directory {self.root}", flush=True)
        print(f"peer_stack: {self.series} series, {self.duration} s, interval {self.interval} s, "
              f"load tick {self.tick:g} s", flush=True)
        self.start_postgres()
        self.plan = []
        loader = threading.Thread(target=self.load, daemon=True)
        loader.start()
        self.start_receivers()
        print("peer_stack: PostgreSQL and receivers up; starting kpid", flush=True)
        t = time.time()
        self.start_kpid()
        print(f"peer_stack: kpid ready after {time.time() - t:.1f} s; starting the stack",
              flush=True)
        t = time.time()
        self.start_stack()
        print(f"peer_stack: stack ready after {time.time() - t:.1f} s; measuring for "
              f"{self.duration} s", flush=True)

        t0 = time.time()
        self.plan = self.schedule(t0)
        crossings_planned = len(self.plan)
        cpu0 = self.cpu()
        sampler = threading.Thread(target=self.sample, daemon=True)
        sampler.start()
        while time.time() < t0 + self.duration:
            for p in self.procs:
                if not p.alive():
                    raise StartError(f"{p.name} exited during the run (status "
                                     f"{p.popen.returncode}); log {p.log}:\n{tail(p.log)}")
            if self.load_error:
                raise StartError(f"the load generator failed: {self.load_error}")
            time.sleep(1)
        self.sampling.set()
        sampler.join()
        cpu1 = self.cpu()
        disk = {"kpid": du(self.path("kpid")),
                "prometheus": du(self.path("prometheus")),
                "alertmanager": du(self.path("alertmanager"))}
        disk["stack"] = disk["prometheus"] + disk["alertmanager"]
        self.stop_load.set()
        loader.join()
        return self.report(t0, cpu0, cpu1, disk, crossings_planned)

    def report(self, t0, cpu0, cpu1, disk, planned):
        mib = 1024 * 1024
        rss = {}
        for key in ["kpid", "stack"] + [p.name for p in self.procs if p.side == "stack"]:
            values = [row.get(key, 0) for _, row in self.samples]
            rss[key] = {"peak_mib": max(values) / mib if values else None,
                        "mean_mib": sum(values) / len(values) / mib if values else None}
        cpu = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu1}
        lat = {side: self.latencies(side) for side in ("kpid", "stack")}
        result = {
            "machine": {"cpus": os.cpu_count(), "load_at_end": os.getloadavg()},
            "settings": {
                "series": self.series, "duration_s": self.duration, "interval_s": self.interval,
                "load_tick_s": self.tick, "crossings_planned": planned,
                "exporter_queries": self.queries,
                "kpid": {"kpi.interval": f"{self.interval}s",
                         "evaluation.interval": f"{self.kpid_eval}s", "goal.for": "0s",
                         "group_wait": "0s", "group_by": ["kpi"], "use_forecast": True,
                         "forecast_window": FORECAST_WINDOW},
                "stack": {"sql_exporter job interval": f"{self.interval}s",
                          "scrape_interval": f"{self.interval}s",
                          "evaluation_interval": f"{self.interval}s", "for": "0s",
                          "group_wait": "0s", "group_by": ["kpi"],
                          "forecast": f"predict_linear(...[{FORECAST_WINDOW}])"},
            },
            "rss": rss,
            "cpu_s": cpu,
            "disk_mib": {k: v / mib for k, v in disk.items()},
            "latency": lat,
            "emails": {side: self.mails(side) for side in ("kpid", "stack")},
            "rss_timeline": [{"t": round(t - t0, 1), "kpid_mib": row["kpid"] / mib,
                              "stack_mib": row["stack"] / mib} for t, row in self.samples],
        }
        return result


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(r):
    lat_k, lat_s = r["latency"]["kpid"], r["latency"]["stack"]
    rows = [
        ("RSS peak (MiB)", r["rss"]["kpid"]["peak_mib"], r["rss"]["stack"]["peak_mib"]),
        ("RSS mean (MiB)", r["rss"]["kpid"]["mean_mib"], r["rss"]["stack"]["mean_mib"]),
        ("CPU (s)", r["cpu_s"]["kpid"], r["cpu_s"]["stack"]),
        ("  + PostgreSQL backends (s)", r["cpu_s"].get("pg_kpid"), r["cpu_s"].get("pg_stack")),
        ("disk state (MiB)", r["disk_mib"]["kpid"], r["disk_mib"]["stack"]),
        ("alert latency p50 (s)", lat_k["p50_s"], lat_s["p50_s"]),
        ("alert latency p99 (s)", lat_k["p99_s"], lat_s["p99_s"]),
        ("alert latency max (s)", lat_k["max_s"], lat_s["max_s"]),
    ]
    r["table"] = [{"metric": m, "kpid": k, "stack": s, "ratio": ratio(k, s)} for m, k, s in rows]
    fmt = lambda v: "-" if v is None else f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    lines = [f"{'':30} {'kpid':>10} {'stack':>10} {'kpid/stack':>11}"]
    for row in r["table"]:
        lines.append(f"{row['metric']:30} {fmt(row['kpid']):>10} {fmt(row['stack']):>10} "
                     f"{fmt(row['ratio']):>11}")
    lines.append(f"{'alerts delivered / crossings':30} {lat_k['n']:>5}/{lat_k['expected']:<4} "
                 f"{lat_s['n']:>5}/{lat_s['expected']:<4}")
    lines.append(f"{'alerts before/without crossing':30} {lat_k['spurious']:>10} "
                 f"{lat_s['spurious']:>10}")
    lines.append(f"{'emails received':30} {r['emails']['kpid']:>10} {r['emails']['stack']:>10}")
    per = ", ".join(f"{p} {r['rss'][p]['mean_mib']:.1f} MiB / {r['cpu_s'].get(p, 0):.1f} s"
                    for p in ("prometheus", "alertmanager", "sql-exporter") if p in r["rss"])
    lines.append(f"stack by process (mean RSS / CPU): {per}")
    s = r["settings"]
    lines.append(f"intervals: kpid kpi.interval {s['interval_s']} s, evaluation.interval "
                 f"{s['kpid']['evaluation.interval']}, "
                 f"goal for = 0s, group_wait = 0s; stack: sql_exporter interval = "
                 f"scrape_interval = evaluation_interval = {s['interval_s']} s, for: 0s, "
                 f"group_wait: 0s (the stack has one more stage: the exporter's own query "
                 f"interval before the scrape)")
    lines.append(f"{s['series']} series, {s['duration_s']} s, {s['crossings_planned']} crossings, "
                 f"exporter queries: {s['exporter_queries']}, {r['machine']['cpus']} CPUs, "
                 f"load average at the end {r['machine']['load_at_end'][0]:.2f}")
    return "\n".join(lines)


def chart(r, root):
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        print("peer_stack: gnuplot not found (apt-get install gnuplot-nox); no chart")
        return None
    data = os.path.join(root, "chart.dat")
    timeline = os.path.join(root, "rss.dat")
    lat_k, lat_s = r["latency"]["kpid"], r["latency"]["stack"]
    z = lambda v: 0 if v is None else v
    with open(data, "w", encoding="ascii") as f:
        f.write(f'"RSS peak (MiB)" {z(r["rss"]["kpid"]["peak_mib"]):.3f} '
                f'{z(r["rss"]["stack"]["peak_mib"]):.3f}\n')
        f.write(f'"RSS mean (MiB)" {z(r["rss"]["kpid"]["mean_mib"]):.3f} '
                f'{z(r["rss"]["stack"]["mean_mib"]):.3f}\n')
        f.write(f'"CPU (s)" {r["cpu_s"]["kpid"]:.3f} {r["cpu_s"]["stack"]:.3f}\n')
        f.write(f'"disk (MiB)" {r["disk_mib"]["kpid"]:.3f} {r["disk_mib"]["stack"]:.3f}\n')
        f.write(f'"latency p50 (s)" {z(lat_k["p50_s"]):.3f} {z(lat_s["p50_s"]):.3f}\n')
        f.write(f'"latency p99 (s)" {z(lat_k["p99_s"]):.3f} {z(lat_s["p99_s"]):.3f}\n')
    with open(timeline, "w", encoding="ascii") as f:
        for p in r["rss_timeline"]:
            f.write(f'{p["t"]} {p["kpid_mib"]:.2f} {p["stack_mib"]:.2f}\n')
    png = os.path.join(root, "peer_stack.png")
    s = r["settings"]
    script = f"""
set terminal pngcairo size 1200,900 font ",10"
set output "{png}"
set multiplot layout 2,1 title noenhanced "kpid vs Prometheus + sql_exporter + Alertmanager: {s['series']} KPIs, {s['duration_s']} s, interval {s['interval_s']} s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xrange [-0.6:5.6]
set key top left
set grid ytics
set logscale y
set ylabel "value (log scale)"
set title "per side (lower is better)"
plot "{data}" using 2:xtic(1) title "kpid" lc rgb "#1f77b4", "" using 3 title "stack" lc rgb "#ff7f0e"
unset logscale y
set autoscale x
set style data lines
set xlabel "seconds into the run"
set ylabel "RSS (MiB)"
set title "resident memory, sum over each side's processes"
plot "{timeline}" using 1:2 title "kpid" lw 2 lc rgb "#1f77b4", "" using 1:3 title "stack" lw 2 lc rgb "#ff7f0e"
unset multiplot
"""
    gp = os.path.join(root, "chart.gp")
    with open(gp, "w", encoding="utf-8") as f:
        f.write(script)
    res = subprocess.run([gnuplot, gp], capture_output=True, text=True)
    if res.returncode != 0:
        print(f"peer_stack: gnuplot failed: {res.stderr.strip()}")
        return None
    return png


def main():
    bench = Bench()
    interrupted = []

    def on_signal(signum, _frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    try:
        result = bench.run()
        bench.stop_all()
        text = table(result)
        with open(bench.path("result.json"), "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        png = chart(result, bench.root)
        print()
        print(text)
        print(f"\npeer_stack: wrote {bench.path('result.json')}" +
              (f" and {png}" if png else ""))
        lk, ls = result["latency"]["kpid"], result["latency"]["stack"]
        if lk["n"] == 0 or ls["n"] == 0:
            print("peer_stack: a side delivered no alert: the latency figures are void",
                  file=sys.stderr)
            status = 1
    except StartError as e:
        print(f"peer_stack: FAILED: {e}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt:
        print("peer_stack: interrupted", file=sys.stderr)
        status = 130
    finally:
        bench.stop_all()
    return status



if __name__ == "__main__":
    sys.exit(main())

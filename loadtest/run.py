"""A small threaded load client for the dashboard (standard library only).

Each worker signs in as one of the demo users (through the real login form and its CSRF
token), then until the time is up keeps doing what people do: filtered and sorted order
lists, searches, order pages, the htmx fragments of both, the status guide, the CSV export,
and, as a manager, cancelling or clean sweeping orders through the confirmation step.

It reports requests per second, errors (any 5xx, connection error or timeout: must be zero),
expected refusals (4xx such as a viewer's 403, and actions the dashboard refused with a
message because the order had moved on) and p50/p90/p99 latency per kind of request.
See loadtest/README.md for how to run it against gunicorn on PostgreSQL.

    python loadtest/run.py --base-url http://127.0.0.1:8100 --duration 300 --workers 8
"""

import argparse
import http.cookiejar
import json
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field

DEFAULT_USERS = ["manager", "viewer", "northwind"]
DEFAULT_PASSWORD = "demo-pass-2026"

GROUPS = ["", "import_review", "action_required", "processing", "shipped", "cancelled", "failed"]
SORTS = ["-created", "created", "-changed", "changed", "number", "-number"]
VIEWS = ["", "attention", "stuck", "late"]
FLOWS = ["", "stock", "print"]
SEARCHES = ["Smith", "a", "1000", "@example", "Berlin", "zz-nothing-matches", "ORD", "o'brien"]

# Numbers as the page links them (already URL-quoted), so they are used as they are.
ORDER_LINK = re.compile(r'href="/orders/([^"/?#]+)/"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
EXPECTED_STATUS = re.compile(r'name="expected_status" value="([^"]*)"')
REFUSED_TEXT = ("is not possible", "changed meanwhile", "message-error", "message-warning")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep redirects as answers: each request is timed on its own."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass
class Stats:
    """Everything the workers measured; shared, so changes hold the lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict = field(default_factory=lambda: defaultdict(list))
    statuses: dict = field(default_factory=lambda: defaultdict(int))
    errors: list = field(default_factory=list)
    refusals: dict = field(default_factory=lambda: defaultdict(int))
    actions_done: int = 0
    started: float = 0.0
    finished: float = 0.0

    def record(self, kind, status, seconds):
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[status] += 1

    def error(self, kind, what):
        with self.lock:
            self.errors.append(f"{kind}: {what}")

    def refused(self, kind):
        with self.lock:
            self.refusals[kind] += 1

    @property
    def requests(self):
        return sum(len(v) for v in self.latencies.values())

    @property
    def elapsed(self):
        return max(self.finished - self.started, 1e-9)

    def summary(self):
        kinds = {kind: latency_row(values) for kind, values in sorted(self.latencies.items())}
        # The traffic itself: every request but the sign-ins each worker makes once at the
        # start (a password hash on purpose slow, not part of the mix).
        traffic = [v for kind, values in self.latencies.items() if kind != "login" for v in values]
        return {
            "traffic": latency_row(traffic) if traffic else None,
            "duration_s": round(self.elapsed, 1),
            "requests": self.requests,
            "throughput_rps": round(self.requests / self.elapsed, 1),
            "errors": len(self.errors),
            "error_samples": self.errors[:10],
            "expected_refusals": dict(self.refusals),
            "actions_done": self.actions_done,
            "status_codes": {str(k): v for k, v in sorted(self.statuses.items())},
            "by_kind": kinds,
        }


def latency_row(values):
    values = sorted(values)
    return {
        "requests": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p90_ms": round(percentile(values, 90) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(values[-1] * 1000, 1),
    }


def percentile(sorted_values, pct):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * pct // 100))  # ceil without floats
    return sorted_values[int(rank) - 1]


class Client:
    """One signed-in browser: its own cookies, CSRF token and known order numbers."""

    def __init__(self, base_url, stats, timeout=30):
        self.base = base_url.rstrip("/")
        self.stats = stats
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )
        self.numbers = []

    def request(self, kind, path, data=None, htmx=False, referer=None):
        """(status, body text) or (None, "") after recording a connection error. 5xx is
        recorded as an error; the caller decides what a 4xx means."""
        url = path if path.startswith("http") else self.base + path
        headers = {"User-Agent": "fulfillment-loadtest"}
        if htmx:
            headers["HX-Request"] = "true"
        if referer:
            headers["Referer"] = self.base + referer
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers=headers)
        started = time.perf_counter()
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                status, text = resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as exc:
            self.stats.record(kind, "connection error", time.perf_counter() - started)
            self.stats.error(kind, f"{path}: {exc}")
            return None, ""
        self.stats.record(kind, status, time.perf_counter() - started)
        if status >= 500:
            self.stats.error(kind, f"{path}: HTTP {status}")
        return status, text

    def csrf_cookie(self):
        for cookie in self.cookies:
            if cookie.name == "csrftoken":
                return cookie.value
        return ""

    def login(self, username, password):
        status, page = self.request("login", "/accounts/login/")
        token = CSRF_INPUT.search(page or "")
        if status != 200 or not token:
            raise RuntimeError(f"login page answered {status} without a CSRF token")
        status, _ = self.request(
            "login",
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": username,
                "password": password,
                "next": "/orders/",
            },
            referer="/accounts/login/",
        )
        if status != 302:
            raise RuntimeError(
                f"signing in as {username} answered {status} (wrong password, or the server "
                "sets Secure cookies on plain HTTP: see loadtest/README.md)"
            )

    def remember(self, page):
        found = ORDER_LINK.findall(page)
        if found:
            self.numbers = list(dict.fromkeys(found + self.numbers))[:300]

    # -- what people do ----------------------------------------------------------------

    def list_orders(self, rng, htmx=False):
        params = {
            "group": rng.choice(GROUPS),
            "view": rng.choice(VIEWS),
            "flow": rng.choice(FLOWS),
            "sort": rng.choice(SORTS),
        }
        if rng.random() < 0.3:
            params["page"] = rng.randint(1, 4)
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v != ""})
        kind = "list_fragment" if htmx else "list"
        status, page = self.request(kind, f"/orders/?{query}", htmx=htmx)
        if status == 200:
            self.remember(page)
        elif status and 400 <= status < 500:
            self.stats.error(kind, f"list answered {status}")

    def search(self, rng):
        term = rng.choice(SEARCHES + self.numbers[:20])
        status, page = self.request("search", "/orders/?" + urllib.parse.urlencode({"q": term}))
        if status == 200:
            self.remember(page)
        elif status and 400 <= status < 500:
            self.stats.error("search", f"search answered {status}")

    def order_page(self, rng, htmx=False):
        if not self.numbers:
            return self.list_orders(rng)
        number = rng.choice(self.numbers)
        kind = "order_fragment" if htmx else "order"
        path = f"/orders/{number}/"
        status, _ = self.request(kind, path, htmx=htmx)
        if status == 404:
            # Clean swept by another worker: it left the dashboard, as it should.
            if number in self.numbers:
                self.numbers.remove(number)
            self.stats.refused(kind)
        elif status and 400 <= status < 500:
            self.stats.error(kind, f"{path} answered {status}")

    def act(self, rng):
        """Ask for the confirmation (as htmx does), then confirm it with the status seen."""
        if not self.numbers:
            return self.list_orders(rng)
        number = rng.choice(self.numbers)
        action = rng.choice(["cancel", "clean-sweep"])
        path = f"/orders/{number}/{action}/"
        status, fragment = self.request("action_confirm", path, htmx=True)
        if status in (403, 404):
            self.stats.refused("action_confirm")
            return
        if status != 200:
            return
        seen = EXPECTED_STATUS.search(fragment)
        if not seen:
            self.stats.refused("action_confirm")  # the fragment says why not
            return
        status, _ = self.request(
            "action_post",
            path,
            data={
                "csrfmiddlewaretoken": self.csrf_cookie(),
                "expected_status": seen.group(1),
                "note": "load test",
            },
            referer=f"/orders/{number}/",
        )
        if status == 302:
            # The answer is a message on the next page: done, or refused because another
            # worker changed the order in between (that is the expected "changed meanwhile").
            follow, page = self.request("order", f"/orders/{number}/")
            if follow == 200 and any(text in page for text in REFUSED_TEXT):
                self.stats.refused("action_post")
            else:
                with self.stats.lock:
                    self.stats.actions_done += 1
        elif status and 400 <= status < 500:
            self.stats.refused("action_post")

    def other_pages(self, rng):
        if rng.random() < 0.5:
            self.request("page", "/status-guide/")
        else:
            status, _ = self.request(
                "export", "/orders/export.csv?" + urllib.parse.urlencode({"group": "processing"})
            )
            if status and 400 <= status < 500:
                self.stats.error("export", f"export answered {status}")


# What a worker does next, and how often (managers also act; viewers' actions are refused).
MIX = [
    ("list", 30),
    ("list_fragment", 10),
    ("search", 15),
    ("order", 25),
    ("order_fragment", 10),
    ("act", 5),
    ("other", 5),
]


def worker(base_url, username, password, deadline, stats, seed):
    rng = random.Random(seed)
    client = Client(base_url, stats)
    try:
        client.login(username, password)
    except RuntimeError as exc:
        stats.error("login", f"{username}: {exc}")
        return
    names, weights = zip(*MIX, strict=True)
    while time.monotonic() < deadline:
        step = rng.choices(names, weights)[0]
        if step == "list":
            client.list_orders(rng)
        elif step == "list_fragment":
            client.list_orders(rng, htmx=True)
        elif step == "search":
            client.search(rng)
        elif step == "order":
            client.order_page(rng)
        elif step == "order_fragment":
            client.order_page(rng, htmx=True)
        elif step == "act":
            client.act(rng)
        else:
            client.other_pages(rng)


def run_load(base_url, *, duration, workers, users, password, seed=2026):
    """Run `workers` threads (users assigned round-robin) for `duration` seconds and
    return the Stats."""
    stats = Stats()
    stats.started = time.perf_counter()
    deadline = time.monotonic() + duration
    threads = [
        threading.Thread(
            target=worker,
            args=(base_url, users[i % len(users)], password, deadline, stats, seed + i),
            daemon=True,
        )
        for i in range(workers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    stats.finished = time.perf_counter()
    return stats


def print_report(summary, out=sys.stdout):
    print(
        f"{summary['requests']} requests in {summary['duration_s']} s: "
        f"{summary['throughput_rps']} requests/s, errors (5xx or connection): "
        f"{summary['errors']}, actions done: {summary['actions_done']}",
        file=out,
    )
    refusals = ", ".join(f"{k} {v}" for k, v in sorted(summary["expected_refusals"].items()))
    print(f"expected refusals (4xx or refused with a message): {refusals or 'none'}", file=out)
    print(f"status codes: {summary['status_codes']}", file=out)
    print(
        f"{'kind':<16}{'requests':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}", file=out
    )
    rows = list(summary["by_kind"].items())
    if summary.get("traffic"):
        rows.append(("all but login", summary["traffic"]))
    for kind, row in rows:
        print(
            f"{kind:<16}{row['requests']:>9}{row['p50_ms']:>9}{row['p90_ms']:>9}"
            f"{row['p99_ms']:>9}{row['max_ms']:>9}",
            file=out,
        )
    for sample in summary["error_samples"]:
        print(f"error: {sample}", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8100")
    parser.add_argument("--duration", type=float, default=300, help="seconds (default 300)")
    parser.add_argument("--workers", type=int, default=8, help="threads (default 8)")
    parser.add_argument("--users", default=",".join(DEFAULT_USERS), help="comma-separated")
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", help="also write the summary to this file")
    args = parser.parse_args(argv)
    users = [u.strip() for u in args.users.split(",") if u.strip()]
    stats = run_load(
        args.base_url,
        duration=args.duration,
        workers=args.workers,
        users=users,
        password=args.password,
        seed=args.seed,
    )
    summary = stats.summary()
    print_report(summary)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=2)
    return 1 if summary["errors"] or not summary["requests"] else 0


if __name__ == "__main__":
    sys.exit(main())

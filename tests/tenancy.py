"""The tenancy walker: every URL pattern of the site, found from the URL resolver, requested
with merchant A's real data by people and machines who must not reach it (anonymous, a
signed-in manager of merchant B, no API token, a wrong one, merchant B's token, an unsigned
or wrongly signed webhook call).

`walk(victim, attacker)` returns a list of problems (empty when tenancy holds), so a test can
assert it is empty and another can plant a leak and assert it is not. A URL pattern the walker
cannot build arguments for is itself a problem: a new URL is walked automatically or forces
whoever adds it to teach the walker here (ARGUMENTS).
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from dashboard.converters import OrderNumberConverter
from orders.models import (
    AddressChange,
    ApiToken,
    ColumnMapping,
    EmailPreference,
    Event,
    EventRead,
    ImportBatch,
    ImportRow,
    InboxState,
    InventoryLevel,
    Membership,
    Order,
    OrderNote,
    Product,
    SavedView,
    StatusChange,
    TrackingEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from orders.tracking import signed_headers

# Route prefixes the walker does not visit, and why. Everything else is walked.
SKIPPED = {
    "admin/": "the provider's staff site: no merchant user may enter it (is_staff), and its "
    "permissions are Django admin's own, tested in tests/test_admin.py; walk_admin() walks "
    "it as staff instead, for 500s",
    "accounts/login/": "the sign-in page: public by design and shows no merchant data",
    "accounts/logout/": "signing out: public by design and shows no merchant data",
    "static/": "static files: public by design, no merchant data",
}

# API URLs that import orders: probed last with A's numbers (the other API URLs that take a
# POST, such as webhook endpoints, create nothing that names an order).
IMPORT_ROUTES = {"api_orders"}

# A refusal that reveals nothing: not signed in / no token, forbidden, not found, wrong method.
REFUSED = {401, 403, 404, 405}


# Values for URL arguments other than order numbers, per URL name and argument: what of the
# victim's data each one names. A pattern with an argument missing here is reported.
def _batches(victim):
    """Every import of A's: a finished one and one waiting for its column mapping."""
    found = list(ImportBatch.objects.filter(merchant=victim.merchant).values_list("pk", flat=True))
    if not ImportBatch.objects.filter(merchant=victim.merchant, state="mapping").exists():
        raise LookupError("the victim needs an import waiting for its column mapping")
    return found


def _mappings(victim):
    found = list(
        ColumnMapping.objects.filter(merchant=victim.merchant).values_list("pk", flat=True)
    )
    if not found:
        raise LookupError("the victim needs a saved column mapping")
    return found


ARGUMENTS = {
    ("import_batch", "pk"): lambda victim: [victim.batch.pk],
    ("saved_view_edit", "view_id"): lambda victim: [victim.saved_view.pk],
    ("import_errors", "pk"): lambda victim: [victim.batch.pk],
    ("product_connect", "pk"): lambda victim: list(
        Product.objects.filter(merchant=victim.merchant).values_list("pk", flat=True)[:2]
    ),
    **{
        (name, "pk"): lambda victim: [e.pk for e in victim.endpoints]
        for name in (
            "webhook_endpoint",
            "webhook_test",
            "webhook_rotate",
            "webhook_toggle",
            "webhook_delete",
            "webhook_resend",
            "api_webhook",
        )
    },
    ("webhook_resend", "delivery_pk"): lambda victim: [d.pk for d in victim.deliveries],
    ("import_mapping", "pk"): _batches,
    ("import_mapping_forget", "pk"): _mappings,
    ("api_import", "pk"): _batches,
}


@dataclass
class Victim:
    """Merchant A's real data, as the walker needs it."""

    merchant: object
    orders: list  # Order instances in varied states (draft, held, shipped, clean swept...)
    batch: object  # an ImportBatch of A
    raw_token: str  # A's API token (only to prove the walker's own requests are sound)
    saved_view: object = None  # a view A's team shares
    extra_secrets: list = field(default_factory=list)
    endpoints: list = field(default_factory=list)  # A's webhook endpoints
    deliveries: list = field(default_factory=list)  # and deliveries to them

    def numbers(self):
        return [o.number for o in self.orders]

    def secrets(self):
        """Strings that must never appear in a response to someone else."""
        found = {self.merchant.name, self.batch.filename, *self.extra_secrets}
        for endpoint in self.endpoints:
            found.update([endpoint.url, endpoint.secret, endpoint.description])
        for order in self.orders:
            found.update(
                [
                    order.number,
                    order.customer_name,
                    order.customer_email,
                    order.ship_name,
                    order.address1,
                    order.address2,
                    order.tracking_number,
                ]
            )
        return sorted(s for s in found if s and len(s) >= 6)


@dataclass
class Attacker:
    """Merchant B: a signed-in manager and B's own API token."""

    user: object
    raw_token: str


@dataclass
class Route:
    route: str  # "orders/<number:number>/cancel/"
    name: str
    kind: str  # "session", "api" or "webhook"
    pattern: URLPattern
    namespace: str = ""


# --- finding the patterns --------------------------------------------------------------------


def all_routes(resolver=None, prefix="", namespace=""):
    """Every URLPattern under the resolver, recursing into includes, with its full route."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from all_routes(entry, route, inner)
        else:
            yield route, entry, namespace


def routes():
    """(walked, skipped): walked Routes, and (route, reason) for each skipped pattern."""
    walked, skipped = [], []
    for route, pattern, namespace in all_routes():
        bare = route.lstrip("^")
        reason = next((why for p, why in SKIPPED.items() if bare.startswith(p)), None)
        if reason:
            skipped.append((route, reason))
            continue
        if bare.startswith("api/"):
            kind = "api"
        elif bare.startswith("webhooks/"):
            kind = "webhook"
        else:
            kind = "session"
        walked.append(Route(route, pattern.name or route, kind, pattern, namespace))
    return walked, skipped


def url_arguments(route):
    """{argument: converter or None} of a pattern (None for a regex group)."""
    converters = getattr(route.pattern.pattern, "converters", {}) or {}
    names = list(route.pattern.pattern.regex.groupindex)
    return {name: converters.get(name) for name in names}


def build_urls(route, victim):
    """Concrete URLs naming the victim's resources; raises LookupError when the walker does
    not know what an argument names."""
    arguments = url_arguments(route)
    choices = {}
    for name, converter in arguments.items():
        if isinstance(converter, OrderNumberConverter):
            choices[name] = victim.numbers()
        elif (route.name, name) in ARGUMENTS:
            choices[name] = ARGUMENTS[(route.name, name)](victim)
        else:
            raise LookupError(
                f"{route.route}: the tenancy walker cannot build a value for <{name}> "
                f"({type(converter).__name__ if converter else 'regex group'}); teach "
                "tests/tenancy.py ARGUMENTS what it names."
            )
    if not route.pattern.name:
        raise LookupError(f"{route.route}: unnamed pattern; name it so the walker can reverse it.")
    view_name = f"{route.namespace}:{route.pattern.name}" if route.namespace else route.pattern.name
    combos = [{}]
    for name, values in choices.items():
        combos = [{**c, name: v} for c in combos for v in values]
    return [reverse(view_name, kwargs=c) for c in combos]


# --- what must not change ----------------------------------------------------------------------


def snapshot(merchant):
    """Everything of merchant A that another party's request could change."""
    orders = Order.objects.filter(merchant=merchant)
    return {
        "orders": list(
            orders.order_by("pk").values_list(
                "pk",
                "number",
                "status",
                "payment_status",
                "hold_reason",
                "address1",
                "city",
                "tracking_number",
                "refunded_amount",
            )
        ),
        "history": StatusChange.objects.filter(order__merchant=merchant).count(),
        "address_changes": AddressChange.objects.filter(order__merchant=merchant).count(),
        "tracking_events": TrackingEvent.objects.filter(order__merchant=merchant).count(),
        "batches": list(
            ImportBatch.objects.filter(merchant=merchant)
            .order_by("pk")
            .values_list("pk", "state", "created", "kind", "mapping_id")
        ),
        "import_rows": ImportRow.objects.filter(batch__merchant=merchant).count(),
        "tokens": list(
            ApiToken.objects.filter(merchant=merchant)
            .order_by("pk")
            .values_list("pk", "revoked_at")
        ),
        "stock": list(
            InventoryLevel.objects.filter(product__merchant=merchant)
            .order_by("pk")
            .values_list("pk", "on_hand", "reserved")
        ),
        "products": Product.objects.filter(merchant=merchant).count(),
        "mappings": list(
            ColumnMapping.objects.filter(merchant=merchant)
            .order_by("pk")
            .values_list("pk", "name", "signature", "columns")
        ),
        "memberships": Membership.objects.filter(merchant=merchant).count(),
        "notes": list(
            OrderNote.objects.filter(order__merchant=merchant)
            .order_by("pk")
            .values_list("pk", "text")
        ),
        "saved_views": list(
            SavedView.objects.filter(merchant=merchant)
            .order_by("pk")
            .values_list("pk", "name", "query", "shared", "position")
        ),
        "endpoints": list(
            WebhookEndpoint.objects.filter(merchant=merchant)
            .order_by("pk")
            .values_list("pk", "url", "secret", "state", "event_types")
        ),
        "deliveries": list(
            WebhookDelivery.objects.filter(endpoint__merchant=merchant)
            .order_by("pk")
            .values_list("pk", "state", "next_attempt_at", "created_at")
        ),
        "events": Event.objects.filter(merchant=merchant).count(),
        "inbox": list(
            InboxState.objects.filter(merchant=merchant).values_list("user_id", "read_through")
        ),
        "read": EventRead.objects.filter(event__merchant=merchant).count(),
        "email_choices": list(
            EmailPreference.objects.filter(merchant=merchant).values_list(
                "user_id", "kind", "choice"
            )
        ),
    }


# --- the walk --------------------------------------------------------------------------------


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


# Statements that cannot change a row: a request that sent only these left the data as it
# was, so the walk compares snapshots only after a request that sent anything else.
_READ_ONLY = ("SELECT", "SAVEPOINT", "RELEASE")


class _Writes:
    """An execute wrapper noting whether any statement other than a read went out."""

    def __init__(self):
        self.seen = False

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(_READ_ONLY):
            self.seen = True
        return execute(sql, params, many, context)


def _login_redirect(response):
    login = resolve_url(settings.LOGIN_URL)
    return response.status_code == 302 and response["Location"].startswith(login)


class _Walk:
    def __init__(self, victim, attacker):
        self.victim = victim
        self.attacker = attacker
        self.problems = []
        self.requests = 0
        self.imports_at = []  # API URLs that create orders, probed last
        self.secrets = victim.secrets()
        self.before = snapshot(victim.merchant)
        # A crash is reported as the 500 it would be, among the other problems.
        self.anonymous = Client(raise_request_exception=False)
        self.outsider = Client(raise_request_exception=False)
        self.outsider.force_login(attacker.user)

    def problem(self, who, method, url, message):
        self.problems.append(f"{who} {method} {url}: {message}")

    def send(self, who, client, method, url, *, expect, data=None, headers=None, **kwargs):
        """One request; `expect` is "refused" (a refusal or, for sessions, the login page) or
        "any" (a page of the attacker's own, which must just not show A's data)."""
        self.requests += 1
        if method == "get":
            data = None  # a GET has no body
            kwargs.pop("content_type", None)
        writes = _Writes()
        with connection.execute_wrapper(writes):
            response = getattr(client, method)(url, data=data, headers=headers or {}, **kwargs)
            body = _body(response)  # a streamed body runs its queries here
        status = response.status_code
        if status >= 500:
            self.problem(who, method.upper(), url, f"server error {status}")
        elif expect == "refused" and status not in REFUSED and not _login_redirect(response):
            self.problem(who, method.upper(), url, f"answered {status}, not a refusal")
        elif expect == "login" and not (_login_redirect(response) or status in REFUSED):
            self.problem(who, method.upper(), url, f"answered {status}, not the sign-in page")
        sent = f"{url} {data!r} {headers!r}"
        for secret in self.secrets:
            if secret in sent or quote(secret) in sent:
                continue  # the attacker's own words echoed back reveal nothing
            if secret.encode() in body or quote(secret).encode() in body:
                self.problem(who, method.upper(), url, f"response shows {secret!r}")
        if not writes.seen:
            return response  # nothing but reads: A's data is as the last snapshot saw it
        now = snapshot(self.victim.merchant)
        if now != self.before:
            self.problem(
                who, method.upper(), url, f"changed merchant A's data: {_diff(self.before, now)}"
            )
            self.before = now
        return response

    # -- per kind --

    def session(self, route, urls, targeted):
        victim = self.victim
        orders = list(Order.objects.filter(merchant=victim.merchant))
        posts = [
            # Everything a form of ours might read, pointing at A's rows.
            {
                "merchant": victim.merchant.pk,
                "action": "cancel",
                "scope": "selected",
                "selected": [o.pk for o in orders],
                "confirmed": "1",
                "note": "walker",
                "expected_status": "import_review",
                "save_draft": "1",
                "next": "/",
                **{f"seen-{o.pk}": o.status for o in orders},
            },
            {"action": "clean_sweep", "scope": "all", "confirmed": "1"},
        ]
        queries = [
            {},
            # A search for A's customer, a second page, the batch report's filter and part.
            {
                "q": victim.orders[0].customer_email,
                "page": "2",
                "outcome": "error",
                "part": "progress",
                "seen": "import_review",
            },
        ]
        for url in urls:
            self.send("anonymous", self.anonymous, "get", url, expect="login")
            self.send("anonymous", self.anonymous, "post", url, data=posts[0], expect="login")
            expect = "refused" if targeted else "any"
            for query in queries:
                full = f"{url}?{urlencode(query)}" if query else url
                self.send("merchant B", self.outsider, "get", full, expect=expect)
                self.send(
                    "merchant B (htmx)",
                    self.outsider,
                    "get",
                    full,
                    expect=expect,
                    headers={"HX-Request": "true"},
                )
            for data in posts:
                self.send("merchant B", self.outsider, "post", url, data=data, expect=expect)
        # A's own token works on the cookie-less API only: a session never stands in for it.

    def api(self, route, urls, targeted):
        victim = self.victim
        body = _api_order("WALKER-PROBE-1")
        tokens = {
            "no token": {},
            "a wrong token": {"Authorization": "Bearer fdk_" + "x" * 43},
            "a malformed header": {"Authorization": victim.raw_token},
        }
        for url in urls:
            for who, headers in tokens.items():
                for method in ("get", "post"):
                    self.send(
                        who,
                        self.anonymous,
                        method,
                        url,
                        data=body,
                        content_type="application/json",
                        headers=headers,
                        expect="refused",
                    )
            # Signed in to the dashboard is not an API credential.
            for method in ("get", "post"):
                self.send(
                    "merchant B's session",
                    self.outsider,
                    method,
                    url,
                    data=body,
                    content_type="application/json",
                    expect="refused",
                )
            b_token = {"Authorization": f"Bearer {self.attacker.raw_token}"}
            for method in ("get", "post"):
                self.send(
                    "merchant B's token",
                    self.anonymous,
                    method,
                    url,
                    data=body,
                    content_type="application/json",
                    headers=b_token,
                    expect="refused" if targeted else "any",
                )
                if not targeted and method == "post" and route.name in IMPORT_ROUTES:
                    self.imports_at.append(url)

    def import_a_number(self):
        """Last (it gives B orders with A's numbers): B importing A's numbers through the API
        must create B's own orders, not answer 'already imported' or 'cancelled', which would
        tell B that A has them."""
        b_token = {"Authorization": f"Bearer {self.attacker.raw_token}"}
        for url in self.imports_at:
            for order in self.victim.orders:
                response = self.send(
                    "merchant B's token",
                    self.anonymous,
                    "post",
                    url,
                    data=_api_order(order.number),
                    content_type="application/json",
                    headers=b_token,
                    expect="any",
                )
                outcome = json.loads(response.content or b"{}")
                if not isinstance(outcome, dict) or outcome.get("outcome") not in (
                    "created",
                    "reimported",
                ):
                    self.problem(
                        "merchant B's token",
                        "POST",
                        url,
                        f"importing A's number {order.number} answered {response.status_code} "
                        f"{outcome.get('outcome') if isinstance(outcome, dict) else outcome!r}, "
                        "not a new order of B's",
                    )

    def webhook(self, route, urls, targeted):
        victim = self.victim
        shipped = [o for o in victim.orders if o.tracking_number]
        if not shipped:
            self.problems.append(f"{route.route}: the victim has no shipped order to target")
            return
        body = webhook_body(shipped[0])
        wrong = signed_headers("not-the-secret", body)
        with_b_token = signed_headers(self.attacker.raw_token, body)
        attempts = {
            "unsigned": {},
            "a wrong signature": {**wrong, "X-Tracking-Signature": "sha256=" + "0" * 64},
            "signed with a wrong secret": wrong,
            "signed with merchant B's API token": with_b_token,
            "merchant B's bearer token": {"Authorization": f"Bearer {self.attacker.raw_token}"},
        }
        for url in urls:
            for who, headers in attempts.items():
                self.send(
                    who,
                    self.anonymous,
                    "post",
                    url,
                    data=body,
                    content_type="application/json",
                    headers=headers,
                    expect="refused",
                )
            self.send(
                "merchant B (session)",
                self.outsider,
                "post",
                url,
                data=body,
                content_type="application/json",
                expect="refused",
            )


def webhook_body(order):
    """A well-formed carrier event for the victim's parcel: only the signature is wrong."""
    return json.dumps(
        {
            "event_id": "walker-evt-1",
            "tracking_number": order.tracking_number,
            "code": "delivered",
            "occurred_at": "2026-01-01T00:00:00Z",
        }
    ).encode()


def _api_order(number):
    return json.dumps(
        {
            "number": number,
            "customer_name": "Walker Probe",
            "lines": [{"sku": "WALK-1", "quantity": 1, "unit_price": "1.00"}],
        }
    )


def _diff(before, after):
    changed = [k for k in before if before[k] != after[k]]
    return ", ".join(changed)


def walk(victim, attacker, only=None):
    """Request every walked URL as everyone who must not reach A's data; returns
    (problems, routes walked, requests sent). `only`: URL names to limit the walk to (for
    the tests that plant a leak in one place)."""
    state = _Walk(victim, attacker)
    walked, _skipped = routes()
    if only is not None:
        walked = [r for r in walked if r.name in only]
    for route in walked:
        try:
            urls = build_urls(route, victim)
        except LookupError as exc:
            state.problems.append(str(exc))
            continue
        targeted = bool(url_arguments(route))
        getattr(state, route.kind)(route, urls, targeted)
    state.import_a_number()
    return state.problems, walked, state.requests


# --- the admin, walked as staff ------------------------------------------------------------------
# Merchants never enter the admin; staff do, with every URL and filter in reach. walk_admin()
# requests every admin URL pattern as a staff user (objects of every registered model,
# every transition name and unknown ones, odd filters and junk POSTs) and reports each 500.


def _admin_model(route):
    """The model whose ModelAdmin a route belongs to (by its URL name), or None."""
    from django.contrib import admin

    for model in admin.site._registry:
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if route.name.startswith(prefix):
            return model
    return None


def _object_ids(route, victim):
    model = _admin_model(route)
    if model is Order:
        ids = [o.pk for o in victim.orders]
    elif model is not None:
        ids = list(model._default_manager.order_by("pk").values_list("pk", flat=True)[:2])
    else:
        ids = []
    return [*ids, 999999999, "not-a-number"]


def _transition_names(route, victim):
    from orders.admin import TRANSITIONS

    return [*sorted(TRANSITIONS), "bogus", "save", "delete", "__class__"]


def _app_labels(route, victim):
    from django.contrib import admin

    return sorted({m._meta.app_label for m in admin.site._registry})


def _content_types(route, victim):
    from django.contrib.contenttypes.models import ContentType

    return [ContentType.objects.get_for_model(Order).pk, 999999]


# Values for admin URL arguments, by argument name. A new admin URL with an argument missing
# here is reported by walk_admin().
ADMIN_ARGUMENTS = {
    "object_id": _object_ids,
    "id": _object_ids,  # auth's password change page names its user so
    "transition_name": _transition_names,
    "app_label": _app_labels,
    "content_type_id": _content_types,
    # The admin's catch-all pattern (an unknown admin path answers 404).
    "url": lambda route, victim: ["bogus/", "orders/nothing/", "orders/order/x/y/z/"],
}
# Query strings for changelists: filters with values a column cannot hold, unknown values,
# sorting and paging out of range.
ADMIN_QUERIES = [
    "status__exact=%00",
    "flow__exact=%00",
    "payment_status__exact=%00",
    "hold_reason__exact=%00",
    "q=%00",
    "q=a%00b&status__exact=picked",
    "queue=%00",
    "queue=bogus",
    "status__exact=bogus",
    "center__id__exact=abc",
    "merchant__id__exact=99999999999999999999",
    "o=99.-42",
    "p=999",
    "p=-1",
    "e=1",
    "_to_field=bogus",
    "all=&q=%25%5F%5C",
    "created_at__gte=not-a-date",
]
ADMIN_POSTS = [
    {
        "_save": "Save",
        "shown": "junk",
        "number": "\x00",
        "customer_email": "not-an-email",
        "total": "1e999",
        "ship_by_0": "2026-02-30",
        "_fsm_transition_to": "bogus",
        "action": "bogus",
        "_selected_action": ["1", "x"],
        "received": "-5",
        "counted": "abc",
        "shown_on_hand": "x",
        "lines-TOTAL_FORMS": "x",
        "amount": "NaN",
        "reason": "\x00",
        "tracking_lines": "A,B\nA,B",
    },
    {"_fsm_transition_to": "__class__", "action": "bulk_hand_over", "apply": "1"},
]


def admin_routes():
    """Every URL pattern under admin/ (the walk of merchants skips them)."""
    return [
        Route(route, pattern.name or route, "admin", pattern, namespace)
        for route, pattern, namespace in all_routes()
        if route.lstrip("^").startswith("admin/")
    ]


def build_admin_urls(route, victim):
    arguments = url_arguments(route)
    choices = {}
    for name in arguments:
        if name not in ADMIN_ARGUMENTS:
            raise LookupError(
                f"{route.route}: the admin walker cannot build a value for <{name}>; teach "
                "tests/tenancy.py ADMIN_ARGUMENTS what it names."
            )
        choices[name] = ADMIN_ARGUMENTS[name](route, victim)
    combos = [{}]
    for name, values in choices.items():
        combos = [{**c, name: v} for c in combos for v in values]
    if not route.pattern.name:  # the admin's own redirects and catch-all are unnamed
        return [_fill(route.route, c) for c in combos]
    view_name = f"{route.namespace}:{route.pattern.name}" if route.namespace else route.pattern.name
    return [reverse(view_name, kwargs=c) for c in combos]


def _fill(route, kwargs):
    """A URL from an unnamed pattern's text: arguments filled in, regex anchors dropped."""
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: quote(str(kwargs[m[1]])), route)
    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: quote(str(kwargs[m[1]])), url)
    return "/" + url.replace("^", "").replace("$", "")


def walk_admin(victim, staff_user, only=None):
    """Request every admin URL as staff: GET (changelists also with ADMIN_QUERIES) and POST
    junk (delete pages with an empty POST, which only asks again). Returns (problems,
    routes walked, requests sent); a problem is a 500 or an argument the walker cannot
    fill."""
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    problems, requests = [], 0
    walked = [r for r in admin_routes() if only is None or r.name in only]
    # Signing out last, so the walk keeps its session.
    walked.sort(key=lambda r: r.name == "logout")
    for route in walked:
        try:
            urls = build_admin_urls(route, victim)
        except LookupError as exc:
            problems.append(str(exc))
            continue
        for url in urls:
            attempts = [("get", url, None)]
            if route.name.endswith("_changelist"):
                attempts += [("get", f"{url}?{query}", None) for query in ADMIN_QUERIES]
            if route.name.endswith("_delete") or route.name == "logout":
                attempts.append(("post", url, {}))
            else:
                attempts += [("post", url, data) for data in ADMIN_POSTS]
            for method, target, data in attempts:
                requests += 1
                response = getattr(client, method)(target, data=data)
                if response.status_code >= 500:
                    problems.append(
                        f"staff {method.upper()} {target}: server error {response.status_code}"
                    )
    return problems, walked, requests

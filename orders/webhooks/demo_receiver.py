"""A small webhook receiver for the demo (`make run`): listens on 127.0.0.1, verifies every
request with the `standardwebhooks` package and logs what it got. It is what a merchant's
own receiver does, in a few lines."""

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

log = logging.getLogger("demo_receiver")

# The demo endpoint's secret (seed_demo gives Acme's demo endpoint this one). Demo only.
DEMO_SECRET = "whsec_ZGVtby1vbmx5LXdlYmhvb2stc2VjcmV0LTIwMjYhIQ=="
DEMO_PORT = 8025


def make_server(port=DEMO_PORT, secret=DEMO_SECRET, out=print):
    verifier = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = min(int(self.headers.get("Content-Length") or 0), 1_000_000)
            body = self.rfile.read(length)
            try:
                message = verifier.verify(body, dict(self.headers.items()))
            except (WebhookVerificationError, ValueError) as exc:
                out(f"[receiver] REFUSED {self.headers.get('webhook-id')}: {exc}")
                self._answer(400, {"error": str(exc)})
                return
            data = message.get("data", {})
            what = data.get("number") or data.get("import", {}).get("id") or ""
            out(
                f"[receiver] verified {message.get('type')} {what} "
                f"{data.get('sub_status', '')} ({self.headers.get('webhook-id')})"
            )
            self._answer(200, {"received": self.headers.get("webhook-id")})

        def _answer(self, status, document):
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)

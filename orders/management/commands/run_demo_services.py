"""`make run`'s background services: the task worker (`manage.py db_worker`, which runs
reviews, imports, event dispatch and webhook deliveries) and the demo webhook receiver on
127.0.0.1. Stops them when the process it watches (make) exits."""

import os
import signal
import subprocess
import sys
import threading
import time

from django.core.management.base import BaseCommand

from orders.webhooks.demo_receiver import DEMO_PORT, make_server


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Command(BaseCommand):
    help = "Run the task worker and the demo webhook receiver until --watch-pid exits."

    def add_arguments(self, parser):
        parser.add_argument("--watch-pid", type=int, default=None)
        parser.add_argument("--port", type=int, default=DEMO_PORT)

    def handle(self, *args, watch_pid=None, port=DEMO_PORT, **options):
        # `make run` stops its background processes with SIGTERM: leave through the finally
        # below so the worker child is stopped too, not orphaned.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

        def say(line):
            self.stdout.write(line)
            self.stdout.flush()

        try:
            server = make_server(port=port, out=say)
        except OSError as exc:
            say(f"[receiver] not started on 127.0.0.1:{port}: {exc}")
            server = None
        if server:
            threading.Thread(target=server.serve_forever, daemon=True).start()
            say(f"[receiver] listening on http://127.0.0.1:{port}/ (verifies signatures)")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.5", "--no-startup-delay"]
        )
        say(f"[worker] manage.py db_worker started (pid {worker.pid})")
        try:
            while worker.poll() is None and (watch_pid is None or _alive(watch_pid)):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
            if server:
                server.shutdown()

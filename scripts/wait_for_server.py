"""Wait until a URL answers (any HTTP status counts: the server is up), for at most the
given number of seconds; exit 1 if it never does. Used by run-demo.sh and serve.sh before
they print their banner."""

import sys
import time
import urllib.error
import urllib.request


def main(url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return 0
        except urllib.error.HTTPError:
            return 0  # any answer means the server is up
        except OSError:
            time.sleep(0.5)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))

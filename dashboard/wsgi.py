import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

application = get_wsgi_application()

# Everything loaded so far (Django, the apps, URL patterns, settings) lives as long as the
# process: move it out of the garbage collector's sight, so full collections during requests
# only walk what requests allocate. With gunicorn's --preload the workers also share these
# pages instead of copying them when the collector touches them.
gc.freeze()

# A page allocates tens of thousands of objects (querysets, rows, template nodes), and with
# Python's default threshold (700) the youngest generation is collected dozens of times per
# request, each pass walking objects that are about to be freed by reference counting
# anyway. Collecting every 20,000 allocations instead cost 4-7 % less CPU per list, search
# and order page (loadtest/profile_requests.py, runs in turns); the few reference cycles a
# request leaves wait a little longer.
gc.set_threshold(20_000, 50, 100)

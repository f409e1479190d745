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

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
# Everything loaded so far (Django, the apps, their modules) lives as long as the process: keep it
# out of the collector's reach, so a collection during a request scans only what requests made
# (a long answer's tail was a full collection over the whole loaded framework; docs/performance.md).
gc.freeze()

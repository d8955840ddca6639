"""ASGI entry point: HTTP through Django, WebSockets through Channels.

The lead socket and the staff socket check the Origin themselves (per agency,
CONTRACT §3.1), so there is no global AllowedHostsOriginValidator here.
"""

import os
import sys

from django.core.asgi import get_asgi_application

# The event loop streams tokens while ORM work runs on the database thread;
# both need the GIL, and the interval is how long either may keep it while the
# other waits. 3 ms (Python's default is 5): at 200 streaming conversations
# the added per-token p95 was 8-12 ms against 19-38 ms with the 0.5 ms used
# before, whose extra hand-offs cost both threads more than the waits they
# shortened; at 50 both stay well under the 5 ms target (bench/README.md,
# 2026-12-03).
sys.setswitchinterval(float(os.environ.get("MARKEZY_GIL_SWITCH_INTERVAL", "0.003")))

from project.sched import loop_thread_tune  # noqa: E402

# uvicorn and daphne import the application on the thread that runs their
# event loop, before any database or request thread exists: the loop asks the
# kernel for quick wake-ups, and those threads for less of a contended core
# (project/sched.py).
loop_thread_tune()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from django.conf import settings  # noqa: E402

from project.http_threads import PersistentRequestThreads  # noqa: E402
from project.routing import websocket_urlpatterns  # noqa: E402

# Each request on one of a few long-lived threads, so database connections
# persist (project/http_threads.py); HTTP_THREADS=0 keeps Django's thread per request.
http_app = PersistentRequestThreads(django_asgi_app, threads=settings.HTTP_THREADS) if settings.HTTP_THREADS > 0 else django_asgi_app

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

from project.runtime import tune_gc, warm_up  # noqa: E402

warm_up()
tune_gc()

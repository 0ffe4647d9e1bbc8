"""Production settings for gunicorn.

Run::

    PETATPS_DB=postgresql://petatps@db/petatps PETATPS_SECRET_KEY=... PETATPS_NIK_KEY=... PETATPS_ENV=production \\
        gunicorn -c web/gunicorn.conf.py "web.app:create_app()"

Environment (besides the ``PETATPS_*`` settings of ``web/config.py``):

``PETATPS_BIND``       address to listen on (default ``127.0.0.1:8000``; put nginx/Caddy with TLS in front)
``PETATPS_WORKERS``    worker processes (default: one per CPU core)
``PETATPS_THREADS``    threads per worker (default 4; keep-alive connections need the threaded worker)
``PETATPS_ACCESS_LOG`` ``1`` (default) writes the access log to stdout; it holds paths only, and a NIK is
                       never in a path (lookups are POST bodies)
``PETATPS_WARM``       ``all`` (default): build the data cache — layers, tiles, API tables, nearest index and
                       the DPT lookup index — in the master before forking, so workers share it copy-on-write
                       and the first requests are fast; ``layers``: everything but the DPT index; ``none``.

With more than one worker, set ``PETATPS_RATELIMIT_STORAGE=redis://127.0.0.1:6379`` so the NIK lookup
limit is shared by the workers (memory storage counts per worker).

The app is preloaded, so every worker shares one ``PETATPS_SECRET_KEY`` even when it is generated
(development); production refuses to start without one. Behind a reverse proxy set
``PETATPS_PROXY_COUNT=1`` so rate limits see the client address, not the proxy's.
"""

import multiprocessing
import os

bind = os.environ.get("PETATPS_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PETATPS_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("PETATPS_THREADS", "4"))
keepalive = 5
timeout = 60
graceful_timeout = 30
max_requests = 200_000          # recycle workers now and then (a data reload in a fresh process)
max_requests_jitter = 20_000
preload_app = True
limit_request_line = 4094
limit_request_fields = 50
forwarded_allow_ips = os.environ.get("PETATPS_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-" if os.environ.get("PETATPS_ACCESS_LOG", "1") == "1" else None
errorlog = "-"
loglevel = os.environ.get("PETATPS_LOG_LEVEL", "info")
proc_name = "petatps"


def when_ready(server):
    """Build the data cache in the master (before the fork), then drop its store connections."""
    mode = os.environ.get("PETATPS_WARM", "all")
    if mode == "none":
        return
    from web.data import warm

    app = server.app.wsgi()
    warm(app, voters=(mode == "all"))
    store = app.extensions.get("petatps.store")
    if store is not None:
        store.close()       # workers open their own connections (a socket must not cross a fork)

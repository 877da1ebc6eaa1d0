"""gunicorn settings for production: ``gunicorn usagehub.wsgi -c deploy/gunicorn.conf.py``.

Every value can be overridden from the environment, so one file serves a laptop,
a VM and a container. The numbers are the ones the load and fault tests ran with.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Requests are short and mostly wait on PostgreSQL: 2 per usable core, plus one — capped,
# because each worker holds a database connection (PostgreSQL allows 100 by default) and
# a container on a big host would otherwise count the host's cores.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * len(os.sched_getaffinity(0)) + 1, 9)))
# Sync workers, not gthread: gthread measured only ~2% more pings/s (docs/benchmarks.md),
# but its heartbeat runs whatever its threads do, so `timeout` no longer kills a stuck
# request, and every thread holds its own database connection.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # a 10,000-account CSV takes ~1 s
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never take the host down. Not too
# often: a new worker spends ~0.65 s of CPU importing the app, and at ingestion's ~250
# pings/s per worker a recycle every 2,000 requests (every 8 s) cost about 8% of its CPU.
max_requests = 10000
max_requests_jitter = 1000
# Trust X-Forwarded-* only from the proxy in front (a comma-separated list, or *).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "true") == "true" else None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
SHARED_MEMORY = "/dev/shm"  # noqa: S108 — gunicorn's documented heartbeat directory
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None  # heartbeats off disk

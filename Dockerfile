# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base

# The gateway's own settings come from the environment (GATEWAY_<KEY> wins over the config
# file's server section): inside a container it listens on every interface, on 8080. The config
# directory is /app/config: the image holds the bundled config.yaml there, and compose.yaml
# mounts the project directory over it (config.yaml and .env, both reloaded when they change).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080 \
    GATEWAY_CONFIG=/app/config/config.yaml \
    GATEWAY_ENV_FILE=/app/config/.env \
    GATEWAY_STATE_FILE=/app/state/gateway-state.sqlite3

WORKDIR /app

# Dependencies first (cached layer); only runtime packages from the lock file.
COPY requirements.lock pyproject.toml ./
RUN pip install -r requirements.lock

COPY app ./app
COPY domain ./domain
COPY adapters ./adapters
COPY infrastructure ./infrastructure
COPY config.yaml ./config/config.yaml
# /app/state: the usage and spend of gateway keys without Redis (compose mounts a named volume
# there; it must belong to the user the gateway runs as, which a new volume copies from here).
RUN pip install --no-deps . \
 && useradd --system --uid 10001 --no-create-home gateway \
 && mkdir -p /app/state && chown gateway /app/state

USER gateway
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; url = f\"http://127.0.0.1:{os.environ['GATEWAY_PORT']}/healthz\"; sys.exit(0 if urllib.request.urlopen(url, timeout=2).status == 200 else 1)"]

# No flags: they would win over the environment, .env and the config file.
CMD ["python", "-m", "app"]

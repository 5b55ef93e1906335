# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (cached layer); only runtime packages from the lock file.
COPY requirements.lock pyproject.toml ./
RUN pip install -r requirements.lock

COPY app ./app
COPY domain ./domain
COPY adapters ./adapters
COPY infrastructure ./infrastructure
COPY config.yaml ./config.yaml
RUN pip install --no-deps . \
 && useradd --system --uid 10001 --no-create-home gateway

USER gateway
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]

CMD ["python", "-m", "app", "--config", "/app/config.yaml", "--host", "0.0.0.0", "--port", "8080"]

# One image for all four services, API and worker alike; the command picks what runs:
#   API (default):  SERVICE=<intake|eligibility|payments|monitoring>  -> uvicorn services.$SERVICE.api:app
#   worker:         python -m services.<name>.worker
#   migrations:     python -m shared.migrations <name>
# Kubernetes (deploy/k8s) and docker-compose.yml set the command explicitly.
FROM python:3.11-slim

# MALLOC_ARENA_MAX=1: a thread that builds a chunk's rows (the 提标 recompute prices in one) would otherwise get a
# malloc arena of its own, which glibc keeps after the chunk is freed (bench/README.md, 提标 recompute).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SERVICE=intake

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
# Installs the dependencies (and the packages). The source also stays in /app, the working directory, which
# comes first on sys.path: the migrations (services/<name>/migrations, with their .mako template) are found
# next to it there.
RUN pip install . && chown -R root:root /app && chmod -R a+rX,go-w /app

# Numeric, so Kubernetes can verify runAsNonRoot.
USER 10001
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn services.${SERVICE}.api:app --host 0.0.0.0 --port 8000"]

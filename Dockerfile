# syntax=docker/dockerfile:1
# Benben's container image: the wheel of the project and of every first-party plugin in plugins/,
# installed into a slim Python base, run as UID 10001 from a read-only root filesystem.
#
#   docker build -t benben .
#   docker run --read-only --tmpfs /tmp -v benben-data:/var/lib/benben -p 6543:6543 \
#     -e BENBEN_SECRET=... -e BENBEN_DATABASE_URL=postgresql://... -e BENBEN_CACHE_URL=redis://... \
#     benben
#   docker run ... benben benben migrate --ini production.ini   (before starting, after upgrades)
#
# See docs/deployment.md.

ARG PYTHON_VERSION=3.12

# -- builder: wheels of Benben, its plugins and every dependency --------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY plugins/ plugins/

# One resolution for the project and its plugins, so a plugin's requirement on benben is met by
# this source tree, never by a distribution of the same name from an index. Directories without
# a pyproject.toml are not distributions. Tracing (otel) is in the image, off until
# benben.tracing.enabled: an image is configured, not rebuilt.
RUN set -eu; \
    set -- ".[postgresql,redis,otel,s3,images]"; \
    for dir in plugins/*/; do \
        if [ -f "${dir}pyproject.toml" ]; then set -- "$@" "./${dir}"; fi; \
    done; \
    echo "building wheels for: $*"; \
    pip wheel --no-cache-dir --wheel-dir /wheels "$@"

# -- runtime ------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="Benben" \
      org.opencontainers.image.description="A self-hosted, plugin-based REST data platform built on Pyramid." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/benben/benben" \
      org.opencontainers.image.documentation="https://github.com/benben/benben/blob/main/docs/deployment.md"

# Nothing writes bytecode or caches at run time: the root filesystem may be read-only. /tmp and
# the data directory are the only places written.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp \
    BENBEN_DATA_DIR=/var/lib/benben

# The wheels are mounted, not copied, so they never become a layer of the image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index /wheels/*.whl \
    && groupadd --system --gid 10001 benben \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/benben --no-create-home \
       --shell /usr/sbin/nologin benben \
    && mkdir -p /var/lib/benben /var/lib/benben-files /var/tmp/benben \
    && chown 10001:10001 /var/lib/benben /var/lib/benben-files /var/tmp/benben \
    && chmod 0700 /var/lib/benben /var/tmp/benben \
    && chmod 0750 /var/lib/benben-files

WORKDIR /app
# production.ini names its logging configuration relative to itself (%(here)s/conf/logging/).
COPY production.ini ./
COPY conf/logging/ conf/logging/

VOLUME ["/var/lib/benben"]
USER 10001:10001
EXPOSE 6543

# No curl in the slim base: the interpreter asks. /health/live touches no dependency, so a
# database outage never gets a container restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6543/health/live', timeout=4)"]

# One process per CPU the container may use (its CPU limit counts), under Gunicorn: SIGTERM lets
# requests in flight finish, a dead or hung process is replaced (docs/deployment.md, "Processes").
CMD ["benben", "serve", "--ini", "production.ini"]

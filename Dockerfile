# Image for every Python process of the production stack (web, init, Celery
# worker, index worker, beat): one image, the command picks the role.
# See docker-compose.yml and docs/production.md.
#
#   docker build -t archive-service:latest .
#
# No secret is baked in: settings come from the environment at run time and
# the master keyring is mounted as a secret file.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build stage: a virtual environment with the app and its dependencies ----
FROM ${PYTHON_IMAGE} AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from pyproject.toml alone, so this layer is rebuilt only
# when the dependency list changes, not on every code change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

# Then the project itself (a regular, non-editable install).
COPY . .
RUN pip install --no-deps . \
 && pip check


# --- runtime stage -----------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="archive-service" \
      org.opencontainers.image.description="Customer document archive service (web, Celery workers, beat)"

# libmagic1: python-magic. tini: PID 1 that forwards signals and reaps the
# child processes text extraction and page rendering start. LibreOffice
# (headless) and the CJK fonts: office documents shown to supervised viewers
# as watermarked page images, with Chinese names in the watermark; the text of
# .doc/.xls/.ppt, RTF, ODF and WPS files (workers); OFD pages drawn in Noto CJK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmagic1 tini fonts-noto-cjk \
      libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui \
 && rm -rf /var/lib/apt/lists/*

# Unprivileged user with a fixed uid/gid: mounted secret files (the keyring)
# must be readable by uid 10001, see docs/production.md.
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" archive \
 && useradd --system --uid "${APP_UID}" --gid archive --home-dir /var/lib/archive --no-create-home --shell /usr/sbin/nologin archive \
 && install -d -o archive -g archive -m 0700 \
      /var/lib/archive \
      /var/lib/archive/instance \
      /var/lib/archive/index \
      /var/lib/archive/beat

COPY --from=build /opt/venv /opt/venv
# The WSGI entry lives at the repository root (not in a package): gunicorn wsgi:app
COPY wsgi.py /app/wsgi.py

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ARCHIVE_INSTANCE_DIR=/var/lib/archive/instance \
    ARCHIVE_SEARCH_INDEX_DIR=/var/lib/archive/index

WORKDIR /app
USER archive:archive
EXPOSE 8000

# No HEALTHCHECK here: the image serves several roles with different checks;
# docker-compose.yml sets one per service.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--worker-tmp-dir", "/dev/shm", "--limit-request-line", "8190", "--limit-request-fields", "100", "--limit-request-field_size", "16384", "--worker-connections", "100", "--keep-alive", "5", "--access-logfile", "-"]

# The web and worker image: exactly what requirements.txt pins, plus the viewer's npm packages.
FROM node:20-bookworm-slim AS node
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# torch is pinned to its CPU build: take it from the CPU index, everything else from PyPI.
COPY requirements.txt ./
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
COPY --from=node /app/node_modules ./node_modules
COPY . .
RUN DEBUG=0 SECRET_KEY=build-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
    python manage.py collectstatic --no-input
RUN useradd --create-home --uid 1000 iqa && mkdir -p /data && chown iqa /data
USER iqa
ENV IQA_VAR_DIR=/data MEDIA_ROOT=/data/media UPLOAD_ROOT=/data/uploads STATIC_ROOT=/app/var/staticfiles
EXPOSE 8000
CMD ["gunicorn", "iqa_platform.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--preload"]

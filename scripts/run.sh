#!/usr/bin/env bash
# Start a Celery worker in the background and the web server in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
mkdir -p var/log

# One worker for every queue here; a second host may take only some (README: scale-out).
PREFIX="${CELERY_QUEUE_PREFIX:-}"
QUEUES="${PREFIX}ingest,${PREFIX}exports,${PREFIX}training,${PREFIX}inference"
.venv/bin/celery -A iqa_platform worker -Q "$QUEUES" --loglevel INFO --concurrency 1 \
  >var/log/worker.log 2>&1 &
WORKER_PID=$!
trap 'kill $WORKER_PID 2>/dev/null || true' EXIT INT TERM

echo
echo "  IQA platform:  http://$HOST:$PORT/"
echo "  Worker log:    var/log/worker.log (pid $WORKER_PID)"
$PY manage.py demo_logins || true
echo
$PY manage.py runserver "$HOST:$PORT"

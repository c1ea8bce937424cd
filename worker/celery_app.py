"""The worker's Celery app: `celery -A worker.celery_app worker` loads it with the tasks."""

from jobs.queue import make_celery
from jobs.settings import Settings

app = make_celery(Settings(), include=("worker.tasks",))

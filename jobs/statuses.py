"""The states of a job: the one definition the database, the API's schemas, the routes and (by
/v1/meta) the dashboard read.

A job is queued, then running, then ends in one of the final states; a lost run goes back to
queued. Members are strings (StrEnum), so they compare equal to the stored column values.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    # Lower-case names equal to the values: a driver that adapts an enum by its name or by its
    # value stores the same text.
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    diverged = "diverged"


STATUSES: tuple[JobStatus, ...] = tuple(JobStatus)
# Still to run or running: what counts against a key's limit and what a sweep waits for.
ACTIVE_STATUSES: tuple[JobStatus, ...] = (JobStatus.queued, JobStatus.running)
# A job in one of these never changes state again.
FINAL_STATUSES: tuple[JobStatus, ...] = tuple(s for s in JobStatus if s not in ACTIVE_STATUSES)

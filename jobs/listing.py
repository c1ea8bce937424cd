"""Lists of jobs and sweeps: filters, sorts and pages, in SQL that SQLite and PostgreSQL run
alike (tags are joined rows, names are matched with LIKE on lower case)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from jobs.models import Job, JobTag, Sweep, SweepMember, SweepTag

# What a list of experiments may sort by: the creation time, or a number of the summary.
SORTS: tuple[str, ...] = ("created_at", "final_loss", "eval_metric", "horizon", "steps_per_second")
Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class Labelled:
    """Filters experiments and sweeps share: every one of `tags`, and `name` a substring of
    the name (case-insensitive)."""

    tags: tuple[str, ...] = ()
    name: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class JobFilter(Labelled):
    status: str | None = None
    cell: str | None = None
    task: str | None = None
    sweep: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


def _labelled(
    where: Labelled, table: type[Job] | type[Sweep], tag_table: type[JobTag] | type[SweepTag]
) -> list[ColumnElement[bool]]:
    tag_key: InstrumentedAttribute[str] = (
        tag_table.job_id if tag_table is JobTag else tag_table.sweep_id
    )
    conditions = [table.id.in_(select(tag_key).where(tag_table.tag == tag)) for tag in where.tags]
    if where.name is not None:
        conditions.append(table.name.icontains(where.name, autoescape=True))
    if where.owner is not None:
        conditions.append(table.owner == where.owner)
    return conditions


def job_conditions(where: JobFilter) -> list[ColumnElement[bool]]:
    conditions = _labelled(where, Job, JobTag)
    conditions += [
        getattr(Job, name) == value
        for name in ("status", "cell", "task")
        if (value := getattr(where, name)) is not None
    ]
    if where.sweep is not None:
        members = select(SweepMember.job_id).where(SweepMember.sweep_id == where.sweep)
        conditions.append(Job.id.in_(members))
    if where.created_after is not None:
        conditions.append(Job.created_at >= where.created_after)
    if where.created_before is not None:
        conditions.append(Job.created_at < where.created_before)
    return conditions


def ordering(table: Any, sort: str, order: Order) -> list[Any]:
    """`sort` in `order`, rows without a value last, then the id (in the same order) so that
    equal values page stably."""
    column, tiebreak = getattr(table, sort), table.id
    direct = (column.asc(), tiebreak.asc()) if order == "asc" else (column.desc(), tiebreak.desc())
    return [column.is_(None), *direct]


def list_jobs(
    session: Session,
    where: JobFilter,
    limit: int,
    offset: int,
    sort: str = "created_at",
    order: Order = "desc",
) -> tuple[list[Job], int]:
    """One page of jobs in the order asked (newest first by default), and the number of jobs
    matching the filter."""
    conditions = job_conditions(where)
    total = session.scalar(select(func.count()).select_from(Job).where(*conditions)) or 0
    page = session.scalars(
        select(Job)
        .options(selectinload(Job.tag_rows))  # the page's tags in one more query
        .where(*conditions)
        .order_by(*ordering(Job, sort, order))
        .limit(limit)
        .offset(offset)
    )
    return list(page), total


def list_sweeps(session: Session, where: Labelled, limit: int, offset: int) -> list[Sweep]:
    """Newest first."""
    page = session.scalars(
        select(Sweep)
        .options(selectinload(Sweep.tag_rows))
        .where(*_labelled(where, Sweep, SweepTag))
        .order_by(*ordering(Sweep, "created_at", "desc"))
        .limit(limit)
        .offset(offset)
    )
    return list(page)

"""Query parameters of the lists: pages, labels, and for experiments their spec, outcome, sweep,
creation time and order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from api.ids import ROW_ID
from api.labels import TAGS_MAX, Tag
from api.schemas import OFFSET_MAX, PAGE_SIZE_MAX
from gradcore.spec import Cell, Task
from jobs.listing import SORTS, JobFilter, Labelled
from jobs.models import NAME_MAX
from jobs.statuses import JobStatus


def _iso(value: object) -> object:
    # Only ISO 8601 date-times, as the schema says: a number is not read as a Unix time.
    if value is None or isinstance(value, datetime):
        return value
    try:
        if isinstance(value, str) and "T" in value.upper():
            return datetime.fromisoformat(value.upper())
    except ValueError:
        pass
    raise ValueError("an ISO 8601 date and time, such as 2026-01-31T12:00:00Z")


def _utc(moment: datetime | None) -> datetime | None:
    # A time without an offset is UTC, like every stored time.
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


Moment = Annotated[datetime | None, BeforeValidator(_iso), AfterValidator(_utc)]


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=PAGE_SIZE_MAX)
    offset: int = Field(0, ge=0, le=OFFSET_MAX)
    tag: list[Tag] = Field(
        [], max_length=TAGS_MAX, description="Only those with this tag; repeat for all of several"
    )
    name: str | None = Field(
        None,
        min_length=1,
        max_length=NAME_MAX,
        description="Only those whose name contains this, ignoring case",
    )

    def labelled(self, owner: str | None) -> Labelled:
        return Labelled(tags=tuple(self.tag), name=self.name, owner=owner)


class ListQuery(PageQuery):
    status: JobStatus | None = None
    cell: Cell | None = None
    task: Task | None = None
    sweep: str | None = Field(
        None,
        pattern=f"^{ROW_ID.pattern}$",
        description="Only the experiments of this sweep (its id)",
    )
    created_after: Moment = Field(None, description="Created at or after this ISO 8601 time")
    created_before: Moment = Field(None, description="Created before this ISO 8601 time")
    sort: Literal[SORTS] = Field(  # type: ignore[valid-type]
        "created_at",
        description="created_at, or a number of the summary (horizon: the top layer's at the "
        "last probe); runs without it (not ended, or never probed) come last in either order",
    )
    order: Literal["asc", "desc"] = "desc"

    @model_validator(mode="after")
    def _ordered_times(self) -> ListQuery:
        if None not in (self.created_after, self.created_before) and (
            self.created_after >= self.created_before
        ):
            raise ValueError("created_before: must be later than created_after")
        return self

    def job_filter(self, owner: str | None) -> JobFilter:
        return JobFilter(
            **vars(self.labelled(owner)),
            status=self.status,
            cell=self.cell,
            task=self.task,
            sweep=self.sweep,
            created_after=self.created_after,
            created_before=self.created_before,
        )

"""A name, tags and notes: what a researcher labels experiments and sweeps with, at submission
(beside the spec, never inside it: the spec is what runs) and later by PATCH."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.errors import not_found
from gradcore.spec import ExperimentSpec
from jobs.models import NAME_MAX, NOTES_MAX, TAG_MAX, Job, JobTag, Sweep, SweepTag

TAGS_MAX = 32
TAG_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{TAG_MAX - 1}}}$"


def _distinct(tags: list[str]) -> list[str]:
    repeated = sorted({tag for tag in tags if tags.count(tag) > 1})
    if repeated:
        raise ValueError(f"tags: {', '.join(repeated)} given more than once; give each once")
    return tags


Tag = Annotated[str, StringConstraints(pattern=TAG_PATTERN)]
Name = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=NAME_MAX,
        description=f"A name for people (at most {NAME_MAX} characters); lists filter by a "
        "substring of it",
    ),
]
Tags = Annotated[
    list[Tag],
    Field(
        max_length=TAGS_MAX,
        description=f"At most {TAGS_MAX} distinct tags, each 1 to {TAG_MAX} letters, digits "
        "and _ . : - (starting with a letter or digit); lists filter by them. Returned sorted.",
        json_schema_extra={"uniqueItems": True},
    ),
    AfterValidator(_distinct),
]
Notes = Annotated[
    str | None, Field(max_length=NOTES_MAX, description=f"Free text, at most {NOTES_MAX} chars")
]
LABELS: tuple[str, ...] = ("name", "tags", "notes")


class Labels(BaseModel):
    """The labels of a submission (a sweep's body holds them beside base and grid)."""

    name: Name = None
    tags: Tags = []
    notes: Notes = None


class LabelsPatch(Labels):
    """PATCH body: the labels to change, others left as they are; a null name or notes
    removes it, an empty tags list removes them all."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _not_empty(self) -> LabelsPatch:
        if not self.model_fields_set:
            raise ValueError(f"give at least one of {', '.join(LABELS)}")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LABELS if name in self.model_fields_set}


class ExperimentIn(ExperimentSpec):
    """POST /v1/experiments: a spec (gradcore.ExperimentSpec, whose fields are the body's) and
    labels beside its fields. The labels are not part of the spec: the run never sees them,
    and GET returns them beside `spec`."""

    name: Name = None
    tags: Tags = Field(default_factory=list)
    notes: Notes = None

    def spec(self) -> ExperimentSpec:
        return ExperimentSpec.model_validate(
            {field: getattr(self, field) for field in ExperimentSpec.model_fields}
        )


def given(body: Labels | ExperimentIn) -> dict[str, Any]:
    """The labels a submission carries, as stored (tags sorted)."""
    return {"name": body.name, "tags": sorted(body.tags), "notes": body.notes}


def apply(row: Job | Sweep, labels: dict[str, Any]) -> None:
    """Set the given labels on an experiment or a sweep (its session commits them). A tag
    kept stays the same row, so replacing tags never inserts a duplicate key."""
    for name in ("name", "notes"):
        if name in labels:
            setattr(row, name, labels[name])
    if "tags" in labels:
        kept = {tag_row.tag: tag_row for tag_row in row.tag_rows}
        make = JobTag if isinstance(row, Job) else SweepTag
        row.tag_rows = [kept.get(tag) or make(tag=tag) for tag in sorted(labels["tags"])]


def save(session: Session, kind: str, row_id: str) -> None:
    """Commit a PATCH: a 409 when another PATCH added the same tag at the same moment, a 404
    when the row was deleted meanwhile."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise HTTPException(409, f"the {kind}'s tags changed meanwhile; send it again") from exc
    except StaleDataError as exc:
        session.rollback()
        raise not_found(kind, row_id) from exc

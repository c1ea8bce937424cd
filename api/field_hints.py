"""Hints for a refused field name: the nearest known field at that level of the model, so that
"hiden_size" is answered "unknown field; did you mean hidden_size?"."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Sequence
from typing import Any, get_args

from pydantic import BaseModel

UNKNOWN_FIELD = "extra_forbidden"  # pydantic's error type for a field the model does not have
LISTED_MAX = 12  # beyond this many, naming every known field no longer helps


def unknown_field_message(root: Any, loc: Sequence[str | int]) -> str:
    """The message for the unknown field at `loc` (its path from the top of `root`, a model or
    an annotation holding models): the nearest known name there, or the names there."""
    names = sorted(_field_names(_annotations_at(root, loc[:-1])))
    close = difflib.get_close_matches(str(loc[-1]), names, n=1)
    if close:
        return f"unknown field; did you mean {close[0]}?"
    if names and len(names) <= LISTED_MAX:
        return f"unknown field; the fields here are {', '.join(names)}"
    return "unknown field"


def _annotations_at(root: Any, path: Sequence[str | int]) -> list[Any]:
    """The annotations that may hold the value at `path`. A step that names no field (a list
    position, a dict key, a tagged union's tag) keeps the inner types it passes through."""
    annotations = [root]
    for key in path:
        fields = [
            model.model_fields[key].annotation
            for annotation in annotations
            for model in _models(annotation)
            if isinstance(key, str) and key in model.model_fields
        ]
        annotations = fields or [inner for a in annotations for inner in _inner(a)] or annotations
    return annotations


def _field_names(annotations: list[Any]) -> set[str]:
    return {name for a in annotations for model in _models(a) for name in model.model_fields}


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models in an annotation: itself, or those in its Union, Optional or Annotated."""
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for inner in _inner(annotation) for model in _models(inner)]


def _inner(annotation: Any) -> list[Any]:
    return [arg for arg in get_args(annotation) if inspect.isclass(arg) or get_args(arg)]

"""Model instances to event data, encoded as Django encodes JSON (so decimals, dates and UUIDs survive)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.fields.files import FieldFile

from telegraphy.errors import InvalidEvent


def plain(value: Any) -> Any:
    """``value`` as JSON types, with DjangoJSONEncoder's rules for datetimes, decimals, UUIDs and lazy strings."""
    try:
        return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"event data cannot be encoded as JSON: {exc}") from None


def event_fields(model: type[models.Model], fields: Iterable[str] | None,
                 exclude: Iterable[str] | None, owner: str) -> list[models.Field]:
    """The fields an event sends: ``fields`` if given, else every concrete field not in ``exclude``."""
    opts = model._meta
    for attribute, names in (("fields", fields), ("exclude", exclude)):
        if isinstance(names, str):
            raise ImproperlyConfigured(f"{owner}.{attribute} must be a list of field names, got the string {names!r}")
        for name in names or ():
            try:
                field = opts.get_field(name)
            except FieldDoesNotExist:
                known = ", ".join(f.name for f in opts.get_fields() if f.concrete or f.many_to_many)
                raise ImproperlyConfigured(f"{owner}.{attribute} names the field {name!r}, but {opts.label} has no "
                                           f"such field (its fields: {known})") from None
            if not (field.concrete or field.many_to_many):
                raise ImproperlyConfigured(f"{owner}.{attribute} names {name!r}, a reverse relation of {opts.label}:"
                                           " list its own fields or many-to-many fields only")
    if fields is not None:
        return [opts.get_field(name) for name in fields]
    skip = set(exclude or ())
    return [f for f in opts.concrete_fields if f.name not in skip]


def field_value(instance: models.Model, field: models.Field) -> Any:
    """One field's value as events carry it: related objects as ids, files as URLs."""
    if field.many_to_many:
        return list(getattr(instance, field.name).values_list("pk", flat=True)) if instance.pk is not None else []
    if field.is_relation:
        return getattr(instance, field.attname)
    value = field.value_from_object(instance)
    if isinstance(value, FieldFile):
        if not value:
            return None
        try:
            return value.url
        except ValueError:  # a storage without a base URL: the name is all there is
            return value.name
    return value


def instance_data(instance: models.Model, fields: list[models.Field]) -> dict[str, Any]:
    return {field.name: field_value(instance, field) for field in fields}

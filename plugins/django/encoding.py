"""Model instances to event data, encoded as Django encodes JSON (so decimals, dates and UUIDs survive)."""

from __future__ import annotations

import json
from typing import Any

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


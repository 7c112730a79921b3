"""Model events: which SQLAlchemy writes become Telegraphy events, named and shaped as Django's BaseEventModel.

    class OrderEvents(BaseEventModel):
        model = Order
        exclude = ("secret_note",)
    tg.register(OrderEvents)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Mapper

from telegraphy.errors import InvalidEvent
from telegraphy.events import OP_CREATE, OP_DELETE, OP_UPDATE, OPERATIONS, validate_name


def default_name(model: type) -> str:
    """``<package>.<ClassName>``, the Flask twin of Django's ``app_label.ModelName``.

    The package is the last part of the model's module once a trailing ``models`` is dropped
    (``shop.models.Order`` and ``shop.Order`` both give ``shop.Order``); a model defined in a
    script (``__main__``) uses its table name instead.
    """
    parts = model.__module__.split(".")
    if len(parts) > 1 and parts[-1] == "models":
        parts.pop()
    package = parts[-1]
    if package in ("__main__", "models"):
        package = getattr(model, "__tablename__", None) or model.__name__.lower()
    return f"{package}.{model.__name__}"


def identity(obj: Any) -> Any:
    """A mapped object as its primary key (a scalar, or a list for composite keys): foreign keys as ids."""
    state = sa.inspect(obj, raiseerr=False)
    mapper = getattr(state, "mapper", None)
    if mapper is None:
        return obj
    key = state.identity or mapper.primary_key_from_instance(obj)
    if key is None:
        return None
    return key[0] if len(key) == 1 else list(key)


class BaseEventModel:
    """Describe the events of one SQLAlchemy model; register it with ``Telegraphy.register``.

    ``model`` is required. ``fields`` (names to send, in order; relationships go out as ids) wins over
    ``exclude``; both are ignored when the model has a ``to_dict()`` method, which then gives the data.
    ``operations`` picks which of OP_CREATE, OP_UPDATE and OP_DELETE send events (false-ish: none).
    ``name`` defaults to :func:`default_name`; ``verbose_name`` goes to ``meta.verbose_name``.
    ``user_field`` names the attribute holding the user an event is about (``meta.user``), for
    ``access: private`` event policies.
    """

    OP_CREATE: ClassVar[str] = OP_CREATE
    OP_UPDATE: ClassVar[str] = OP_UPDATE
    OP_DELETE: ClassVar[str] = OP_DELETE

    model: type | None = None
    fields: Sequence[str] | None = None
    exclude: Sequence[str] | None = None
    operations: Sequence[str] | None = OPERATIONS
    name: str | None = None
    verbose_name: str | None = None
    user_field: str | None = None

    def __init__(self) -> None:
        cls = type(self).__name__
        mapper = sa.inspect(self.model, raiseerr=False) if isinstance(self.model, type) else None
        if not isinstance(mapper, Mapper):
            raise InvalidEvent(f"{cls}.model must be a mapped SQLAlchemy model class, got {self.model!r}")
        self.mapper = mapper
        self.name = validate_name(self.name or default_name(self.model))
        operations = tuple(self.operations or ())
        unknown = [op for op in operations if op not in OPERATIONS]
        if unknown:
            raise InvalidEvent(f"{cls}.operations: unknown operation {unknown[0]!r}; use OP_CREATE, OP_UPDATE "
                               "or OP_DELETE")
        self.operations = frozenset(operations)
        for option in ("fields", "exclude"):
            names = getattr(self, option)
            if isinstance(names, str):
                raise InvalidEvent(f"{cls}.{option} must be a list of attribute names, not the string {names!r}")
            for name in names or ():
                self._check_attribute(option, name)
        if self.user_field:
            self._check_attribute("user_field", self.user_field)
        if self.fields is not None:
            self.attributes = tuple(self.fields)
        else:
            excluded = set(self.exclude or ())
            self.attributes = tuple(a.key for a in mapper.column_attrs if a.key not in excluded)

    def _check_attribute(self, option: str, name: str) -> None:
        if name not in self.mapper.attrs and not hasattr(self.model, name):
            available = ", ".join(a.key for a in self.mapper.attrs)
            raise InvalidEvent(f"{type(self).__name__}.{option}: {self.model.__name__} has no attribute {name!r} "
                               f"(its columns and relationships: {available})")

    def _value(self, instance: Any, name: str) -> Any:
        value = getattr(instance, name)
        if isinstance(value, (list, tuple, set)) and name in self.mapper.relationships:
            return [identity(v) for v in value]
        if value is not None and hasattr(type(value), "__mapper__"):
            return identity(value)
        return value

    def get_data(self, instance: Any) -> Any:
        """The event's data: ``instance.to_dict()`` if the model has one, else the chosen attributes."""
        to_dict = getattr(instance, "to_dict", None)
        if callable(to_dict):
            return to_dict()
        return {name: self._value(instance, name) for name in self.attributes}

    def get_user(self, instance: Any) -> Any:
        """The user this event is about (``meta.user``), from ``user_field``; None if not set."""
        return self._value(instance, self.user_field) if self.user_field else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {sorted(self.operations)}>"

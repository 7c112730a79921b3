"""Model events: which SQLAlchemy writes become Telegraphy events, declared as Django's BaseEventModel.

    class OrderEvents(BaseEventModel):
        model = Order
        exclude = ("secret_note",)
    tg.register(OrderEvents)

The declaration and its checks are telegraphy.integration's, shared with Django; this module answers its
questions about SQLAlchemy models.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper

from telegraphy.events import OP_CREATE, OP_DELETE, OP_UPDATE
from telegraphy.integration import ModelEventDeclaration

__all__ = ["OP_CREATE", "OP_DELETE", "OP_UPDATE", "BaseEventModel", "default_name", "identity"]


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


class BaseEventModel(ModelEventDeclaration):
    """Describe the events of one SQLAlchemy model; register it with ``Telegraphy.register``.

    The attributes are telegraphy.integration.ModelEventDeclaration's: ``model`` (required, a mapped
    class), ``fields`` (attribute names, relationships sent as ids) or ``exclude`` (columns), ignored when
    the model has a ``to_dict()``; ``operations``; ``name`` (default :func:`default_name`);
    ``verbose_name``; ``access``; ``user_field`` (the attribute holding the user an event is about).
    """

    model_kind = "a mapped SQLAlchemy model class"

    def is_model(self, model: Any) -> bool:
        return isinstance(model, type) and isinstance(sa.inspect(model, raiseerr=False), Mapper)

    @property
    def mapper(self) -> Mapper:
        return sa.inspect(self.model)

    def default_name(self) -> str:
        return default_name(self.model)

    def has_attribute(self, name: str) -> bool:
        return name in self.mapper.attrs or hasattr(self.model, name)

    def describe_attributes(self) -> str:
        return "its columns and relationships: " + ", ".join(a.key for a in self.mapper.attrs)

    def default_attributes(self, exclude: set[str]) -> tuple[str, ...]:
        return tuple(a.key for a in self.mapper.column_attrs if a.key not in exclude)

    def value(self, instance: Any, name: str) -> Any:
        value = getattr(instance, name)
        if isinstance(value, (list, tuple, set)) and name in self.mapper.relationships:
            return [identity(v) for v in value]
        if value is not None and hasattr(type(value), "__mapper__"):
            return identity(value)
        return value

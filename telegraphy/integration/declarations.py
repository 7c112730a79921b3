"""Event declarations as the 2013 Django documentation describes them, for every framework.

A declaration is a class whose attributes say which events a project sends: ``name``, ``verbose_name``,
``access`` for any event; ``model``, ``fields``, ``exclude``, ``operations`` and ``user_field`` for the
create/update/delete events of a model, whose ``to_dict()`` gives the data when it has one. The checks
(raising :class:`~telegraphy.errors.InvalidEvent` that names the class and the attribute), the data and
the event are the same everywhere; a framework plugin subclasses :class:`ModelEventDeclaration` and
answers a few questions about its models (the ``Framework hooks`` below).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from ..config import ACCESS, Config
from ..errors import InvalidEvent
from ..events import OP_CREATE, OP_DELETE, OP_UPDATE, OPERATIONS, Event, validate_name


class EventDeclaration:
    """A named event a project sends itself: ``name`` (required), ``verbose_name`` and ``access``.

    ``access`` declares who may receive it (public, authenticated or private); the gateway enforces the
    shared config's ``events`` policies, and :func:`access_problems` reports a declaration they contradict.
    """

    name: str | None = None
    verbose_name: str | None = None
    access: str | None = None

    def get_name(self) -> str:
        if not self.name:
            raise InvalidEvent(f"{type(self).__name__} needs a name, e.g. name = 'shop.OrderShipped'")
        return self.name

    def validate(self) -> None:
        """Raise InvalidEvent, naming the class and the attribute, if the declaration cannot work."""
        owner = type(self).__name__
        try:
            validate_name(self.get_name())
        except InvalidEvent as exc:
            raise InvalidEvent(f"{owner}: {exc}") from None
        if self.access is not None and self.access not in ACCESS:
            raise InvalidEvent(f"{owner}.access must be one of {', '.join(ACCESS)} or None, got {self.access!r}")

    def plain(self, data: Any) -> Any:
        """``data`` as the event carries it; a framework with its own JSON rules (Django's) overrides this."""
        return data

    def make(self, data: Any = None, event_type: str | None = None, user: Any = None) -> Event:
        """The envelope of this event with ``data``; ``user`` (an id) addresses a private event."""
        return Event.create(self.get_name(), self.plain(data), event_type, verbose_name=self.verbose_name,
                            user=user)


class ModelEventDeclaration(EventDeclaration):
    """The create, update and delete events of ``model``.

    ``fields`` (names to send, in order; all the model's own fields or columns when None) wins over
    ``exclude``; both are ignored when the model has a ``to_dict()``, which then gives the data.
    ``operations`` picks which of OP_CREATE, OP_UPDATE and OP_DELETE send events (false-ish: none);
    ``name`` defaults to the framework's ``<app>.<Model>``; ``verbose_name`` goes to ``meta.verbose_name``;
    ``user_field`` names the field holding the user an event is about (``meta.user``), for private events.
    After :meth:`validate`, ``name`` is the effective name and ``operations`` a frozenset.
    """

    OP_CREATE: ClassVar[str] = OP_CREATE
    OP_UPDATE: ClassVar[str] = OP_UPDATE
    OP_DELETE: ClassVar[str] = OP_DELETE

    model: Any = None
    fields: Collection[str] | None = None
    exclude: Collection[str] | None = None
    operations: Collection[str] | None = OPERATIONS
    user_field: str | None = None

    # -- framework hooks ---------------------------------------------------------------------------------
    model_kind: ClassVar[str] = "a model class"  # what ``model`` must be, for the error message

    def is_model(self, model: Any) -> bool:
        """Whether ``model`` is a model class of this framework."""
        raise NotImplementedError

    def default_name(self) -> str:
        """The event name when ``name`` is not set, e.g. ``"shop.Order"``."""
        raise NotImplementedError

    def model_label(self) -> str:
        """How error messages name the model."""
        return self.model.__name__

    def has_attribute(self, name: str) -> bool:
        """Whether ``fields``, ``exclude`` or ``user_field`` may name ``name``."""
        raise NotImplementedError

    def describe_attributes(self) -> str:
        """What the model has, for error messages: ``"its fields: id, title"``."""
        raise NotImplementedError

    def default_attributes(self, exclude: set[str]) -> tuple[str, ...]:
        """The names sent when ``fields`` is None: the model's own fields or columns, minus ``exclude``."""
        raise NotImplementedError

    def value(self, instance: Any, name: str) -> Any:
        """One attribute of ``instance`` as events carry it (related objects as ids)."""
        return getattr(instance, name)

    # -- shared ------------------------------------------------------------------------------------------
    def get_name(self) -> str:
        return self.name or self.default_name()

    def validate(self) -> None:
        owner = type(self).__name__
        if not self.is_model(self.model):
            raise InvalidEvent(f"{owner}.model must be {self.model_kind}, got {self.model!r}")
        super().validate()
        operations = tuple(self.operations or ())
        unknown = [op for op in operations if op not in OPERATIONS]
        if unknown:
            raise InvalidEvent(f"{owner}.operations: unknown operation {unknown[0]!r}; use OP_CREATE, OP_UPDATE "
                               "or OP_DELETE")
        for option in ("fields", "exclude"):
            names = getattr(self, option)
            if isinstance(names, str):
                raise InvalidEvent(f"{owner}.{option} must be a list of attribute names, not the string {names!r}")
            for name in names or ():
                self.check_attribute(option, name)
        if self.user_field:
            self.check_attribute("user_field", self.user_field)
        self.name = self.get_name()
        self.operations = frozenset(operations)
        self.attributes = (tuple(self.fields) if self.fields is not None
                           else self.default_attributes(set(self.exclude or ())))

    def check_attribute(self, option: str, name: str) -> None:
        """Raise InvalidEvent if ``option`` (fields, exclude, user_field) may not name ``name``."""
        if not self.has_attribute(name):
            raise InvalidEvent(f"{type(self).__name__}.{option} names the field {name!r}, but {self.model_label()} "
                               f"has no such field ({self.describe_attributes()})")

    def get_data(self, instance: Any) -> Any:
        """The event's data: the model's ``to_dict()`` when it has one, else the chosen attributes."""
        to_dict = getattr(instance, "to_dict", None)
        if callable(to_dict):
            return to_dict()
        attributes = getattr(self, "attributes", None)
        if attributes is None:  # used before validate(): work out the same attributes
            attributes = (tuple(self.fields) if self.fields is not None
                          else self.default_attributes(set(self.exclude or ())))
        return {name: self.value(instance, name) for name in attributes}

    def get_user(self, instance: Any) -> Any:
        """The user a private event is for: the value (an id, for a relation) of ``user_field``."""
        return self.value(instance, self.user_field) if self.user_field else None

    def event_for(self, instance: Any, operation: str) -> Event | None:
        """The event of ``operation`` on ``instance``, or None if ``operations`` leaves it out."""
        if operation not in (self.operations or ()):
            return None
        return self.make(self.get_data(instance), operation, self.get_user(instance))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.get_name()} {sorted(self.operations or ())}>"


class Registry:
    """The declarations a project registered: one instance per class, model declarations found by model.

    A model's declarations also serve its subclasses that have none of their own (mapped inheritance).
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._by_class: dict[type, EventDeclaration] = {}
        self._by_model: dict[Any, tuple[ModelEventDeclaration, ...]] = {}

    def add(self, declaration: EventDeclaration) -> tuple[EventDeclaration, bool]:
        """Validate and register ``declaration``; returns (the registered instance, whether it is new).

        Registering a class again returns the first instance and changes nothing.
        """
        with self._lock:
            existing = self._by_class.get(type(declaration))
            if existing is not None:
                return existing, False
            declaration.validate()
            self._by_class[type(declaration)] = declaration
            if isinstance(declaration, ModelEventDeclaration):
                model = declaration.model
                self._by_model[model] = (*self._by_model.get(model, ()), declaration)
            return declaration, True

    def remove(self, declaration: EventDeclaration) -> bool:
        """Forget ``declaration``'s class; True if its model has no declarations left."""
        with self._lock:
            removed = self._by_class.pop(type(declaration), None)
            if not isinstance(removed, ModelEventDeclaration):
                return False
            rest = tuple(d for d in self._by_model.get(removed.model, ()) if d is not removed)
            if rest:
                self._by_model[removed.model] = rest
                return False
            self._by_model.pop(removed.model, None)
            return True

    def get(self, cls: type) -> EventDeclaration | None:
        """The registered instance of the declaration class ``cls``."""
        return self._by_class.get(cls)

    def for_model(self, model: type) -> tuple[ModelEventDeclaration, ...]:
        """The declarations of ``model``, or of its nearest base class that has some."""
        by_model = self._by_model
        for klass in getattr(model, "__mro__", (model,)):
            found = by_model.get(klass)
            if found:
                return found
        return ()

    def __iter__(self) -> Iterator[EventDeclaration]:
        with self._lock:
            return iter(list(self._by_class.values()))

    def __len__(self) -> int:
        return len(self._by_class)


@dataclass(frozen=True)
class Problem:
    """A declaration the shared config contradicts: an ``error`` or a ``warning``, with how to fix it."""

    level: str
    code: str
    message: str
    hint: str
    declaration: EventDeclaration


def access_problems(config: Config, declarations: Collection[EventDeclaration]) -> list[Problem]:
    """Declarations whose ``access`` or ``user_field`` the config's ``events`` policies contradict.

    ``code`` is E002 (a declared access the config does not give) or W001 (a user_field on an event
    everyone receives), the ids of Django's system checks.
    """
    found = []
    for declaration in declarations:
        name, owner = declaration.get_name(), type(declaration).__qualname__
        policy = config.policy(name)
        if declaration.access is not None and declaration.access != policy.access:
            found.append(Problem(
                "error", "E002",
                f"{owner} declares access {declaration.access!r} but {config.source} gives {name!r} access "
                f"{policy.access!r} (events pattern {policy.match!r})",
                f"add `- match: \"{name}\"` with `access: {declaration.access}` before that pattern", declaration))
        if getattr(declaration, "user_field", None) and policy.access != "private":
            found.append(Problem(
                "warning", "W001",
                f"{owner}.user_field addresses {name!r} to one user, but {config.source} makes it "
                f"{policy.access!r}, so every {'visitor' if policy.access == 'public' else 'logged-in user'} "
                "receives it",
                f"add `- match: \"{name}\"` with `access: private` to the events section", declaration))
    return found

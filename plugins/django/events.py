"""Class-based events, as the 2013 documentation describes them: BaseEventModel, register(), autodiscover().

    from .models import MyModel
    from telegraphy.contrib.django_telegraphy.events import BaseEventModel

    class MyEventsModel(BaseEventModel):
        model = MyModel

    event = MyEventsModel()
    event.register()

Model events leave on ``transaction.on_commit`` (see outbox.py); custom events are BaseEvent subclasses
whose ``send()`` does the same, or plain ``telegraphy.publish``.
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.utils.module_loading import module_has_submodule

from telegraphy.config import ACCESS
from telegraphy.errors import InvalidEvent
from telegraphy.events import OP_CREATE, OP_DELETE, OP_UPDATE, OPERATIONS, Event, validate_name

from . import encoding, outbox

_lock = threading.RLock()
_registry: dict[type, BaseEvent] = {}  # one instance per class: registering again changes nothing
_by_model: dict[type[models.Model], tuple[BaseEventModel, ...]] = {}


class BaseEvent:
    """A named event the project sends itself: ``OrderShipped().send({"id": 7})``.

    ``access`` declares who may receive it (public, authenticated or private); the gateway enforces
    the shared config's ``events`` policies, and ``manage.py check`` reports a declaration they contradict.
    """

    name: str | None = None
    verbose_name: str | None = None
    access: str | None = None

    def get_name(self) -> str:
        if not self.name:
            raise ImproperlyConfigured(f"{type(self).__name__} needs a name, e.g. name = 'shop.OrderShipped'")
        return self.name

    def validate(self) -> None:
        """Raise ImproperlyConfigured, naming the class, if the declaration cannot work."""
        owner = type(self).__name__
        try:
            validate_name(self.get_name())
        except InvalidEvent as exc:
            raise ImproperlyConfigured(f"{owner}: {exc}") from None
        if self.access is not None and self.access not in ACCESS:
            raise ImproperlyConfigured(f"{owner}.access must be one of {', '.join(ACCESS)} or None, "
                                       f"got {self.access!r}")

    def make(self, data: Any = None, event_type: str | None = None, user: Any = None) -> Event:
        """The envelope this event sends, with ``data`` encoded as Django encodes JSON."""
        return Event.create(self.get_name(), encoding.plain(data), event_type, verbose_name=self.verbose_name,
                            user=user)

    def send(self, data: Any = None, user: Any = None, using: str | None = None) -> Event:
        """Publish now, or when the transaction open on database ``using`` commits (not if it rolls back).

        ``user`` (a user or its id) addresses a private event to that user.
        """
        event = self.make(data, user=getattr(user, "pk", user))
        outbox.send(event, using)
        return event

    def register(self) -> BaseEvent:
        """Make this event known (and, for a model, start sending its events); returns the registered one."""
        with _lock:
            existing = _registry.get(type(self))
            if existing is not None:
                return existing
            self.validate()
            _registry[type(self)] = self
            if isinstance(self, BaseEventModel):
                _by_model[self.model] = (*_by_model.get(self.model, ()), self)
                _connect(self.model)
            return self

    def unregister(self) -> None:
        """Forget this event's class (its model's writes stop sending it)."""
        with _lock:
            event = _registry.pop(type(self), None)
            if isinstance(event, BaseEventModel):
                rest = tuple(e for e in _by_model.get(event.model, ()) if e is not event)
                if rest:
                    _by_model[event.model] = rest
                else:
                    _by_model.pop(event.model, None)
                    _connect(event.model, False)


class BaseEventModel(BaseEvent):
    """Create, update and delete events of ``model``, sent after the transaction commits.

    ``fields`` (all concrete fields if None) or ``exclude`` choose the data, unless the model has a
    ``to_dict()``, which then decides alone; ``operations`` choose which writes send events (none if
    false-ish); ``name`` defaults to ``"app_label.ModelName"``; ``verbose_name`` goes into the meta.
    ``user_field`` names the field (usually a ForeignKey to the user model) whose value becomes
    ``meta.user``, so an event the shared config makes ``access: private`` reaches that user only.
    """

    model: type[models.Model] | None = None
    fields: list[str] | tuple[str, ...] | None = None
    exclude: list[str] | tuple[str, ...] | None = None
    operations = (OP_CREATE, OP_UPDATE, OP_DELETE)
    user_field: str | None = None

    def get_name(self) -> str:
        if self.name:
            return self.name
        return f"{self.model._meta.app_label}.{self.model.__name__}"

    def validate(self) -> None:
        owner = type(self).__name__
        if not (isinstance(self.model, type) and issubclass(self.model, models.Model)):
            raise ImproperlyConfigured(f"{owner}.model must be a Django model class, got {self.model!r}")
        super().validate()
        unknown = [op for op in (self.operations or ()) if op not in OPERATIONS]
        if unknown:
            raise ImproperlyConfigured(f"{owner}.operations may hold OP_CREATE, OP_UPDATE and OP_DELETE, "
                                       f"got {unknown[0]!r}")
        self._fields = encoding.event_fields(self.model, self.fields, self.exclude, owner)
        if self.user_field:
            try:
                self.model._meta.get_field(self.user_field)
            except FieldDoesNotExist:
                raise ImproperlyConfigured(f"{owner}.user_field names {self.user_field!r}, but "
                                           f"{self.model._meta.label} has no such field") from None

    def get_data(self, instance: models.Model) -> Any:
        """The event's data: the model's ``to_dict()`` when it has one, else the chosen fields."""
        to_dict = getattr(instance, "to_dict", None)
        if callable(to_dict):
            return to_dict()
        fields = getattr(self, "_fields", None)
        if fields is None:
            fields = self._fields = encoding.event_fields(self.model, self.fields, self.exclude, type(self).__name__)
        return encoding.instance_data(instance, fields)

    def get_user(self, instance: models.Model) -> Any:
        """The user a private event is for: the value (an id, for a ForeignKey) of ``user_field``."""
        if not self.user_field:
            return None
        field = instance._meta.get_field(self.user_field)
        return getattr(instance, field.attname)

    def emit(self, instance: models.Model, operation: str, using: str | None = None) -> Event | None:
        """Send the event of ``operation`` on ``instance`` if ``operations`` asks for it."""
        if operation not in (self.operations or ()):
            return None
        event = self.make(self.get_data(instance), operation, self.get_user(instance))
        outbox.send(event, using)
        return event


def registered() -> list[BaseEvent]:
    """Every registered event, in registration order."""
    with _lock:
        return list(_registry.values())


def _saved(sender, instance, created=False, raw=False, using=None, **kwargs) -> None:
    if raw:  # loaddata: fixtures are not news
        return
    for event in _by_model.get(sender, ()):
        event.emit(instance, OP_CREATE if created else OP_UPDATE, using)


def _deleted(sender, instance, using=None, **kwargs) -> None:
    for event in _by_model.get(sender, ()):
        event.emit(instance, OP_DELETE, using)


def _connect(model: type[models.Model], connect: bool = True) -> None:
    # Per model, not for every sender: Django turns off fast deletes for models with delete receivers.
    # The dispatch_uid keeps it to one receiver per model however often this runs.
    for kind, signal, receiver in (("save", post_save, _saved), ("delete", post_delete, _deleted)):
        uid = f"telegraphy.{kind}.{model._meta.label}"
        if connect:
            signal.connect(receiver, sender=model, dispatch_uid=uid, weak=False)
        else:
            signal.disconnect(sender=model, dispatch_uid=uid)


def autodiscover() -> list[BaseEvent]:
    """Import each installed app's ``events`` module and register the event classes found there.

    Runs from the app's ``ready()``; calling it again (as the 2013 docs do, in urls.py) is harmless.
    Classes without a ``model`` (BaseEventModel) or a ``name`` (BaseEvent) are bases, and are skipped.
    """
    found = []
    for app_config in apps.get_app_configs():
        if not module_has_submodule(app_config.module, "events"):
            continue
        module = import_module(f"{app_config.name}.events")
        for value in list(vars(module).values()):
            if (isinstance(value, type) and issubclass(value, BaseEvent)
                    and value not in (BaseEvent, BaseEventModel)
                    and (value.model if issubclass(value, BaseEventModel) else value.name)):
                found.append(_registry.get(value) or value().register())
    return found

"""Class-based events, as the 2013 documentation describes them: BaseEventModel, register(), autodiscover().

    from .models import MyModel
    from telegraphy.contrib.django_telegraphy.events import BaseEventModel

    class MyEventsModel(BaseEventModel):
        model = MyModel

    event = MyEventsModel()
    event.register()

The declarations and their checks are telegraphy.integration's, shared with Flask; this module answers its
questions about Django models and connects the signals. Model events leave on ``transaction.on_commit``
(see outbox.py); custom events are BaseEvent subclasses whose ``send()`` does the same, or plain
``telegraphy.publish``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.utils.module_loading import module_has_submodule

from telegraphy.errors import InvalidEvent
from telegraphy.events import OP_CREATE, OP_DELETE, OP_UPDATE, Event
from telegraphy.integration import EventDeclaration, ModelEventDeclaration, Registry

from . import encoding, outbox

__all__ = ["OP_CREATE", "OP_DELETE", "OP_UPDATE", "BaseEvent", "BaseEventModel", "autodiscover", "registered"]

_registry = Registry()


class BaseEvent(EventDeclaration):
    """A named event the project sends itself: ``OrderShipped().send({"id": 7})``.

    ``name`` is required; ``verbose_name`` goes to ``meta.verbose_name``; ``access`` (public, authenticated
    or private) lets ``manage.py check`` report a config that contradicts it.
    """

    def plain(self, data: Any) -> Any:
        return encoding.plain(data)

    def send(self, data: Any = None, user: Any = None, using: str | None = None) -> Event:
        """Publish now, or when the transaction open on database ``using`` commits (not if it rolls back).

        ``user`` (a user or its id) addresses a private event to that user.
        """
        event = self.make(data, user=getattr(user, "pk", user))
        outbox.send(event, using)
        return event

    def register(self) -> BaseEvent:
        """Make this event known (and, for a model, start sending its events); returns the registered one.

        Registering a class again changes nothing. A declaration that cannot work raises InvalidEvent
        naming the class and the attribute.
        """
        registered, new = _registry.add(self)
        if new and isinstance(registered, BaseEventModel):
            _connect(registered.model)
        return registered

    def unregister(self) -> None:
        """Forget this event's class (its model's writes stop sending it)."""
        if _registry.remove(self) and isinstance(self, BaseEventModel):
            _connect(self.model, False)


class BaseEventModel(ModelEventDeclaration, BaseEvent):
    """Create, update and delete events of ``model``, sent after the transaction commits.

    The attributes are telegraphy.integration.ModelEventDeclaration's: ``model`` (required), ``fields``
    or ``exclude`` (concrete and many-to-many fields; ignored if the model has ``to_dict()``),
    ``operations``, ``name`` (default ``"app_label.ModelName"``), ``verbose_name``, ``access`` and
    ``user_field`` (a field, usually a ForeignKey to the user model, whose value becomes ``meta.user``).
    Each save() is one event: two saves of a row in one transaction send two.
    """

    model_kind = "a Django model class"

    def is_model(self, model: Any) -> bool:
        return isinstance(model, type) and issubclass(model, models.Model)

    def default_name(self) -> str:
        return f"{self.model._meta.app_label}.{self.model.__name__}"

    def model_label(self) -> str:
        return self.model._meta.label

    def has_attribute(self, name: str) -> bool:
        try:
            self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        return True

    def describe_attributes(self) -> str:
        return "its fields: " + ", ".join(f.name for f in self.model._meta.get_fields() if f.concrete or f.many_to_many)

    def check_attribute(self, option: str, name: str) -> None:
        super().check_attribute(option, name)
        field = self.model._meta.get_field(name)
        if option != "user_field" and not (field.concrete or field.many_to_many):
            raise InvalidEvent(f"{type(self).__name__}.{option} names {name!r}, a reverse relation of "
                               f"{self.model_label()}: list its own fields or many-to-many fields only")

    def default_attributes(self, exclude: set[str]) -> tuple[str, ...]:
        return tuple(f.name for f in self.model._meta.concrete_fields if f.name not in exclude)

    def value(self, instance: models.Model, name: str) -> Any:
        return encoding.field_value(instance, instance._meta.get_field(name))

    def emit(self, instance: models.Model, operation: str, using: str | None = None) -> Event | None:
        """Send the event of ``operation`` on ``instance`` if ``operations`` asks for it."""
        event = self.event_for(instance, operation)
        if event is not None:
            outbox.send(event, using)
        return event


def registered() -> list[BaseEvent]:
    """Every registered event, in registration order."""
    return list(_registry)


def _saved(sender, instance, created=False, raw=False, using=None, **kwargs) -> None:
    if raw:  # loaddata: fixtures are not news
        return
    for event in _registry.for_model(sender):
        event.emit(instance, OP_CREATE if created else OP_UPDATE, using)


def _deleted(sender, instance, using=None, **kwargs) -> None:
    for event in _registry.for_model(sender):
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

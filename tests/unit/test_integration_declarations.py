"""The declaration core every framework shares, exercised through a framework of its own: dataclasses as
models. What Django and Flask add is how they answer the framework hooks; the rules are these."""

from __future__ import annotations

import dataclasses
import datetime
import decimal

import pytest

from telegraphy.config import from_mapping
from telegraphy.errors import InvalidEvent
from telegraphy.events import OP_CREATE, OP_DELETE, OP_UPDATE
from telegraphy.integration import EventDeclaration, ModelEventDeclaration, Registry, access_problems

SECRET = "0123456789abcdef-declarations"


class DataclassEvents(ModelEventDeclaration):
    """The framework hooks for dataclass "models", in a dozen lines: what a third integration writes."""

    model_kind = "a dataclass"

    def is_model(self, model):
        return isinstance(model, type) and dataclasses.is_dataclass(model)

    def default_name(self):
        return f"shop.{self.model.__name__}"

    def has_attribute(self, name):
        return name in {f.name for f in dataclasses.fields(self.model)}

    def describe_attributes(self):
        return "its fields: " + ", ".join(f.name for f in dataclasses.fields(self.model))

    def default_attributes(self, exclude):
        return tuple(f.name for f in dataclasses.fields(self.model) if f.name not in exclude)


@dataclasses.dataclass
class Order:
    id: int
    total: decimal.Decimal
    placed: datetime.date
    owner: int | None = None


@dataclasses.dataclass
class Tag:
    id: int
    label: str

    def to_dict(self):
        return {"tag": self.label.upper()}


@dataclasses.dataclass
class SpecialOrder(Order):
    rush: bool = False


ORDER = Order(7, decimal.Decimal("9.99"), datetime.date(2026, 1, 2), owner=42)


def declare(**attributes) -> DataclassEvents:
    declaration = type("OrderEvents", (DataclassEvents,), {"model": Order, **attributes})()
    declaration.validate()
    return declaration


def test_the_documented_defaults_send_every_field_for_every_operation():
    declaration = declare()
    assert declaration.name == "shop.Order" and declaration.operations == {OP_CREATE, OP_UPDATE, OP_DELETE}
    event = declaration.event_for(ORDER, OP_CREATE)
    assert event.name == "shop.Order" and event.meta["event_type"] == "create"
    assert event.data == {"id": 7, "total": decimal.Decimal("9.99"), "placed": datetime.date(2026, 1, 2), "owner": 42}
    assert event.meta["verbose_name"] is None and event.meta["user"] is None
    assert b'"total":"9.99","placed":"2026-01-02"' in event.encode()


def test_fields_wins_over_exclude_and_to_dict_over_both():
    assert declare(fields=("total", "id"), exclude=("id",)).get_data(ORDER) == {"total": decimal.Decimal("9.99"),
                                                                               "id": 7}
    assert declare(exclude=("placed", "owner")).get_data(ORDER) == {"id": 7, "total": decimal.Decimal("9.99")}
    tags = type("TagEvents", (DataclassEvents,), {"model": Tag, "fields": ("id",)})()
    tags.validate()
    assert tags.get_data(Tag(1, "new")) == {"tag": "NEW"}


def test_name_verbose_name_and_user_field_go_into_the_envelope():
    event = declare(name="shop.Purchase", verbose_name="purchase", user_field="owner").event_for(ORDER, OP_UPDATE)
    assert (event.name, event.meta["verbose_name"], event.meta["user"]) == ("shop.Purchase", "purchase", "42")


@pytest.mark.parametrize("operations, sent", [
    ((OP_CREATE,), [OP_CREATE]), ([OP_UPDATE, OP_DELETE], [OP_UPDATE, OP_DELETE]), ((), []), (None, []),
])
def test_operations_choose_which_writes_send_events(operations, sent):
    declaration = declare(operations=operations)
    assert [op for op in (OP_CREATE, OP_UPDATE, OP_DELETE) if declaration.event_for(ORDER, op)] == sent


@pytest.mark.parametrize("attributes, message", [
    ({"model": dict}, r"OrderEvents\.model must be a dataclass, got <class 'dict'>"),
    ({"name": "bad name!"}, r"OrderEvents: invalid event name 'bad name!'"),
    ({"name": "telegraphy.Order"}, r"OrderEvents: invalid event name 'telegraphy\.Order': 'wamp\.' and "
                                   r"'telegraphy\.' are reserved"),
    ({"operations": ("create", "upsert")}, r"OrderEvents\.operations: unknown operation 'upsert'; use OP_CREATE"),
    ({"fields": "total"}, r"OrderEvents\.fields must be a list of attribute names, not the string 'total'"),
    ({"exclude": ("totl",)}, r"OrderEvents\.exclude names the field 'totl', but Order has no such field "
                             r"\(its fields: id, total, placed, owner\)"),
    ({"user_field": "customer"}, r"OrderEvents\.user_field names the field 'customer', but Order has no such"),
    ({"access": "secret"}, r"OrderEvents\.access must be one of public, authenticated, private or None, "
                           r"got 'secret'"),
])
def test_a_declaration_that_cannot_work_says_which_class_and_attribute(attributes, message):
    with pytest.raises(InvalidEvent, match=message):
        declare(**attributes)


def test_custom_events_need_a_name():
    class Shipped(EventDeclaration):
        verbose_name = "shipped"
    with pytest.raises(InvalidEvent, match=r"Shipped needs a name, e\.g\. name = 'shop\.OrderShipped'"):
        Shipped().validate()
    Shipped.name = "shop.Shipped"
    event = Shipped().make({"id": 1}, user=3)
    assert (event.name, event.data, event.meta["event_type"], event.meta["user"]) == ("shop.Shipped", {"id": 1},
                                                                                    None, "3")


def test_the_registry_keeps_one_instance_per_class_and_finds_declarations_by_model_and_base():
    registry = Registry()
    orders = type("OrderEvents", (DataclassEvents,), {"model": Order})
    audit = type("OrderAudit", (DataclassEvents,), {"model": Order, "name": "audit.Order"})
    first, new = registry.add(orders())
    assert new and registry.add(orders()) == (first, False) and registry.get(orders) is first
    second, _ = registry.add(audit())
    assert registry.for_model(Order) == (first, second)
    assert registry.for_model(SpecialOrder) == (first, second)  # a subclass without declarations of its own
    assert registry.for_model(Tag) == () and list(registry) == [first, second] and len(registry) == 2
    assert registry.remove(first) is False  # Order still has OrderAudit
    assert registry.remove(second) is True and registry.for_model(Order) == ()
    with pytest.raises(InvalidEvent):
        registry.add(type("Broken", (DataclassEvents,), {"model": None})())
    assert len(registry) == 0  # an invalid declaration is not registered


def test_access_problems_name_the_declarations_the_config_contradicts():
    config = from_mapping({"auth": {"secret": SECRET},
                           "events": [{"match": "shop.Secret", "access": "private"}, {"match": "*"}]}, "shop.yaml")
    fine = declare(name="shop.Secret", access="private", user_field="owner")
    leaky = declare(name="shop.Payroll", access="private")
    open_to_all = declare(name="shop.Mail", user_field="owner")
    problems = access_problems(config, [fine, leaky, open_to_all])
    assert [(p.level, p.code, p.declaration) for p in problems] == [("error", "E002", leaky),
                                                                     ("warning", "W001", open_to_all)]
    assert problems[0].message == ("OrderEvents declares access 'private' but shop.yaml gives 'shop.Payroll' "
                                   "access 'public' (events pattern '*')")
    assert problems[0].hint == 'add `- match: "shop.Payroll"` with `access: private` before that pattern'
    assert "so every visitor receives it" in problems[1].message

"""Flask-SQLAlchemy models with the values Django's JSON encoder handles: decimals, datetimes, UUIDs, foreign keys."""

from __future__ import annotations

import datetime
import decimal
import uuid

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, LargeBinary, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

db = SQLAlchemy()


class Customer(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class Order(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    total: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    placed_at: Mapped[datetime.datetime | None]
    note: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    customer: Mapped[Customer | None] = relationship(back_populates="orders")


class Tag(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(50))

    def to_dict(self) -> dict:
        return {"tag": self.label.upper()}


class Attachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)

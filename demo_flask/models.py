"""The demo's one model, with the kinds of values the 2013 version could not send (decimals, datetimes)."""

from __future__ import annotations

import datetime
import decimal

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class MyModel(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2), default=decimal.Decimal("0.00"))
    created: Mapped[datetime.datetime] = mapped_column(default=_now)

"""``flask --app demo_flask demo create|update|delete``: writes from another process, for the page to show."""

from __future__ import annotations

import decimal

import click
from flask.cli import AppGroup

from .models import MyModel, db

demo = AppGroup("demo", help="Write MyModel rows; each commit reaches the open demo pages.")


@demo.command("create")
@click.argument("name")
@click.option("--price", default="0.00", help="A decimal, e.g. 9.99.")
def create(name: str, price: str) -> None:
    """Create a MyModel called NAME."""
    instance = MyModel(name=name, price=decimal.Decimal(price))
    db.session.add(instance)
    db.session.commit()
    click.echo(f"created MyModel #{instance.id}")


@demo.command("update")
@click.argument("id", type=int)
@click.argument("name")
def update(id: int, name: str) -> None:
    """Rename the MyModel with this ID."""
    db.get_or_404(MyModel, id).name = name
    db.session.commit()
    click.echo(f"updated MyModel #{id}")


@demo.command("delete")
@click.argument("id", type=int)
def delete(id: int) -> None:
    """Delete the MyModel with this ID."""
    db.session.delete(db.get_or_404(MyModel, id))
    db.session.commit()
    click.echo(f"deleted MyModel #{id}")

"""``python manage.py mymodel create NAME | update ID NAME | delete ID``: write a MyModel from a shell,
to watch the open pages react."""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from telegraphy_demo.models import MyModel


class Command(BaseCommand):
    help = "Create, update or delete a MyModel; the demo pages show the event."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create")
        create.add_argument("name")
        create.add_argument("--value", type=Decimal, default=Decimal("0"))
        update = actions.add_parser("update")
        update.add_argument("id", type=int)
        update.add_argument("name")
        update.add_argument("--value", type=Decimal)
        actions.add_parser("delete").add_argument("id", type=int)

    def handle(self, *args, action, name=None, id=None, value=None, **options):
        if action == "create":
            obj = MyModel.objects.create(name=name, value=value)
        else:
            try:
                obj = MyModel.objects.get(pk=id)
            except MyModel.DoesNotExist:
                raise CommandError(f"there is no MyModel with id {id}") from None
            if action == "update":
                obj.name = name
                if value is not None:
                    obj.value = value
                obj.save()
            else:
                obj.delete()
        self.stdout.write(f"{action}d MyModel {id or obj.pk}: {name or obj.name}")

"""The demo's events: every create, update and delete of MyModel, as ``demo_flask.MyModel``."""

from telegraphy.contrib.flask_telegraphy import BaseEventModel, Telegraphy

from .models import MyModel

tg = Telegraphy()


@tg.register
class MyModelEvents(BaseEventModel):
    model = MyModel
    verbose_name = "my model"

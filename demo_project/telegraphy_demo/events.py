# ruff: noqa: I001 - the 2013 documentation's snippet as printed (Python 3 needs ".models")
from .models import MyModel
from telegraphy.contrib.django_telegraphy.events import BaseEventModel


class MyEventsModel(BaseEventModel):
    model = MyModel


event = MyEventsModel()
event.register()

"""Events found by autodiscover(), written the way the 2013 documentation shows."""

from telegraphy.contrib.django_telegraphy.events import BaseEventModel

from .models import Note, Secret


class NoteEvents(BaseEventModel):
    model = Note
    fields = ["hidden"]  # ignored: Note has a to_dict()


class SecretEvents(BaseEventModel):
    model = Secret
    access = "private"
    user_field = "owner"


event = NoteEvents()
event.register()

"""The demo app: MyModel, its events (events.py, as documented) and two pages that show them live."""

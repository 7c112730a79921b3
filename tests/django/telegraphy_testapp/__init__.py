"""A small app whose models the Django integration tests write to."""

"""Framework integrations: django_telegraphy and flask_telegraphy (sources: plugins/)."""

"""django-telegraphy: model events, template tags and ``run_telegraph`` for Django projects.

Add ``"telegraphy.contrib.django_telegraphy"`` to INSTALLED_APPS and set TELEGRAPHY_CONFIG (the path of
the shared telegraphy.yaml) or TELEGRAPHY (the same schema as a dict). This module imports nothing from
Django, so ``telegraphy plugins`` can list the integration where Django is not installed.
"""

"""The project's Telegraphy config and publisher, from Django settings (TELEGRAPHY_CONFIG or TELEGRAPHY).

The app holds its own :class:`telegraphy.Publisher`; it never reconfigures the process. It offers that
publisher as the default one (``AppConfig.ready``), so ``telegraphy.publish`` in a project uses the
settings' config, unless the project called ``telegraphy.configure`` itself.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from telegraphy.config import Config
from telegraphy.integration import config_from_settings
from telegraphy.publisher import Publisher

NOT_CONFIGURED = (
    "Telegraphy is not configured: set TELEGRAPHY_CONFIG = BASE_DIR / 'telegraphy.yaml' (the shared config "
    "the gateway reads) or TELEGRAPHY = {...} (the same schema as a dict) in settings.py, or the "
    "$TELEGRAPHY_CONFIG environment variable")

_lock = threading.Lock()
_publisher: Publisher | None = None


def load() -> Config:
    """Read and validate the config the settings name, without using it (the system check calls this)."""
    return config_from_settings(getattr(settings, "TELEGRAPHY_CONFIG", None), getattr(settings, "TELEGRAPHY", None),
                                where="settings.py", mapping_source="settings.TELEGRAPHY",
                                not_configured=NOT_CONFIGURED)


def publisher() -> Publisher:
    """The project's publisher, made from the settings on first use."""
    global _publisher
    current = _publisher
    if current is None:
        config = load()
        with _lock:
            if _publisher is None:
                _publisher = Publisher(config)
            current = _publisher
    return current


def get_config() -> Config:
    """The settings' config, as the project's publisher uses it."""
    return publisher().config


@receiver(setting_changed)
def _reset(setting: str, **kwargs) -> None:
    """override_settings(TELEGRAPHY_CONFIG=...) takes effect on the next event."""
    global _publisher
    if setting in ("TELEGRAPHY_CONFIG", "TELEGRAPHY"):
        with _lock:
            old, _publisher = _publisher, None
        if old is not None:
            old.close()

"""The project's Telegraphy config, read once from Django settings (TELEGRAPHY_CONFIG or TELEGRAPHY)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

import telegraphy
from telegraphy import config as config_module
from telegraphy.config import Config
from telegraphy.errors import ConfigError

NOT_CONFIGURED = (
    "Telegraphy is not configured: set TELEGRAPHY_CONFIG = BASE_DIR / 'telegraphy.yaml' (the shared config "
    "the gateway reads) or TELEGRAPHY = {...} (the same schema as a dict) in settings.py, or the "
    "$TELEGRAPHY_CONFIG environment variable")

_lock = threading.Lock()
_active: Config | None = None


def load() -> Config:
    """Read and validate the config the settings name, without using it (the system check calls this)."""
    path = getattr(settings, "TELEGRAPHY_CONFIG", None)
    mapping = getattr(settings, "TELEGRAPHY", None)
    if path and mapping is not None:
        raise ConfigError("set TELEGRAPHY_CONFIG or TELEGRAPHY, not both", source="settings.py")
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"TELEGRAPHY must be a dict with the schema of telegraphy.yaml, got "
                              f"{type(mapping).__name__}", source="settings.py")
        return config_module.from_mapping(mapping, "settings.TELEGRAPHY")
    if path:
        return config_module.load(os.fspath(path))
    if os.environ.get(config_module.ENV_VAR):
        return config_module.load()
    raise ConfigError(NOT_CONFIGURED, source="settings.py")


def get_config() -> Config:
    """The settings' config, handed to telegraphy.configure on first use (and again if other code
    configured telegraphy differently since: in a Django project the settings decide)."""
    global _active
    active = _active
    if active is None or telegraphy.get_config() is not active:
        with _lock:
            if _active is None or telegraphy.get_config() is not _active:
                _active = telegraphy.configure(load())
            active = _active
    return active


@receiver(setting_changed)
def _reset(setting: str, **kwargs) -> None:
    """override_settings(TELEGRAPHY_CONFIG=...) takes effect on the next event."""
    global _active
    if setting in ("TELEGRAPHY_CONFIG", "TELEGRAPHY"):
        with _lock:
            _active = None

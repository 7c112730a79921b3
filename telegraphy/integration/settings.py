"""The two settings every integration reads: ``TELEGRAPHY_CONFIG`` (a path) or ``TELEGRAPHY`` (a dict)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .. import config as config_module
from ..config import Config
from ..errors import ConfigError


def config_from_settings(path: str | os.PathLike | None, mapping: Any, *, where: str, mapping_source: str,
                         not_configured: str, base: str | os.PathLike | None = None) -> Config:
    """The config a framework's settings name, validated.

    ``path`` (relative paths are read from ``base``, else the current directory) or ``mapping`` (the
    YAML file's schema as a dict, or a Config), not both; with neither, ``$TELEGRAPHY_CONFIG``.
    Errors name ``where`` (the settings' place, e.g. "settings.py") or, for the dict, ``mapping_source``
    (e.g. "settings.TELEGRAPHY") with the key; ``not_configured`` says how to configure this framework.
    """
    if path and mapping is not None:
        raise ConfigError("set TELEGRAPHY_CONFIG (a path) or TELEGRAPHY (a dict), not both", source=where)
    if isinstance(mapping, Config):
        return mapping
    if mapping is not None:
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"TELEGRAPHY must be a dict with the schema of telegraphy.yaml, got "
                              f"{type(mapping).__name__}", source=where)
        return config_module.from_mapping(mapping, mapping_source)
    if path:
        path = os.fspath(path)
        if base is not None:
            path = os.path.join(os.fspath(base), path)
        return config_module.load(path)
    if os.environ.get(config_module.ENV_VAR):
        return config_module.load()
    raise ConfigError(not_configured, source=where)

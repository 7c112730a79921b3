"""flask-telegraphy: Telegraphy for Flask and SQLAlchemy (``pip install telegraphy[flask]``).

    from telegraphy.contrib.flask_telegraphy import BaseEventModel, Telegraphy

    tg = Telegraphy(app)          # or tg.init_app(app); config: TELEGRAPHY_CONFIG or TELEGRAPHY

    @tg.register
    class OrderEvents(BaseEventModel):
        model = Order

Names are imported on first use, so ``telegraphy plugins`` can describe this package without Flask.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Telegraphy": "extension", "load_config": "extension",
    "BaseEventModel": "events", "OP_CREATE": "events", "OP_UPDATE": "events", "OP_DELETE": "events",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value

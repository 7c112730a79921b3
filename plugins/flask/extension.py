"""The Flask extension: one shared config per app, model events, custom events, tokens and the page's script tag."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context, render_template, url_for
from markupsafe import Markup

from telegraphy.config import Config
from telegraphy.events import Event
from telegraphy.integration import Registry, config_from_settings, page
from telegraphy.proxy import Proxy
from telegraphy.publisher import Publisher, add_default_provider

from . import transactions
from .events import BaseEventModel

_CURRENT_USER = object()


@dataclass(frozen=True)
class AppState:
    """What one app's ``Telegraphy`` holds: the publisher of the app's config."""

    publisher: Publisher

    @property
    def config(self) -> Config:
        return self.publisher.config

    @property
    def proxy(self) -> Proxy:
        return self.publisher.proxy


NOT_CONFIGURED = ("no Telegraphy config: set app.config['TELEGRAPHY_CONFIG'] to the path of telegraphy.yaml, "
                  "app.config['TELEGRAPHY'] to a dict with the same keys, or $TELEGRAPHY_CONFIG")


def load_config(app: Flask) -> Config:
    """The app's Telegraphy config from ``TELEGRAPHY`` (a dict), ``TELEGRAPHY_CONFIG`` (a path, relative
    to the app's root path) or, with neither, ``$TELEGRAPHY_CONFIG``."""
    return config_from_settings(app.config.get("TELEGRAPHY_CONFIG"), app.config.get("TELEGRAPHY"),
                                where="app.config", mapping_source="app.config['TELEGRAPHY']",
                                not_configured=NOT_CONFIGURED, base=app.root_path)


def current_app_publisher() -> Publisher | None:
    """The current app's publisher, inside an app context of an app using Telegraphy (the default
    publisher ``telegraphy.publish`` uses there, unless ``telegraphy.configure`` was called)."""
    if not has_app_context():
        return None
    app = current_app._get_current_object()
    extension = app.extensions.get("telegraphy")
    state = extension._states.get(app) if isinstance(extension, Telegraphy) else None
    return None if state is None else state.publisher


def user_id(user: Any) -> str | None:
    """A user id for tokens and ``meta.user``: None for nobody or an anonymous Flask-Login user,
    ``user.get_id()`` for a user object, else ``str(user)``."""
    if user is None:
        return None
    if callable(getattr(user, "get_id", None)):
        if not getattr(user, "is_authenticated", True):
            return None
        user = user.get_id()
        return None if user is None else str(user)
    return str(user)


def _flask_login_user() -> Any:
    """Flask-Login's current user when the app uses Flask-Login, else None."""
    try:
        from flask_login import current_user
    except ImportError:
        return None
    if not has_app_context() or not hasattr(current_app, "login_manager"):
        return None
    return current_user._get_current_object()


class Telegraphy:
    """Telegraphy for Flask: ``Telegraphy(app)`` or ``tg = Telegraphy(); tg.init_app(app)``.

    Reads the app's config keys ``TELEGRAPHY_CONFIG`` / ``TELEGRAPHY`` (and ``TELEGRAPHY_URL_PREFIX``,
    default ``/telegraphy``, where the client script and the token endpoint are served), registers the
    Jinja global ``telegraphy_scripts()`` and sends registered model events after each commit.
    """

    def __init__(self, app: Flask | None = None) -> None:
        self._states: weakref.WeakKeyDictionary[Flask, AppState] = weakref.WeakKeyDictionary()
        self._registry = Registry()
        self._user_loader: Callable[[], Any] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Validate the app's config (a clear ConfigError now, not at the first event) and wire the app."""
        from .views import blueprint

        if "telegraphy" in app.extensions:
            raise RuntimeError("Telegraphy is already set up on this app: call init_app once per app")
        self._states[app] = AppState(Publisher(load_config(app)))
        app.extensions["telegraphy"] = self
        add_default_provider(current_app_publisher)
        app.register_blueprint(blueprint, url_prefix=app.config.setdefault("TELEGRAPHY_URL_PREFIX", "/telegraphy"))
        app.jinja_env.globals["telegraphy_scripts"] = self.scripts

    # -- per app ---------------------------------------------------------------------------------------
    def _state(self, app: Flask | None = None) -> AppState:
        if app is None and has_app_context():
            app = current_app._get_current_object()
        if app is None:
            states = list(self._states.values())
            if len(states) == 1:
                return states[0]
            raise RuntimeError("Telegraphy needs an application context here (it is set up on "
                               f"{len(states)} apps): use 'with app.app_context():'")
        try:
            return self._states[app]
        except KeyError:
            raise RuntimeError(f"Telegraphy is not set up on the app {app.name!r}: call init_app(app)") from None

    def _state_for_events(self) -> AppState | None:
        """The state model events of this flush go through; None if the current app does not use this
        extension (another app of the process does)."""
        if has_app_context():
            return self._states.get(current_app._get_current_object())
        if not self._states:
            return None
        return self._state()  # the one app, or a clear error if there are several

    @property
    def config(self) -> Config:
        """The current app's validated Telegraphy config."""
        return self._state().config

    @property
    def publisher(self) -> Publisher:
        """The current app's publisher (its config, its transport's connections)."""
        return self._state().publisher

    @property
    def proxy(self) -> Proxy:
        """The current app's proxy of the configured transport."""
        return self._state().proxy

    # -- model events ----------------------------------------------------------------------------------
    def register(self, event_model: type[BaseEventModel] | BaseEventModel) -> Any:
        """Send the events described by a BaseEventModel subclass (or instance); usable as a class decorator.

        Registering the same class twice changes nothing.
        """
        instance = event_model() if isinstance(event_model, type) else event_model
        if not isinstance(instance, BaseEventModel):
            raise TypeError(f"register() takes a BaseEventModel subclass, got {event_model!r}")
        self._registry.add(instance)
        transactions.track(self)
        return event_model

    @property
    def event_models(self) -> list[BaseEventModel]:
        """The registered model declarations, in registration order."""
        return list(self._registry)

    def _models_for(self, cls: type) -> tuple[BaseEventModel, ...]:
        """The event models of ``cls``, or of its nearest registered base class (mapped inheritance)."""
        return self._registry.for_model(cls)

    # -- custom events ---------------------------------------------------------------------------------
    def publish(self, name: str, data: Any = None, event_type: str | None = None, **meta: Any) -> Event:
        """Publish a custom event now through the current app's transport; returns the event sent.

        ``user=...`` addresses it to one user (``meta.user``) for ``access: private`` event policies.
        """
        return self.publisher.publish(name, data, event_type, **meta)

    def publish_many(self, events: Sequence[Event]) -> list[Event]:
        """Publish several events in one round trip, in order."""
        return self.publisher.publish_many(events)

    # -- users and tokens ------------------------------------------------------------------------------
    def user_loader(self, func: Callable[[], Any]) -> Callable[[], Any]:
        """Decorate the function telling who is logged in: it returns a user id, a user object with
        ``get_id()``, or None. Without one, Flask-Login's ``current_user`` is used when the app has it."""
        self._user_loader = func
        return func

    def current_user_id(self) -> str | None:
        """The id of the user of this request, or None when nobody is logged in."""
        return user_id(self._user_loader() if self._user_loader is not None else _flask_login_user())

    def get_token(self, user: Any = _CURRENT_USER, events: Sequence[str] | None = None, ttl: int | None = None,
                  **claims: Any) -> str | None:
        """A short-lived, single-use gateway token. Without ``user``: for the logged-in user, and None when
        nobody is logged in (the page then connects anonymously and sees public events only)."""
        if user is _CURRENT_USER:
            user = self.current_user_id()
            if user is None:
                return None
        return self.publisher.get_token(user=user_id(user), events=events, ttl=ttl, **claims)

    def token_response(self) -> dict[str, str | None]:
        """The token endpoint's answer for the user of this request."""
        return page.token_response(self.publisher, self.current_user_id())

    # -- the page ----------------------------------------------------------------------------------------
    def client_options(self) -> dict[str, Any]:
        """What the page's ``Telegraphy.configure({...})`` gets: gateway URL, realm, token and token URL."""
        token = self.get_token()
        return page.client_options(self.publisher, token, url_for("telegraphy.token") if token else None)

    def scripts(self) -> Markup:
        """The Jinja global ``{{ telegraphy_scripts() }}``: the client script tag and its configuration.

        It renders ``telegraphy/scripts.html``, which an app may override; the template gets ``tags`` (the
        default markup), ``script_url`` and ``options``.
        """
        script_url, options = url_for("telegraphy.script"), self.client_options()
        tags = Markup(page.script_tags(script_url, options))  # every value in it is escaped
        return Markup(render_template("telegraphy/scripts.html", tags=tags, script_url=script_url, options=options))

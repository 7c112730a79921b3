"""Django settings for tests/django alone, so ``pytest`` from the repo root runs these tests and the rest.

Settings are configured when pytest first reaches this folder (pytest_configure is called for conftests
found during collection too); the rest of the suite never touches Django. Databases: SQLite, and the
PostgreSQL server on 127.0.0.1:5432 (trust auth, user postgres) with a per-run test database name, so
concurrent runs on this machine do not drop each other's database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from support import CHROMIUM, CHROMIUM_ARGS, GatewayProcess, wait_for, write_config

HERE = Path(__file__).resolve().parent
WORK = Path(tempfile.mkdtemp(prefix="telegraphy-django-tests-"))
PRIVATE = "telegraphy_testapp.Secret"
CONFIG_PATH = write_config(WORK, events=[{"match": PRIVATE, "access": "private"},
                                          {"match": "*", "access": "public", "history": 100}])
DATABASE_ALIASES = ["default", "postgres"]

SETTINGS = {
    "DEBUG": False,
    "SECRET_KEY": "django-telegraphy-tests",
    "ALLOWED_HOSTS": ["testserver", "localhost", "127.0.0.1"],
    "USE_TZ": True,
    "TIME_ZONE": "UTC",
    "INSTALLED_APPS": [
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
        "django.contrib.messages", "django.contrib.staticfiles",
        "telegraphy.contrib.django_telegraphy", "telegraphy_testapp",
    ],
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware", "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware", "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ],
    "ROOT_URLCONF": "telegraphy_testapp.urls",
    "TEMPLATES": [{
        "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages"]},
    }],
    "DATABASES": {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(WORK / "db.sqlite3")},
        "postgres": {"ENGINE": "django.db.backends.postgresql", "NAME": "test", "USER": "postgres",
                     "HOST": "127.0.0.1", "PORT": "5432",
                     "TEST": {"NAME": f"test_telegraphy_django_{os.getpid()}"}},
    },
    "STATIC_URL": "/static/",
    "MEDIA_URL": "/media/",
    "DEFAULT_AUTO_FIELD": "django.db.models.AutoField",
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "TELEGRAPHY_CONFIG": str(CONFIG_PATH),
}


def pytest_configure(config):
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(**SETTINGS)
        django.setup()


def pytest_unconfigure(config):
    shutil.rmtree(WORK, ignore_errors=True)


@pytest.fixture(scope="session")
def django_gateway():
    """One gateway for the Django tests, on the config the settings name."""
    gateway = GatewayProcess(CONFIG_PATH).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def listen(django_gateway, wamp):
    """``listen(prefix="telegraphy_testapp.", **client_kwargs)``: a WAMP client subscribed by prefix."""
    def connect(prefix: str = "telegraphy_testapp.", **kwargs):
        client = wamp(django_gateway.url, **kwargs)
        client.subscribe(prefix, match="prefix")
        return client
    return connect


@pytest.fixture
def until_sentinel():
    """``until_sentinel(client)``: the envelopes ``client`` got before a sentinel published now.

    Everything this process published earlier reached the gateway first, so once the sentinel
    arrives, nothing else is on its way: no sleeping to prove that nothing was sent.
    """
    from telegraphy.contrib.django_telegraphy import conf

    import telegraphy

    def received(client, name: str = "telegraphy_testapp.Sentinel") -> list[dict]:
        conf.get_config()
        sentinel = telegraphy.publish(name, {"sentinel": True})
        wait_for(lambda: sentinel.meta["id"] in [e["meta"]["id"] for e in client.envelopes()],
                 message=f"the sentinel event {name}")
        envelopes = client.envelopes()
        end = [e["meta"]["id"] for e in envelopes].index(sentinel.meta["id"])
        return [e for e in envelopes[:end] if e["name"] != name]
    return received




@pytest.fixture
def demo_site(tmp_path):
    """demo_project as its users run it: migrated, `manage.py run_telegraph`, `manage.py runserver`, on
    free loopback ports, with its own SQLite file and a config naming those ports."""
    from types import SimpleNamespace

    from django_projects import DEMO, Runserver, RunTelegraph, manage, project_env
    from support import free_port

    web_port = free_port()
    config = write_config(tmp_path, gateway={"allowed_origins": [f"http://127.0.0.1:{web_port}"]})
    env = project_env(TELEGRAPHY_CONFIG=str(config), DEMO_DATABASE=str(tmp_path / "demo.sqlite3"))
    migrated = manage(DEMO, "migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    gateway = RunTelegraph(DEMO, config, env).start()
    web = None
    try:
        web = Runserver(DEMO, env, tmp_path / "runserver.log", web_port).wait()
        yield SimpleNamespace(env=env, config=config, gateway=gateway, web=web,
                              manage=lambda *args: manage(DEMO, *args, env=env))
    finally:
        if web is not None:
            web.stop()
        gateway.stop()


@pytest.fixture
def chromium():
    """``chromium(fn)`` calls ``fn(browser)`` with headless Debian Chromium driven by Playwright, and
    returns its result (or raises its error).

    Playwright's sync API allows one instance per thread, and other folders keep a session-wide one
    in the main thread; so ours lives, and ``fn`` runs, in a thread of its own.
    """
    import threading

    from playwright.sync_api import sync_playwright

    def run(fn, timeout: float = 300):
        outcome: dict = {}

        def target():
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                         args=CHROMIUM_ARGS)
                    try:
                        outcome["value"] = fn(browser)
                    finally:
                        browser.close()
            except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
                outcome["error"] = exc
        thread = threading.Thread(target=target, name="chromium", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise AssertionError(f"the browser steps did not finish within {timeout}s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")
    return run

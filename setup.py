from pathlib import Path

from setuptools import setup

here = Path(__file__).parent
version = next(line.split('"')[1] for line in (here / "telegraphy/__init__.py").read_text().splitlines()
               if line.startswith("__version__"))

# Plugins live under plugins/ and are installed under the names users import.
PLUGIN_PACKAGES = {
    "telegraphy.transports.xmlrpc": "plugins/xmlrpc",
    "telegraphy.transports.rabbitmq": "plugins/rabbitmq",
    "telegraphy.transports.zeromq": "plugins/zeromq",
    "telegraphy.transports.memory": "plugins/memory",
    "telegraphy.contrib.django_telegraphy": "plugins/django",
    "telegraphy.contrib.flask_telegraphy": "plugins/flask",
}


def subpackages(package, folder):
    """A plugin package and every package below it (Django's templatetags, management/commands...)."""
    found = []
    for init in sorted(Path(here, folder).rglob("__init__.py")):
        rel = init.parent.relative_to(Path(here, folder))
        name = ".".join((package, *rel.parts)) if rel.parts else package
        found.append((name, str(Path(folder, *rel.parts))))
    return found


package_dir = {"telegraphy": "telegraphy"}
packages = ["telegraphy", "telegraphy.gateway", "telegraphy.integration", "telegraphy.transports",
            "telegraphy.contrib"]
for package, folder in PLUGIN_PACKAGES.items():
    for name, path in subpackages(package, folder):
        packages.append(name)
        package_dir[name] = path

extras = {
    "rabbitmq": ["pika>=1.3", "Twisted[tls]>=23.10"],  # tls: amqps:// from the gateway
    "zeromq": ["pyzmq>=25"],
    "django": ["Django>=4.2"],
    "flask": ["Flask>=3.0", "Flask-SQLAlchemy>=3.1"],
}
extras["all"] = sorted({req for reqs in extras.values() for req in reqs})
extras["test"] = extras["all"] + [
    "pytest>=8", "pytest-timeout", "Flask-Login>=0.6", "pytest-django>=4.8", "hypothesis>=6", "psycopg[binary]>=3.1",
    "playwright>=1.40", "websockets>=12", "ruff", "matplotlib>=3.7",
]
extras["docs"] = ["Sphinx>=7"]
extras["test"] += extras["docs"]  # tests/unit/test_docs.py builds the docs

setup(
    name="telegraphy",
    version=version,
    description="Real-time events for Python web apps: publish from Django, Flask or any script, "
                "receive in browsers over WAMP v2",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    author="The Telegraphy authors",
    license="Apache-2.0",
    url="https://github.com/machinalis/telegraphy",
    python_requires=">=3.11",
    packages=packages,
    package_dir=package_dir,
    include_package_data=True,
    package_data={"telegraphy": ["static/telegraphy/*"],
                  "telegraphy.contrib.django_telegraphy": ["templates/**/*", "static/**/*"],
                  "telegraphy.contrib.flask_telegraphy": ["templates/**/*"]},
    install_requires=["Twisted>=23.10", "autobahn>=24.4", "msgpack>=1.0", "PyYAML>=6", "stevedore>=5"],
    extras_require=extras,
    entry_points={
        "console_scripts": [
            "telegraphy-gateway = telegraphy.gateway.cli:main",
            "telegraphy = telegraphy.cli:main",
        ],
        "telegraphy.transports": [
            "xmlrpc = telegraphy.transports.xmlrpc:transport",
            "rabbitmq = telegraphy.transports.rabbitmq:transport",
            "zeromq = telegraphy.transports.zeromq:transport",
            "memory = telegraphy.transports.memory:transport",
        ],
        "telegraphy.integrations": [
            "django = telegraphy.contrib.django_telegraphy.plugin:integration",
            "flask = telegraphy.contrib.flask_telegraphy.plugin:integration",
        ],
        "flask.commands": ["telegraphy = telegraphy.contrib.flask_telegraphy.cli:telegraphy_group"],
    },
    classifiers=[
        "Framework :: Django", "Framework :: Flask", "Framework :: Twisted",
        "License :: OSI Approved :: Apache Software License", "Programming Language :: Python :: 3",
        "Topic :: Internet :: WWW/HTTP",
    ],
)

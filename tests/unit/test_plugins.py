"""Plugin loading through entry points: friendly errors, and a third party's own transport."""

import subprocess
import sys
import textwrap

import pytest

from telegraphy.errors import MissingDependency, UnknownPlugin
from telegraphy.plugins import Transport, describe, load_transport


def test_unknown_transport_lists_the_installed_ones():
    with pytest.raises(UnknownPlugin) as err:
        load_transport("pigeon")
    assert "unknown transport 'pigeon'; installed: " in str(err.value) and "xmlrpc" in str(err.value)


def test_missing_dependency_names_the_pip_extra():
    transport = Transport(name="fancy", extra="fancy", requires=("telegraphy_no_such_module_x",))
    with pytest.raises(MissingDependency, match=r"pip install telegraphy\[fancy\]"):
        transport.proxy(None)


def test_describe_reports_xmlrpc_usable():
    rows = {r["name"]: r for r in describe() if r["kind"] == "transport"}
    assert rows["xmlrpc"]["status"] == "ok"


def test_a_third_party_transport_is_found_through_its_entry_point(tmp_path):
    """A package installed by someone else (a real .dist-info with entry_points.txt) adds a transport."""
    (tmp_path / "carrier_plugin.py").write_text(textwrap.dedent("""
        from telegraphy.plugins import Transport
        from telegraphy.transports import xmlrpc

        transport = Transport(name="carrier", extra=None, validate=xmlrpc.validate,
                              make_proxy="telegraphy.transports.xmlrpc.proxy:XmlRpcProxy",
                              make_representative="telegraphy.transports.xmlrpc.representative:XmlRpcRepresentative",
                              description="a third party's transport")
        """))
    info = tmp_path / "carrier_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: carrier-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[telegraphy.transports]\ncarrier = carrier_plugin:transport\n")
    code = textwrap.dedent("""
        from telegraphy import config, plugins
        cfg = config.from_mapping({"transport": {"name": "carrier", "options": {"port": 4999}},
                                   "auth": {"secret": "0123456789abcdef-xyz"}})
        print(cfg.transport.name, cfg.transport.options.port)
        print([r["status"] for r in plugins.describe() if r["name"] == "carrier"])
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["carrier 4999", "['ok']"]


def test_an_unknown_transport_says_which_installed_ones_can_run_here():
    """pika hidden from the import system, as on a machine without the rabbitmq extra."""
    code = textwrap.dedent("""
        import sys
        class WithoutPika:
            def __init__(self, finder):
                self.finder = finder
            def __getattr__(self, name):
                return getattr(self.finder, name)
            def find_spec(self, name, path=None, target=None):
                if name == "pika" or name.startswith("pika."):
                    return None
                return self.finder.find_spec(name, path, target)
        sys.meta_path[:] = [WithoutPika(finder) for finder in sys.meta_path]
        from telegraphy.plugins import load_transport
        try:
            load_transport("pigeon")
        except LookupError as exc:
            print(exc)
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    installed = message.split("; installed: ", 1)[1].split(" (", 1)[0].split(", ")
    usable = message.split("usable here: ", 1)[1].split(";", 1)[0].split(", ")
    assert message.startswith("unknown transport 'pigeon'; installed: ") and "rabbitmq" in installed
    assert {"memory", "xmlrpc", "zeromq"} <= set(usable) and "rabbitmq" not in usable
    assert "; rabbitmq: missing pika: pip install telegraphy[rabbitmq]" in message

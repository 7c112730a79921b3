"""``.. telegraphy-settings:: core`` (or a transport's name): the table of its config keys, with type,
default and prose, generated from the settings dataclasses the loader reads, so the reference and the
loader cannot disagree (see telegraphy.schema)."""

from __future__ import annotations

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

from telegraphy.config import Config
from telegraphy.plugins import load_transport
from telegraphy.schema import Row, reference


def rows_for(name: str) -> list[Row]:
    """``core``: every key of the shared config; a transport's name: the keys of its ``transport.options``."""
    if name == "core":
        return reference(Config)
    options = load_transport(name).options
    if options is None:
        raise ValueError(f"the {name!r} transport declares no options dataclass")
    return reference(options)


def table(rows: list[Row]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 22 18 14 46", "", "   * - Key", "     - Type",
             "     - Default", "     - Meaning"]
    for row in rows:
        lines += [f"   * - ``{row.key}``", f"     - {row.type}", f"     - {row.default or '—'}",
                  f"     - {row.doc or '—'}"]
    return lines


class SettingsDirective(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        container = nodes.container(classes=["telegraphy-settings"])
        lines = table(rows_for(self.arguments[0]))
        self.state.nested_parse(StringList(lines, source=f"telegraphy-settings {self.arguments[0]}"),
                                self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("telegraphy-settings", SettingsDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Config sections as frozen dataclasses whose fields carry their own type, default, checks and prose.

One declaration serves three readers: :func:`read` validates a YAML mapping against it (recording every
problem with file, line and key), :func:`as_dict` gives the effective values back (``telegraphy check``),
and :func:`reference` lists every key for the documentation, so the loader and the docs cannot drift.
Adding a key is one line::

    max_topics: int = setting(1000, "Distinct topics one session may subscribe to.", minimum=1)
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MISSING = object()
META = "telegraphy.setting"


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED = _Marker("REQUIRED")  # the key must be given
DEFAULTS = _Marker("DEFAULTS")  # a section that may be left out: then every key of it has its default


@dataclass(frozen=True)
class Setting:
    """What :func:`setting` records on a dataclass field."""

    doc: str
    default: Any
    key: str | None = None  # the config key when it is not the field's name; dots go into subsections
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    secret: bool = False  # masked as **** by telegraphy check
    redact: Callable[[Any], Any] | None = None  # or a partial mask (the password inside a URL)
    check: Callable[[Section, str, Any], Any] | None = None  # (section, key, value) -> value, after the type
    manual: bool = False  # read by the class's ``checked`` hook, not by the generic reader
    doc_default: str | None = None  # how the docs show the default, when its repr would mislead


def setting(default: Any = REQUIRED, doc: str = "", **options: Any) -> Any:
    """A dataclass field that is a config key: ``default`` (or REQUIRED, or DEFAULTS for a section),
    the prose for the reference, and checks (``minimum``, ``maximum``, ``choices``, ``check``)."""
    shown = options.pop("repr", True)
    meta = Setting(doc=doc, default=default, **options)
    repr_ = shown and not (meta.secret or meta.redact)
    if default is REQUIRED or default is DEFAULTS:
        return dataclasses.field(metadata={META: meta}, repr=repr_)
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for a list default: config values are immutable")
    return dataclasses.field(default=default, metadata={META: meta}, repr=repr_)


# -- reading a YAML mapping ----------------------------------------------------------------------
class Section(Mapping):
    """A view of one config mapping that checks what is read from it and says where a problem is.

    Plugins get their ``transport.options`` as a Section. Each accessor checks type and range. When the
    section belongs to a file being loaded, a problem is recorded (all of a file's problems are reported
    together) and the accessor returns the default; a Section made on its own raises at once.
    :meth:`done` rejects keys nobody asked for (usually typos).
    """

    def __init__(self, data: Any, path: str, source: str, line: int | None = None,
                 problems: list[ConfigError] | None = None) -> None:
        self.path, self.source, self.problems = path, source, problems
        self.line = getattr(data, "line", None) or line
        self._seen: set[str] = set()
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            self._record(ConfigError(f"expected a mapping, got {_kind(data)}", source=source, line=line,
                                     key=path or None))
            data = {}
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    # -- where, and what went wrong ---------------------------------------------------------------
    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def line_of(self, name: str) -> int | None:
        return getattr(self._data, "lines", {}).get(name, self.line)

    def error(self, name: str, message: str) -> ConfigError:
        """A ConfigError naming the file, the line of ``name`` and its full key (raise it or report it)."""
        return ConfigError(message, source=self.source, line=self.line_of(name), key=self.key(name))

    def report(self, name: str, message: str) -> None:
        """Record a problem with ``name`` and go on (or raise it, for a Section not part of a file load)."""
        self._record(self.error(name, message))

    def _record(self, error: ConfigError) -> None:
        if self.problems is None:
            raise error
        self.problems.append(error)

    def _count(self) -> int:
        return len(self.problems) if self.problems is not None else 0

    def _fail(self, name: str, message: str, default: Any) -> Any:
        self.report(name, message)
        return None if default is _MISSING else default

    # -- accessors --------------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return self._data.get(name) is not None

    def mark(self, name: str) -> None:
        """Count ``name`` as known (for keys read some other way)."""
        self._seen.add(name)

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        self._seen.add(name)
        if self._data.get(name) is None:
            if default is _MISSING:
                return self._fail(name, "is required", default)
            return default
        before = self._count()
        value = self._expand(name, self._data[name])
        if self._count() > before:  # an unset ${VAR}: said once, not again as a bad value
            return None if default is _MISSING else default
        return value

    def _expand(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            unset: list[str] = []

            def sub(match: re.Match) -> str:
                var, fallback = match.group(1), match.group(2)
                if var in os.environ:
                    return os.environ[var]
                if fallback is not None:
                    return fallback
                unset.append(var)
                return ""
            expanded = _ENV_REF.sub(sub, value)
            if unset:
                var = unset[0]
                self.report(name, f"environment variable {var} is not set (write ${{{var}:-default}} to give a "
                                  "default)")
            return expanded
        if isinstance(value, list):
            return [self._expand(name, v) for v in value]
        return value

    def str(self, name: str, default: Any = _MISSING, choices: tuple[str, ...] | None = None) -> str:
        value = self.raw(name, default)
        if value is default or value is None:
            return value
        if not isinstance(value, str):
            return self._fail(name, f"expected a string, got {_kind(value)}", default)
        if choices is not None and value not in choices:
            return self._fail(name, f"expected one of {', '.join(choices)}, got {value!r}", default)
        return value

    def int(self, name: str, default: Any = _MISSING, minimum: float | None = None,
            maximum: float | None = None) -> int:
        value = self.raw(name, default)
        if value is default or value is None:
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)  # from ${ENV} expansion
        if isinstance(value, bool) or not isinstance(value, int):
            return self._fail(name, f"expected a whole number, got {_kind(value)}", default)
        return self._in_range(name, value, default, minimum, maximum)

    def float(self, name: str, default: Any = _MISSING, minimum: float | None = None,
              maximum: float | None = None) -> float:
        value = self.raw(name, default)
        if value is default or value is None:
            return value
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self._fail(name, f"expected a number, got {_kind(value)}", default)
        return float(self._in_range(name, value, default, minimum, maximum))

    def _in_range(self, name: str, value: Any, default: Any, minimum: float | None, maximum: float | None) -> Any:
        if minimum is not None and value < minimum:
            return self._fail(name, f"expected a number >= {minimum:g}, got {value}", default)
        if maximum is not None and value > maximum:
            return self._fail(name, f"expected a number <= {maximum:g}, got {value}", default)
        return value

    def bool(self, name: str, default: Any = _MISSING) -> bool:
        value = self.raw(name, default)
        if value is default or value is None:
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            value = value.lower() in ("true", "yes", "1")
        if not isinstance(value, bool):
            return self._fail(name, f"expected true or false, got {_kind(value)}", default)
        return value

    def port(self, name: str, default: Any = _MISSING) -> int:
        return self.int(name, default, minimum=0, maximum=65535)

    def strings(self, name: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self.raw(name, default)
        if value is default or value is None:
            return value
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return self._fail(name, f"expected a list of strings, got {_kind(value)}", default)
        return tuple(value)

    def section(self, name: str, required: bool = False) -> Section:
        self._seen.add(name)
        if required and name not in self._data:
            self.report(name, "is required")
        return Section(self._data.get(name), self.key(name), self.source, self.line_of(name), self.problems)

    def items_list(self, name: str) -> list[Section]:
        self._seen.add(name)
        value = self._data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.report(name, f"expected a list, got {_kind(value)}")
            return []
        lines = getattr(value, "lines", [self.line_of(name)] * len(value))
        return [Section(item, f"{self.key(name)}[{i}]", self.source, lines[i], self.problems)
                for i, item in enumerate(value)]

    def done(self) -> None:
        """Report every key nobody asked for (usually a typo), with the keys allowed here."""
        allowed = ", ".join(sorted(self._seen)) or "nothing"
        for name in self._data:
            if name not in self._seen:
                self.report(name, f"unknown key (allowed here: {allowed})")


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"the boolean {value}"
    return repr(value)


# -- one dataclass from one section --------------------------------------------------------------
def read(cls: type, section: Section) -> Any:
    """An instance of the settings dataclass ``cls`` read from ``section``.

    Each field is read as its annotation says and checked as its :func:`setting` says; unknown keys are
    problems; then the class's optional ``checked(self, section) -> instance`` hook does what involves
    several keys, if every key was fine. Returns None when the section had problems (they are recorded).
    """
    hints = typing.get_type_hints(cls)
    before = section._count()
    values: dict[str, Any] = {}
    holders: dict[str, Section] = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(META)
        if meta is None:
            continue
        *parents, name = (meta.key or f.name).split(".")
        holder = section
        for depth in range(len(parents)):
            prefix = ".".join(parents[:depth + 1])
            if prefix not in holders:
                holders[prefix] = holder.section(parents[depth])
            holder = holders[prefix]
        if meta.manual:
            holder.mark(name)
            continue
        value = _guarded(holder, _read_value, holder, name, hints[f.name], meta)
        if value is not _MISSING:
            values[f.name] = value
    for holder in holders.values():
        holder.done()
    section.done()
    if section._count() > before:
        return None
    result = cls(**values)
    checked = getattr(result, "checked", None)
    if checked is not None:
        result = _guarded(section, checked, section)
    return None if section._count() > before else result


def _guarded(section: Section, reading: Callable[..., Any], *args: Any) -> Any:
    """``reading(*args)``; a ConfigError it raises (a plugin's own check) is recorded like any problem."""
    try:
        return reading(*args)
    except ConfigError as exc:
        if section.problems is None:
            raise
        section.problems.extend(exc.problems)
        return None


def _read_value(section: Section, name: str, hint: Any, meta: Setting) -> Any:
    kind, inner, optional = _shape(hint)
    default = _MISSING if meta.default in (REQUIRED, DEFAULTS) else meta.default
    before = section._count()
    if kind == "section":
        if not section.has(name):
            if meta.default is REQUIRED:
                section.report(name, "is required")
                return None
            if meta.default is not DEFAULTS:
                section.mark(name)
                return meta.default
        return read(inner, section.section(name))
    if kind == "sections":
        return tuple(read(inner, item) for item in section.items_list(name))
    if kind == "strings":
        value = section.strings(name, default)
    elif inner is bool:
        value = section.bool(name, default)
    elif inner is int:
        value = section.int(name, default, meta.minimum, meta.maximum)
    elif inner is float:
        value = section.float(name, default, meta.minimum, meta.maximum)
    elif inner is str:
        value = section.str(name, default, meta.choices)
    else:
        raise TypeError(f"{name}: settings of type {hint!r} are not supported")
    if meta.check is not None and value is not None and section._count() == before:
        value = meta.check(section, name, value)
    return value


def _shape(hint: Any) -> tuple[str, Any, bool]:
    """("scalar" | "strings" | "section" | "sections", the inner type, whether None is allowed)."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional, hint = True, args[0]
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return ("sections" if dataclasses.is_dataclass(item) else "strings"), item, optional
    if dataclasses.is_dataclass(hint):
        return "section", hint, optional
    return "scalar", hint, optional


# -- back to plain data (telegraphy check) -------------------------------------------------------
def as_dict(obj: Any, mask: bool = False) -> dict[str, Any]:
    """The settings of ``obj`` as plain YAML-able data, keyed like the config file; with ``mask``,
    secret settings are ``****`` and partly secret ones (a URL's password) redacted."""
    result: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        meta = f.metadata.get(META)
        if meta is None:
            continue
        value = plain(getattr(obj, f.name), mask)
        if mask and value:
            if meta.secret:
                value = ["****" for _ in value] if isinstance(value, list) else "****"
            elif meta.redact is not None:
                value = meta.redact(value)
        *parents, name = (meta.key or f.name).split(".")
        target = result
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = value
    return result


def plain(value: Any, mask: bool = False) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return as_dict(value, mask)
    if isinstance(value, (list, tuple)):
        return [plain(v, mask) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v, mask) for k, v in value.items()}
    return value


# -- the reference (docs/config.rst and each transport's page) ----------------------------------
@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    doc: str


def reference(cls: type, prefix: str = "") -> list[Row]:
    """Every key of the settings dataclass ``cls`` (nested sections included), in declaration order."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(META)
        if meta is None:
            continue
        key = prefix + (meta.key or f.name)
        kind, inner, optional = _shape(hints[f.name])
        rows.append(Row(key, _type_text(kind, inner, meta), _default_text(meta), meta.doc))
        if kind == "section":
            rows.extend(reference(inner, key + "."))
        elif kind == "sections":
            rows.extend(reference(inner, key + "[]."))
    return rows


def _type_text(kind: str, inner: Any, meta: Setting) -> str:
    if meta.manual:
        return "mapping"
    if kind == "section":
        return "mapping"
    if kind == "sections":
        return "list of mappings"
    if kind == "strings":
        return "string or list of strings"
    if meta.choices:
        return "one of " + ", ".join(f"``{c}``" for c in meta.choices)
    text = {bool: "true or false", int: "whole number", float: "number", str: "string"}[inner]
    if meta.minimum is not None and meta.maximum is not None:
        return f"{text}, {meta.minimum:g} to {meta.maximum:g}"
    if meta.minimum is not None:
        return f"{text}, at least {meta.minimum:g}"
    return text


def _default_text(meta: Setting) -> str:
    if meta.doc_default is not None:
        return meta.doc_default
    default = meta.default
    if default is REQUIRED:
        return "required"
    if default is DEFAULTS or default is None:
        return ""
    if isinstance(default, bool):
        return f"``{str(default).lower()}``"
    if isinstance(default, tuple):
        return "``[" + ", ".join(f'"{v}"' for v in default) + "]``" if default else "``[]``"
    if default == "":
        return '``""``'
    return f"``{default}``"

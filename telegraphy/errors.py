"""One exception hierarchy for everything Telegraphy raises on purpose."""

from __future__ import annotations


class TelegraphyError(Exception):
    """Base class: catch this to handle any Telegraphy failure."""


class ConfigError(TelegraphyError, ValueError):
    """The shared config is missing, unreadable or invalid.

    The message names the file, the line and the key, so the fix is obvious.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.source, self.line, self.key, self.reason = source, line, key, message
        self.problems: list[ConfigError] = [self]  # every problem of the file, this one first
        where = source or "<config>"
        if line is not None:
            where += f", line {line}"
        if key:
            where += f", key '{key}'"
        super().__init__(f"{where}: {message}")

    @classmethod
    def several(cls, problems: list[ConfigError]) -> ConfigError:
        """One error for all the problems of a file, so they can be fixed in one go: the first one's
        source, line and key, and a message with one line per problem."""
        if len(problems) == 1:
            return problems[0]
        first = problems[0]
        error = cls(first.reason, source=first.source, line=first.line, key=first.key)
        error.problems = list(problems)
        error.args = ("\n".join(str(problem) for problem in problems),)
        return error


class PluginError(TelegraphyError):
    """A plugin could not be found or loaded."""


class UnknownPlugin(PluginError, LookupError):
    """No installed plugin has the requested name."""


class MissingDependency(PluginError, ImportError):
    """A plugin is installed but a library it needs is not."""


class InvalidEvent(TelegraphyError, ValueError):
    """An event was rejected before anything was sent (bad name, not JSON-serializable...)."""


class PublishError(TelegraphyError):
    """The event could not be handed to the transport."""


class GatewayUnavailable(PublishError, ConnectionError):
    """The gateway (or the broker in front of it) could not be reached in time."""


class TokenError(TelegraphyError):
    """A token is malformed, forged, expired or already used."""

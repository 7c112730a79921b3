"""What every framework integration shares, so the Django and Flask plugins keep only their framework's glue.

- :mod:`.settings`: the ``TELEGRAPHY_CONFIG`` (a path) / ``TELEGRAPHY`` (a dict) pair both read;
- :mod:`.declarations`: ``BaseEventModel``-style declarations (model, fields, exclude, operations, name,
  verbose_name, access, user_field, ``to_dict()``), their checks and their registry;
- :mod:`.outbox`: a transaction's events, collected, folded and published after the commit;
- :mod:`.page`: the token endpoint and the page's script tags.

The integration's :class:`telegraphy.Publisher` owns its config; ``telegraphy.gateway.cli.run`` and
``add_arguments`` start the gateway. Nothing here imports a web framework.
"""

from .declarations import EventDeclaration, ModelEventDeclaration, Problem, Registry, access_problems
from .outbox import Outbox, Pending
from .page import client_options, script_tags, token_for, token_response
from .settings import config_from_settings

__all__ = [
    "EventDeclaration", "ModelEventDeclaration", "Outbox", "Pending", "Problem", "Registry", "access_problems",
    "client_options", "config_from_settings", "script_tags", "token_for", "token_response",
]

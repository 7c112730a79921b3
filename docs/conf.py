import os
import sys

# docs/_ext holds the local extension that generates the config reference (Sphinx's usual layout)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "Telegraphy"
author = "The Telegraphy authors"
copyright = "2013-2026, the Telegraphy authors (Apache-2.0)"
extensions = ["sphinx.ext.autodoc", "telegraphy_settings"]
html_theme = "alabaster"

# `sphinx-build -n -W` (tests/unit/test_docs.py) must pass offline, so there is no intersphinx inventory for
# the standard library: its classes in signatures are shown, not linked.
nitpicky = True
nitpick_ignore_regex = [("py:class", r"(collections\.abc|os|pathlib|typing|twisted)\..*")]
exclude_patterns = ["_build", "_ext"]

project = "Telegraphy"
author = "The Telegraphy authors"
copyright = "2013-2026, the Telegraphy authors (Apache-2.0)"
extensions = ["sphinx.ext.autodoc"]
html_theme = "alabaster"

# `sphinx-build -n -W` (tests/unit/test_docs.py) must pass offline, so there is no intersphinx inventory for
# the standard library: its classes in signatures are shown, not linked.
nitpicky = True
nitpick_ignore_regex = [("py:class", r"(collections\.abc|os|typing|twisted)\..*")]
exclude_patterns = ["_build"]

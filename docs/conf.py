project = "Telegraphy"
author = "The Telegraphy authors"
copyright = "2013-2026, the Telegraphy authors (Apache-2.0)"
extensions = ["sphinx.ext.autodoc"]
html_theme = "alabaster"
exclude_patterns = ["_build"]

"""A tiny shop whose models the Flask tests register events for (event names ``flaskshop.<Model>``)."""

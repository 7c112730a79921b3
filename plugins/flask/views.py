"""The blueprint serving the browser client and fresh tokens, so pages need nothing but the Flask app."""

from __future__ import annotations

from importlib.resources import files

from flask import Blueprint, Response, current_app, jsonify, send_file

blueprint = Blueprint("telegraphy", __name__, template_folder="templates")

# the one copy of the client, shared with the gateway's /telegraphy.js
CLIENT_SCRIPT = files("telegraphy").joinpath("static/telegraphy/telegraphy.js")


@blueprint.get("/telegraphy.js")
def script() -> Response:
    return send_file(str(CLIENT_SCRIPT), mimetype="text/javascript", max_age=300)


@blueprint.route("/token", methods=["GET", "POST"])
def token() -> Response:
    """``{"token": "..."}`` for the logged-in user, ``{"token": null}`` when nobody is logged in."""
    response = jsonify(token=current_app.extensions["telegraphy"].get_token())
    response.headers["Cache-Control"] = "no-store"
    return response

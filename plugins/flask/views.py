"""The blueprint serving the browser client and fresh tokens, so pages need nothing but the Flask app."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, send_file

from telegraphy.integration import page

blueprint = Blueprint("telegraphy", __name__, template_folder="templates")


@blueprint.get("/telegraphy.js")
def script() -> Response:
    """The one copy of the client, shared with the gateway's /telegraphy.js and Django's static files."""
    return send_file(str(page.CLIENT_SCRIPT), mimetype="text/javascript", max_age=300)


@blueprint.route("/token", methods=["GET", "POST"])
def token() -> Response:
    """``{"token": "..."}`` for the logged-in user, ``{"token": null}`` when nobody is logged in."""
    response = jsonify(current_app.extensions["telegraphy"].token_response())
    response.headers.update(page.TOKEN_HEADERS)
    return response

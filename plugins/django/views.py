"""The token URL: the browser client fetches a fresh single-use token here when it reconnects."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from telegraphy.integration import page

from . import conf
from .tokens import user_id


@never_cache
@require_GET
def token(request: HttpRequest) -> JsonResponse:
    """``{"token": ...}`` for ``request.user``; ``{"token": null}`` for an anonymous visitor."""
    return JsonResponse(page.token_response(conf.publisher(), user_id(getattr(request, "user", None))))

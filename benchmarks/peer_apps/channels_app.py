"""Django Channels with channels_redis, served by daphne: each WebSocket joins one group, and every group
message is sent on as it is. The write-only side is channels_emitter.py (``group_send``).

    BENCH_REDIS_URL=... BENCH_PREFIX=... daphne -b 127.0.0.1 -p PORT channels_app:application

The Redis connection pool is raised from redis-py's 100 to 2,000 so that 1,000 clients joining at once
are not refused ("Too many connections").
"""

import os

import django
from django.conf import settings

GROUP = "bench"
POOL = 2000

settings.configure(
    DEBUG=False, SECRET_KEY="benchmark-only", ALLOWED_HOSTS=["*"], INSTALLED_APPS=["channels"],
    ASGI_APPLICATION="channels_app.application",
    CHANNEL_LAYERS={"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {
        "hosts": [{"address": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"), "max_connections": POOL}],
        "prefix": os.environ.get("BENCH_PREFIX", "asgi")}}})
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class Relay(AsyncWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def bench_event(self, message):
        await self.send(text_data=message["text"])


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/", Relay.as_asgi())])})

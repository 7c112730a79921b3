"""python-socketio with Redis, as its documentation sets it up for several processes: an AsyncServer on
aiohttp whose AsyncRedisManager listens on a Redis pub/sub channel, fed by a write-only emitter process.

    python socketio_server.py PORT REDIS_URL CHANNEL
"""

import os
import signal
import sys

import socketio
from aiohttp import web


def main() -> None:
    signal.alarm(int(os.environ.get("BENCH_MAX_SECONDS", "900")))
    port, redis_url, channel = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    manager = socketio.AsyncRedisManager(redis_url, channel=channel)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app)
    web.run_app(app, host="127.0.0.1", port=port, backlog=1024, print=lambda *a: print("ready", flush=True))


if __name__ == "__main__":
    main()

"""The web app's side of Django Channels: ``channel_layer.group_send`` of each event to the group every
client joined, paced by benchmarks/pacer.py (JSON-lines commands on stdin, like benchmarks/webapp.py).

    BENCH_REDIS_URL=... BENCH_PREFIX=... python channels_emitter.py
"""

import asyncio
import json

import channels_app
from channels.layers import get_channel_layer

from benchmarks import pacer


def main() -> None:
    layer, loop = get_channel_layer(), asyncio.new_event_loop()

    async def send(topic: str, datas: list) -> None:
        for data in datas:  # one after the other: the group receives them in order
            await layer.group_send(channels_app.GROUP, {"type": "bench.event",
                                                        "text": json.dumps(pacer.envelope(topic, data))})

    pacer.serve({"pace": lambda **cmd: pacer.pace(lambda t, d: loop.run_until_complete(send(t, d)), **cmd)},
                {"ready": True})


if __name__ == "__main__":
    main()

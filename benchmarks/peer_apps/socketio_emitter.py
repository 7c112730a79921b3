"""The web app's side of python-socketio: ``socketio.RedisManager(write_only=True)`` emits each event to
every client, paced by benchmarks/pacer.py (JSON-lines commands on stdin, like benchmarks/webapp.py).

    python socketio_emitter.py REDIS_URL CHANNEL
"""

import sys

import socketio

from benchmarks import pacer


def main() -> None:
    manager = socketio.RedisManager(sys.argv[1], channel=sys.argv[2], write_only=True)

    def publish(topic: str, datas: list) -> None:
        for data in datas:
            manager.emit(topic, pacer.envelope(topic, data), namespace="/")

    pacer.serve({"pace": lambda **cmd: pacer.pace(publish, **cmd)}, {"ready": True})


if __name__ == "__main__":
    main()

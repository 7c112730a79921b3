"""ZeroMQ transport: PUSH sockets in the web app, a PULL socket in each gateway, no broker to run.

Every web-app process connects one PUSH socket per gateway endpoint, so every gateway gets every
event; each gateway binds a PULL socket read from the Twisted reactor. Optional CURVE keys
authenticate and encrypt the links. This module imports nothing from pyzmq, so the plugin can be
listed and its options checked where pyzmq is not installed (``pip install telegraphy[zeromq]``).
"""

from __future__ import annotations

from telegraphy.plugins import Transport

from .options import ZeroMQOptions

transport = Transport(name="zeromq", extra="zeromq", requires=("zmq",), options=ZeroMQOptions,
                      make_proxy=f"{__name__}.proxy:ZeroMQProxy",
                      make_representative=f"{__name__}.representative:ZeroMQRepresentative",
                      description="ZeroMQ PUSH/PULL straight to each gateway (lowest latency, no broker)")

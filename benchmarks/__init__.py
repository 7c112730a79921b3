"""Benchmarks of real Telegraphy processes on loopback (ingest, fan-out, Crossbar side by side, slow client)."""

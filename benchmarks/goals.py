"""Goals: issue 14's goals against what the scenarios of one results folder measured (measured, goal, met?).

Not a measurement of its own: the runner builds it after the scenarios, from their JSON files.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import common, idle, latency, peers, publish, responsiveness

NAME = "goals"
TITLE = "Goals of issue 14"
COLUMNS = [("goal", "goal"), ("measured", "measured"), ("target", "target"), ("verdict", "met?"),
           ("source", "from")]


def _load(out: Path, name: str) -> dict | None:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _source(out: Path, name: str) -> str:
    """Which file a goal was read from, and when it was measured."""
    result = _load(out, name)
    return f"{name} ({result['date'][:16].replace('T', ' ')})" if result else name


def _row(goal: str, measured: str | None, target: str, ok: bool | None, source: str) -> dict:
    return {"goal": goal, "measured": measured if measured is not None else "not measured", "target": target,
            "verdict": "-" if ok is None else ("met" if ok else "not met"), "source": source}


def evaluate(out: Path) -> list[dict]:
    rows = []
    result = _load(out, publish.NAME)
    if result:
        base = next((r for r in result["rows"] if r["subscribers"] == 0), None)
        for n in sorted({r["subscribers"] for r in result["rows"]} - {0}):
            r = next(r for r in result["rows"] if r["subscribers"] == n)
            ratio = r["p50_us"] / base["p50_us"] if base and base["p50_us"] else None
            rows.append(_row(f"publish() p50 with {n:,} subscribers / with none",
                             f"{ratio:.2f}x ({r['p50_us']:.0f} / {base['p50_us']:.0f} µs)" if ratio else None,
                             f"<= {publish.GOAL_RATIO}x" if n == 1000 else "(context)",
                             (ratio <= publish.GOAL_RATIO) if ratio and n == 1000 else None,
                             _source(out, publish.NAME)))
    else:
        rows.append(_row("publish() p50 with 1,000 subscribers / with none", None, f"<= {publish.GOAL_RATIO}x", None,
                         _source(out, publish.NAME)))
    result = _load(out, latency.NAME)
    r = result["rows"][0] if result and result["rows"] else None
    rows.append(_row(f"latency at 20 events/s to {r['subscribers'] if r else 1000:,} subscribers",
                     f"p50 {common.fmt(r['p50_ms'])} ms, p99 {common.fmt(r['p99_ms'])} ms" if r else None,
                     f"p50 <= {latency.GOAL_P50_MS:g} ms, p99 <= {latency.GOAL_P99_MS:g} ms",
                     r["verdict"] == "met" if r else None, _source(out, latency.NAME)))
    result = _load(out, peers.NAME)
    summary = {s["router"]: s for s in (result or {}).get("summary", [])}
    skipped = {s["what"]: s["why"] for s in (result or {}).get("skipped", [])}
    ours = summary.get("telegraphy")
    for peer, goal in peers.GOAL_RATIOS.items():
        s = summary.get(peer)
        if s and ours and s.get("telegraphy_ratio"):
            measured = (f"{s['telegraphy_ratio']:.2f}x ({ours['saturated_per_s']:,.0f} / "
                        f"{s['saturated_per_s']:,.0f} deliveries/s)")
            rows.append(_row(f"saturated deliveries/s at 1,000 subscribers vs {peer}", measured, f">= {goal:g}x",
                             s["telegraphy_ratio"] >= goal, _source(out, peers.NAME)))
        else:
            why = skipped.get(peer)
            rows.append(_row(f"saturated deliveries/s at 1,000 subscribers vs {peer}",
                             f"not measured: {why[:120]}" if why else None, f">= {goal:g}x", None,
                             _source(out, peers.NAME)))
    result = _load(out, responsiveness.NAME)
    busy = result["rows"][-1] if result and result["rows"] else None
    rows.append(_row(f"another session's call during fan-out to {busy['subscribers'] if busy else 10000:,} "
                     f"subscribers at {responsiveness.RATE} events/s",
                     f"p99 {common.fmt(busy['call_p99_ms'])} ms (/health p99 {common.fmt(busy['health_p99_ms'])} ms)"
                     if busy else None, f"p99 <= {responsiveness.GOAL_CALL_P99_MS:g} ms",
                     busy["verdict"] == "met" if busy else None, _source(out, responsiveness.NAME)))
    result = _load(out, idle.NAME)
    for r in (result or {}).get("rows", []):
        rows.append(_row(f"memory per idle session at {r['sessions']:,} sessions ({r['kind']})",
                         f"{r['per_session_kib']:.1f} KiB", f"<= {idle.GOAL_KIB:g} KiB", r["verdict"] == "met",
                         _source(out, idle.NAME)))
    if not result:
        rows.append(_row("memory per idle session at 10,000 sessions", None, f"<= {idle.GOAL_KIB:g} KiB", None,
                         _source(out, idle.NAME)))
    return rows


def run(options: common.Options) -> dict:
    rows = evaluate(options.out)
    quick = [name for name in (publish.NAME, latency.NAME, peers.NAME, responsiveness.NAME, idle.NAME)
             if (_load(options.out, name) or {}).get("quick")]
    notes = ["each goal is read from that scenario's JSON in the same results folder; ratios come from measurements "
             "of the same run (the machine is shared)"]
    if quick:
        notes.append(f"--quick counts ({', '.join(quick)}): not the goals' sizes")
    common.save(NAME, options, rows, notes=notes)
    common.print_table(TITLE, rows, COLUMNS)
    return {"rows": rows}

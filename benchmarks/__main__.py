"""The benchmark runner: ``python -m benchmarks [scenario ...] [--quick] [--skip-peers]``.

Each scenario prints a table and writes results/<scenario>.json and .png; a full run (not --quick) into
benchmarks/results/ also rewrites the table in benchmarks/README.md from the JSON files there.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from . import common, fanout, goals, idle, ingest, large, latency, peers, profile, publish, responsiveness, slowclient

SCENARIOS = {module.NAME: module for module in (ingest, fanout, peers, publish, latency, responsiveness, idle, large,
                                                profile, slowclient)}
SHOWN = {goals.NAME: goals, **SCENARIOS}  # the README's order: the goals first
README = common.HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def readme_block(out: Path) -> str:
    """The latest results, one section per scenario JSON found in ``out``."""
    parts = []
    for name, module in SHOWN.items():
        path = out / f"{name}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        m = result["machine"]
        rows = result["rows"]
        before, during = common.fmt(m.get("busy_before_pct")), common.fmt(m.get("others_busy_pct_during"))
        load = (f"; `uptime` before: {m['uptime_start'].split('load average:')[-1].strip()}, after: "
                f"{m['uptime_end'].split('load average:')[-1].strip()}" if m.get("uptime_start") else "")
        summary = result.get("summary")
        about = (f"{result['date']}, from the scenarios' files below" if name == goals.NAME else
                 f"{result['date']}, {m['cpu']} ({m['cores']} cores), Python {m['python']}, Node {m['node']}; other "
                 f"people's work used {before}% of the machine just before and {during}% on average during the "
                 f"run{load}; `{result['command']}`")
        parts.append(f"### {module.TITLE}\n\n{about}\n\n"
                     + (common.table(summary, module.SUMMARY_COLUMNS) + "\n\n" if summary else "")
                     + (common.table(rows, module.COLUMNS) + "\n" if rows else "")
                     + "".join(f"\n- skipped {s['what']}: {s['why']}" for s in result["skipped"])
                     + "".join(f"\n- {note}" for note in result["notes"])
                     + (f"\n\n![{name}](results/{name}.png)\n" if (out / f"{name}.png").exists() else "\n"))
    return "\n".join(parts)


def update_readme(out: Path) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        print(f"{README} has no {START} ... {END} block; not updated", file=sys.stderr)
        return
    head, rest = text.split(START, 1)
    README.write_text(f"{head}{START}\n{readme_block(out)}\n{END}{rest.split(END, 1)[1]}")
    print(f"updated {README.relative_to(common.ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="scenario",
                        help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small counts, under a minute; results to --out")
    parser.add_argument("--skip-peers", action="store_true", help="do not install or run the peers (scenario peers)")
    parser.add_argument("--transport", default="xmlrpc", help="transport the fan-out publisher uses")
    parser.add_argument("--out", type=Path, help="results folder (default benchmarks/results, or "
                                                 "benchmarks/.quick with --quick)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}")
    names = args.scenarios or list(SCENARIOS)
    if args.skip_peers and peers.NAME in names:
        names.remove(peers.NAME)
        print("skipped peers: --skip-peers")
    out = args.out or (common.HERE / ".quick" if args.quick else common.RESULTS)
    command = ".venv/bin/python -m benchmarks" + "".join(f" {shlex.quote(a)}" for a in (argv or sys.argv[1:]))
    options = common.Options(quick=args.quick, out=out, command=command, skip_peers=args.skip_peers,
                             transport=args.transport)
    failed = []
    print(f"open files allowed per process: {common.raise_nofile():,}; {common.uptime()}", flush=True)
    for name in names:
        print(f"\n# {name}: {SCENARIOS[name].TITLE}", flush=True)
        started = time.monotonic()
        options.busy_before = common.cpu_busy() if args.quick else common.wait_until_quiet()
        options.uptime_start = common.uptime()
        options.contention = common.Contention()
        try:
            SCENARIOS[name].run(options)
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others' figures
            failed.append(name)
            print(f"scenario {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        if options.contention is not None:
            options.contention.stop()
        print(f"({name}: {time.monotonic() - started:.0f} s)", flush=True)
    options.busy_before, options.contention, options.uptime_start = None, None, common.uptime()
    goals.run(options)
    if out.resolve() == common.RESULTS.resolve():
        update_readme(out)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

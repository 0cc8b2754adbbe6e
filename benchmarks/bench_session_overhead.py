"""What ``Session.run`` costs beyond its graphs: wall time minus the time the backend
spent running graphs, per image, for one or more builds of argus-edge in one run.

    python benchmarks/bench_session_overhead.py BUNDLE [--python OTHER_PYTHON ...]

Each interpreter (this one first, then every ``--python``) runs the same measurement in a
worker process of its own; the versions alternate for ``--rounds`` rounds so that a slow
spell of the machine hits all of them alike. Per run the worker records the wall time of
``Session.run(image, every task)`` and the seconds the C++ Session spent inside
``Backend::run`` (``Session.graph_seconds()``); their difference is the overhead:
pre-processing, decoding, scheduling and the Python layer. Medians over every run of every
round are printed with the ratio to the first interpreter's, and the CPU they ran on.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

_WORKER = r"""
import json, sys, time
import numpy as np
import argus_edge
from skimage import data
bundle, backend, threads, runs, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = argus_edge.Session(bundle, backend=backend, threads=threads or None)
image = np.ascontiguousarray(data.astronaut())
for _ in range(warmup):
    s.run(image)
rows = []
for _ in range(runs):
    s.reset_graph_calls()
    t0 = time.perf_counter()
    s.run(image)
    wall = time.perf_counter() - t0
    rows.append((wall, sum(s.graph_seconds().values())))
print("RESULT " + json.dumps({"version": argus_edge.__version__, "file": argus_edge.__file__,
                              "backend": s.backend, "tasks": list(s.tasks), "rows": rows}))
"""


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _measure(python: str, args: argparse.Namespace) -> dict:
    out = subprocess.run([python, "-c", _WORKER, str(args.bundle), args.backend,
                          str(args.threads), str(args.runs), str(args.warmup)],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"{python} failed:\n{out.stderr}")
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", type=Path)
    p.add_argument("--python", action="append", default=[],
                   help="another interpreter with another argus-edge build (repeatable)")
    p.add_argument("--backend", default="openvino")
    p.add_argument("--threads", type=int, default=0, help="0: the engine's default")
    p.add_argument("--runs", type=int, default=20, help="timed runs per round and version")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    pythons = [sys.executable, *args.python]
    rows: dict[str, list] = {py: [] for py in pythons}
    meta: dict[str, dict] = {}
    for _ in range(args.rounds):
        for py in pythons:
            result = _measure(py, args)
            rows[py] += result.pop("rows")
            meta[py] = result
    print(f"CPU: {_cpu()} ({platform.machine()}), backend {args.backend}, "
          f"{args.rounds} rounds x {args.runs} runs per version, bundle {args.bundle.name}")
    print(f"tasks: {', '.join(meta[pythons[0]]['tasks'])}")
    print(f"{'version':<50} {'run ms':>8} {'graphs ms':>10} {'overhead ms':>12} {'vs first':>9}")
    first = None
    for py in pythons:
        wall = statistics.median(r[0] for r in rows[py]) * 1e3
        graphs = statistics.median(r[1] for r in rows[py]) * 1e3
        overhead = statistics.median(r[0] - r[1] for r in rows[py]) * 1e3
        first = first if first is not None else overhead
        label = f"{meta[py]['version']} {Path(meta[py]['file']).parent}"
        print(f"{label[-50:]:<50} {wall:8.2f} {graphs:10.2f} {overhead:12.2f} "
              f"{overhead / first:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

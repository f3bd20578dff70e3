"""Write the "Replicas" section of docs/benchmarks.md from benchmarks/results/replicas.json (``bench_load.py
--replicas N``: the same 20-client mix through nginx with one and with two replicas over one PostgreSQL store).

    .venv/bin/python benchmarks/replicas_report.py
"""

from __future__ import annotations

import json

from _common import DOC, RESULTS, fmt, replace_section

INTRO = """## Replicas (nginx in front, PostgreSQL store; docs/scaling.md)

`benchmarks/bench_load.py --replicas N` starts N uvicorn processes over one throwaway PostgreSQL cluster (Debian's
PostgreSQL 15 with `fsync=off`, as the tests start it) behind nginx configured by `docs/deploy/nginx.conf`, each
replica with its own in-process job worker, and runs the Load section's mix (20 closed-loop clients for 30 s on
loopback: 45 % `POST /route`, 35 % `POST /search`, 20 % `POST /cases`) through nginx. `--replicas 1 --postgres
--proxy` is the same path with one replica. One run per row, in the order listed; the sample bundle (e5-small index).
"""

WHY = """With the runs interleaved (one replica, two, two, one, two), two replicas answered more than one each time
(routes/s in the table; 0 failed requests in every run), though both share the same 2 cores. What limits it on
this machine: the sentence encoder, which every route, search and routed case creation calls, needs most of the 2
cores (the encoder ceiling table above: about 20-50 texts/s on 2 cores), so a second replica adds no compute. What
it can add is a second Python interpreter: the parts of a request that hold the GIL (segmentation, BM25, JSON, key
hashing) of one replica run beside the other's, and with one torch thread per replica (`JIAOBAN_ENCODER_THREADS=1`)
the two encoders do not fight over the cores. Other sessions kept the cores busy during every run (the busy
column), so differences of a few tens of percent between rows are within what that noise does. Replicas on
machines of their own were not measured here; docs/scaling.md sizes them on paper.
"""


def _p50_p99(load: dict, op: str) -> str:
    return f"{load['ops'][op]['p50_ms']:,.0f} / {load['ops'][op]['p99_ms']:,.0f}"


def main() -> int:
    scenarios = json.loads((RESULTS / "replicas.json").read_text(encoding="utf-8"))["scenarios"]
    lines = [INTRO, "| scenario | replicas | routes/s | requests/s | route p50 / p99 ms | search p50 / p99 ms | "
             "case p50 / p99 ms | failures | other load on the cores | command |", "|---|---:|---:|---:|---:|---:|"
             "---:|---:|---:|---|"]
    for name, s in scenarios.items():
        load, m = s["load"], s["machine"]
        lines.append(f"| `{name}` ({s['date']}) | {s['replicas']} | {load['routes_per_s']} | {load['req_per_s']} | "
                     f"{_p50_p99(load, 'route')} | {_p50_p99(load, 'search')} | {_p50_p99(load, 'cases')} | "
                     f"{load['failures']} | "
                     f"{fmt(m.get('busy_before'), '.0%')} before, {fmt(m.get('busy_after'), '.0%')} after | "
                     f"`{s['command']}` |")
    lines += ["", WHY]
    replace_section(DOC, "replicas", "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

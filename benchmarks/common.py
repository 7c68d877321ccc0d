"""Helpers shared by the benchmarks: timing, memory, subprocess runs, the traffic venv, output.

Benchmarks time work inside the process that does it (imports and start-up excluded), report
the best of N runs (the least disturbed by other load on a shared machine) together with CPU
time, and measure peak memory in a fresh process so one step's peak does not hide another's.
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import resource
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
TRAFFIC_VENV = HERE / ".venv-traffic"
SHARED = Path(os.environ.get("ISRWATCH_SHARED", REPO.parent / "shared"))


def shared_data(*parts: str) -> Path | None:
    """A path under ../shared/data, or None when the material is absent."""
    p = SHARED.joinpath("data", *parts)
    return p if p.exists() else None


def best_of(fn: Callable[[], Any], n: int = 3, warmup: int = 1) -> dict[str, Any]:
    """Run fn warmup + n times; best and all wall / CPU seconds, and the last result."""
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    result = None
    for _ in range(n):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {"best_s": min(walls), "wall_s": walls, "cpu_s": cpus, "best_cpu_s": min(cpus), "result": result}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB.

    Linux: VmHWM from /proc (ru_maxrss would carry the parent's peak across fork + exec).
    """
    try:
        for line in open("/proc/self/status").read().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def peak_python_mb(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn's result and the peak of Python-level allocations while it ran, MB.

    tracemalloc sees Python objects only, not Arrow/Polars buffers: use a fresh process and
    peak_rss_mb() for the whole picture.
    """
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / 1e6


def run_python(code: str, *, python: str | Path = sys.executable, timeout: float = 1800, env: dict | None = None) -> Any:
    """Run a snippet in a fresh interpreter; it must print one JSON value on its last line.

    Use it to time code in another environment (the traffic venv) or to read a step's own
    peak memory. Raises RuntimeError with the snippet's stderr when it fails.
    """
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [str(python), "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=str(HERE),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"snippet failed ({python}):\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"snippet printed nothing ({python}):\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1])


# The prelude every snippet can use: best_of and peak_rss_mb, without importing this module
# (the traffic venv does not have isrwatch installed). Their source is copied from above, so the
# snippets time and measure exactly as this process does; they use the standard library only.
SNIPPET_PRELUDE = (
    "from __future__ import annotations\nimport json, resource, sys, time\n"
    + inspect.getsource(best_of)
    + inspect.getsource(peak_rss_mb)
)


def traffic_python() -> Path:
    """The interpreter of benchmarks/.venv-traffic (made by `make -C benchmarks traffic-venv`)."""
    py = TRAFFIC_VENV / "bin" / "python"
    if not py.exists():
        raise RuntimeError(f"{py} is missing: run `make -C benchmarks traffic-venv` first")
    return py


def run_in_traffic(code: str, timeout: float = 1800) -> Any:
    """Run a snippet (SNIPPET_PRELUDE available) inside the traffic venv; its JSON result."""
    return run_python(SNIPPET_PRELUDE + textwrap.dedent(code), python=traffic_python(), timeout=timeout)


def run_here(code: str, timeout: float = 1800) -> Any:
    """Run a snippet (SNIPPET_PRELUDE available) in a fresh process of this interpreter."""
    return run_python(SNIPPET_PRELUDE + textwrap.dedent(code), timeout=timeout)


def machine() -> dict[str, Any]:
    """What the figures were measured on, including how busy the machine was."""
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1_5_15": [round(x, 2) for x in load],
        "when_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_json(name: str, data: Any) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """rows as a Markdown table; columns are (key, header) pairs; floats get 3 significant digits."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            if v != v:
                return "–"
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        if isinstance(v, int):
            return f"{v:,}"
        return "–" if v is None else str(v)

    head = "| " + " | ".join(h for _, h in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])

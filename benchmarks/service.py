"""Load and fuzz a running riskdraw service: used by `make bench` (in full) and by the service's
tests (in a short form).

`load` keeps a number of clients busy for a given time with a mix of batch and single-record
requests and reports every error and the latency percentiles of each kind; `fuzz` runs
schemathesis against the service's own OpenAPI document (no 5xx, no answer that breaks its
schema).
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


@dataclass
class Kind:
    """One kind of request in the mix: its route, body and share of the requests."""

    name: str
    route: str
    body: dict
    share: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load(url: str, token: str, kinds: list[Kind], seconds: float, clients: int, seed: int = 0):
    """Keep `clients` threads sending the mix of `kinds` for `seconds`.

    Returns:
        requests, errors (each: kind, status or exception), requests per second, and per kind
        requests, errors and latency p50 / p95 / p99 in milliseconds.
    """
    headers = {"Authorization": f"Bearer {token}"}
    shares = np.array([k.share for k in kinds]) / sum(k.share for k in kinds)
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def client(number: int) -> None:
        rng = random.Random(seed + number)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            while time.monotonic() < stop:
                kind = kinds[rng.choices(range(len(kinds)), weights=shares)[0]]
                started = time.perf_counter()
                try:
                    answer = http.post(kind.route, json=kind.body)
                    problem = None if answer.status_code == 200 else f"{answer.status_code}"
                except httpx.HTTPError as error:
                    problem = type(error).__name__
                took = (time.perf_counter() - started) * 1000
                with lock:
                    if problem:
                        kind.errors.append(problem)
                    else:
                        kind.latencies.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    total = sum(len(k.latencies) + len(k.errors) for k in kinds)
    return {
        "seconds": round(elapsed, 1),
        "clients": clients,
        "requests": total,
        "errors": sum(len(k.errors) for k in kinds),
        "requests_per_second": round(total / elapsed, 1),
        "kinds": {
            k.name: {
                "requests": len(k.latencies) + len(k.errors),
                "errors": len(k.errors),
                "first_errors": k.errors[:5],
                **{
                    f"p{q}_ms": round(float(np.percentile(k.latencies, q)), 1)
                    if k.latencies
                    else None
                    for q in (50, 95, 99)
                },
            }
            for k in kinds
        },
    }


def fuzz(url: str, token: str, seconds: int, report: Path | None = None) -> dict:
    """schemathesis against the service's OpenAPI document for `seconds`: every operation,
    examples then generated cases then stateful sequences, checking that no answer is a 5xx and
    none breaks its documented schema.

    Returns:
        passed (schemathesis' exit status was 0), cases generated, the output's last lines.
    """
    command = [SCHEMATHESIS, "run", f"{url}/docs.json", "--header",
               f"Authorization: Bearer {token}", "--checks",
               "not_a_server_error,response_schema_conformance", "--max-time", str(seconds),
               "--workers", "1", "--no-color"]  # fmt: skip
    # one worker: hypothesis' lambda descriptions are not thread-safe (a "Runtime Error" of the
    # fuzzer itself with two)
    with tempfile.TemporaryDirectory(prefix="riskdraw-fuzz-") as cwd:  # its cache, not ours
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300,
                              cwd=cwd)  # fmt: skip
    output = done.stdout + done.stderr
    if report is not None:
        report.write_text(output, encoding="utf-8")
    found = re.search(r"(\d+) generated", output)
    return {
        "passed": done.returncode == 0,
        "cases": int(found.group(1)) if found else 0,
        "tail": "\n".join(output.strip().splitlines()[-25:]),
    }


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> float:
    """Wait for a started service to answer `/readyz`; the seconds it took.

    Raises:
        RuntimeError: it exited, or was not ready in time (the end of its log in the message).
    """
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited ({process.returncode}):\n"
                               f"{log.read_text()[-3000:]}")  # fmt: skip
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the service was not ready in {seconds} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the service's process group (it was started in a session of its own), SIGKILL
    if it lingers."""
    import os
    import signal

    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass

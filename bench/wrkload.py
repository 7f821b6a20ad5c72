"""Driving one benchmark target with the ``wrk`` load generator instead of httpx in Python.

``wrk`` (Debian package ``wrk``) is a C load generator: one thread (``-t 1``) keeps
``connections`` keep-alive connections busy, pinned to the load core, and spends tens of
microseconds of CPU per request (answer check included) where the Python driver
(bench/loadgen.py) saturates its core near 450-520 requests/s (about 2 ms a request), so the
server, not the load generator, sets the pace up to thousands of requests per second.

A run posts one JSON body with the given headers (a Lua script, ``wrk.method``, ``wrk.body``,
``wrk.headers``, in a file readable only by us in a private temporary directory removed after
the run: it holds the bearer token and the expected answer) and compares every answer's status
and bytes with the answer the caller checked before the load (``expect``); answers that differ
are counted by the script and printed by its ``done`` hook as ``bad answers: N``. What wrk
prints (requests, duration, requests/s, latency with ``--latency``, socket errors, non-2xx/3xx
responses) is parsed by ``parse``, which knows wrk's units (``us``/``ms``/``s``/``m`` for times,
``k``/``M``/``G`` for counts and ``KB``/``MB``... for bytes).
"""

from __future__ import annotations

import math
import os
import re
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

from bench.loadgen import cpu_seconds

MISSING = "wrk not found: apt-get install wrk"

_TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_METRIC_UNITS = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_BINARY_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+|nan|inf)"
_TIME = re.compile(rf"^({_NUMBER})(us|ms|s|m|h)$", re.IGNORECASE)
_METRIC = re.compile(rf"^({_NUMBER})([kMGTP]?)$", re.IGNORECASE)
_BYTES = re.compile(rf"^({_NUMBER})([KMGTP]?)B$", re.IGNORECASE)


def seconds(text: str) -> float:
    """A wrk time (``812.00us``, ``10.52ms``, ``1.20s``, ``1.50m``) in seconds."""
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"not a wrk time: {text!r}")
    return float(match[1]) * _TIME_UNITS[match[2].lower()]


def metric(text: str) -> float:
    """A wrk count (``980``, ``1.52k``, ``2.10M``) as a number."""
    match = _METRIC.match(text.strip())
    if not match:
        raise ValueError(f"not a wrk count: {text!r}")
    unit = "k" if match[2].lower() == "k" else match[2].upper()
    return float(match[1]) * _METRIC_UNITS[unit]


def size(text: str) -> float:
    """A wrk byte size (``512.00B``, ``45.12MB``) in bytes."""
    match = _BYTES.match(text.strip())
    if not match:
        raise ValueError(f"not a wrk size: {text!r}")
    return float(match[1]) * _BINARY_UNITS[match[2].upper()]


@dataclass
class WrkReport:
    """What one wrk run printed. Times in seconds."""

    requests: int
    duration: float
    rate: float
    latency_avg: float
    latency_max: float
    percentiles: dict[float, float] = field(default_factory=dict)
    connect_errors: int = 0
    read_errors: int = 0
    write_errors: int = 0
    timeouts: int = 0
    non_2xx: int = 0  # wrk's "Non-2xx or 3xx responses" (it counts statuses above 399)
    bad_answers: int | None = None  # the bench script's own count; None: not printed

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts

    @property
    def failures(self) -> int:
        """Requests that did not get the expected answer (each counted once as far as wrk can)."""
        bad = self.bad_answers if self.bad_answers is not None else self.non_2xx
        return bad + self.socket_errors

    def problems(self) -> str:
        """What went wrong in words (empty when nothing did)."""
        parts = []
        if self.socket_errors:
            parts.append(
                f"socket errors: connect {self.connect_errors}, read {self.read_errors}, "
                f"write {self.write_errors}, timeout {self.timeouts}"
            )
        if self.non_2xx:
            parts.append(f"{self.non_2xx} responses with status >= 400")
        if self.bad_answers:
            parts.append(f"{self.bad_answers} answers other than the checked one")
        if self.bad_answers is None:
            parts.append("no answer check printed by the script")
        if not self.requests:
            parts.append("no request completed")
        return "; ".join(parts)


_STATS = re.compile(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+%\s*$", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+(\S+)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in (\S+), (\S+) read\s*$", re.MULTILINE)
_SOCKET = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$", re.MULTILINE
)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)\s*$", re.MULTILINE)
_RATE = re.compile(rf"^Requests/sec:\s+({_NUMBER})\s*$", re.MULTILINE | re.IGNORECASE)
_BAD = re.compile(r"^bad answers: (\d+)\s*$", re.MULTILINE)


def parse(text: str) -> WrkReport:
    """Parse what wrk printed (with or without ``--latency``); ValueError if a line is missing."""
    total, rate, stats = _TOTAL.search(text), _RATE.search(text), _STATS.search(text)
    if not total or not rate or not stats:
        raise ValueError("not a wrk report (no requests, Requests/sec or Latency line)")
    report = WrkReport(
        requests=int(total[1]),
        duration=seconds(total[2]),
        rate=float(rate[1]),
        latency_avg=seconds(stats[1]),
        latency_max=seconds(stats[3]),
    )
    distribution = text.partition("Latency Distribution")[2]
    for match in _PERCENTILE.finditer(distribution):
        report.percentiles[float(match[1])] = seconds(match[2])
    if socket := _SOCKET.search(text):
        report.connect_errors, report.read_errors, report.write_errors, report.timeouts = (
            int(n) for n in socket.groups()
        )
    if non_2xx := _NON_2XX.search(text):
        report.non_2xx = int(non_2xx[1])
    if bad := _BAD.search(text):
        report.bad_answers = int(bad[1])
    return report


def lua_string(data: bytes) -> str:
    """``data`` as a Lua string literal (every byte outside plain printable ASCII escaped)."""
    out = []
    for byte in data:
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def lua_script(body: bytes, headers: dict[str, str], expect_status: int, expect: bytes) -> str:
    """The wrk script: post ``body`` with ``headers``; count answers unlike ``expect``."""
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body)}"]
    for name, value in headers.items():
        lines.append(f"wrk.headers[{lua_string(name.encode())}] = {lua_string(value.encode())}")
    lines += [
        f"local expect_status = {int(expect_status)}",
        f"local expect = {lua_string(expect)}",
        "local threads = {}",
        "function setup(thread) table.insert(threads, thread) end",
        "function init(args) bad = 0 end",
        "function response(status, headers, body)",
        "  if status ~= expect_status or body ~= expect then bad = bad + 1 end",
        "end",
        "function done(summary, latency, requests)",
        "  local total = 0",
        "  for _, thread in ipairs(threads) do total = total + thread:get('bad') end",
        "  io.write(string.format('bad answers: %d\\n', total))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def find() -> str | None:
    return shutil.which("wrk")


@dataclass
class WrkRun:
    """One wrk run against one target, with the server's CPU time over it."""

    report: WrkReport
    cpu: float  # server CPU seconds from just before wrk started to just after it ended
    load_cpu: float = math.nan  # wrk's own CPU seconds (user and system)

    @property
    def rate(self) -> float:
        return self.report.rate

    @property
    def cpu_ms(self) -> float:
        done = self.report.requests
        return 1000 * self.cpu / done if done else math.nan

    @property
    def load_cpu_ms(self) -> float:
        """The load generator's CPU per request: near 1000 / req/s, wrk is the limit."""
        done = self.report.requests
        return 1000 * self.load_cpu / done if done else math.nan

    @property
    def failures(self) -> int:
        return self.report.failures


def run(
    url: str,
    body: bytes,
    headers: dict[str, str],
    expect_status: int,
    expect: bytes,
    connections: int,
    duration: int,
    server_pid: int,
    cores: set[int],
    wrk: str,
) -> WrkRun:
    """Drive ``url`` with wrk for ``duration`` whole seconds from one thread pinned to ``cores``."""
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:  # private: the script holds a token
        script = os.path.join(tmp, "post.lua")
        with os.fdopen(os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(lua_script(body, headers, expect_status, expect))
        command = [wrk, "-t", "1", "-c", str(connections), "-d", f"{duration}s"]
        command += ["--timeout", "30s", "--latency", "-s", script, url]
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0 = cpu_seconds(server_pid)
        done = subprocess.run(  # noqa: S603 - our own arguments, no shell
            command,
            capture_output=True,
            text=True,
            timeout=duration + 60,
            preexec_fn=lambda: os.sched_setaffinity(0, cores),
            check=False,
        )
        cpu = cpu_seconds(server_pid) - cpu0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr.strip()}")
    load_cpu = (children.ru_utime - children0.ru_utime) + (children.ru_stime - children0.ru_stime)
    return WrkRun(parse(done.stdout), cpu, load_cpu)

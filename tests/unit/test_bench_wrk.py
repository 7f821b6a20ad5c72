"""The inbox bench's wrk driver (bench/wrkload.py): what it reads from wrk's report, in every
unit wrk prints, and that a run with errors says so. The reports below are written for these
tests in wrk 4.1's layout (src/wrk.c ``print_stats``, ``print_stats_latency``)."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench import wrkload
from bench.wrkload import lua_script, lua_string, metric, parse, seconds, size

ROOT = Path(__file__).resolve().parents[2]

MS_AND_K = """\
Running 3s test @ http://127.0.0.1:40211/graphql
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    20.31ms   11.02ms 149.34ms   91.27%
    Req/Sec   791.35    120.77     1.02k    70.00%
  Latency Distribution
     50%   15.42ms
     75%   21.90ms
     90%   30.07ms
     99%  120.88ms
  2371 requests in 3.01s, 23.61MB read
Requests/sec:    786.42
Transfer/sec:      7.84MB
bad answers: 0
"""

US_S_AND_ERRORS = """\
Running 2s test @ http://127.0.0.1:40213/graphql
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.40us    1.31ms    2.01s    99.12%
    Req/Sec     3.05k   410.20     3.61k    75.00%
  Latency Distribution
     50%  402.00us
     75%  690.50us
     90%    1.20ms
     99%    1.50s
  6109 requests in 2.00s, 61.90MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:   3054.50
Transfer/sec:     30.95MB
bad answers: 9
"""

MINUTES_NO_LATENCY = """\
Running 1m test @ http://127.0.0.1:40215/graphql
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10s   300.00ms   1.05m    80.00%
    Req/Sec    15.00      3.00    20.00     66.67%
  903 requests in 1.00m, 9.00MB read
Requests/sec:     15.02
Transfer/sec:    153.40KB
"""

NOTHING_DONE = """\
Running 2s test @ http://127.0.0.1:40217/graphql
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.00us    0.00us   0.00us    -nan%
    Req/Sec     0.00      0.00     0.00      -nan%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 2.00s, 0.00B read
  Socket errors: connect 16, read 0, write 0, timeout 0
Requests/sec:      0.00
Transfer/sec:       0.00B
bad answers: 0
"""


def test_units() -> None:
    assert seconds("812.40us") == pytest.approx(812.40e-6)
    assert seconds("15.42ms") == pytest.approx(0.01542)
    assert seconds("2.01s") == pytest.approx(2.01)
    assert seconds("1.05m") == pytest.approx(63.0)
    assert seconds("2h") == 7200.0
    assert metric("791.35") == pytest.approx(791.35)
    assert metric("1.02k") == pytest.approx(1020.0)
    assert metric("2.10M") == pytest.approx(2.1e6)
    assert size("0.00B") == 0.0
    assert size("153.40KB") == pytest.approx(153.40 * 1024)
    assert size("23.61MB") == pytest.approx(23.61 * 1024 * 1024)
    for wrong in ("12", "1.2 ms", "ms", "1.2kB"):
        with pytest.raises(ValueError):
            seconds(wrong)
    with pytest.raises(ValueError):
        metric("1.2x")
    with pytest.raises(ValueError):
        size("12ms")


def test_milliseconds_and_k() -> None:
    report = parse(MS_AND_K)
    assert report.requests == 2371
    assert report.duration == pytest.approx(3.01)
    assert report.rate == pytest.approx(786.42)
    assert report.latency_avg == pytest.approx(0.02031)
    assert report.latency_max == pytest.approx(0.14934)
    assert report.percentiles == pytest.approx(
        {50.0: 0.01542, 75.0: 0.02190, 90.0: 0.03007, 99.0: 0.12088}
    )
    assert report.bad_answers == 0
    assert report.socket_errors == report.non_2xx == report.failures == 0
    assert report.problems() == ""


def test_microseconds_seconds_and_every_error() -> None:
    report = parse(US_S_AND_ERRORS)
    assert report.requests == 6109
    assert report.rate == pytest.approx(3054.50)
    assert report.latency_avg == pytest.approx(812.40e-6)
    assert report.latency_max == pytest.approx(2.01)
    assert report.percentiles[50.0] == pytest.approx(402e-6)
    assert report.percentiles[90.0] == pytest.approx(1.2e-3)
    assert report.percentiles[99.0] == pytest.approx(1.5)
    assert (report.connect_errors, report.read_errors, report.write_errors) == (0, 3, 1)
    assert report.timeouts == 2
    assert report.non_2xx == 7
    assert report.bad_answers == 9
    # The script's count includes the statuses >= 400; socket errors come on top.
    assert report.failures == 9 + 6
    problems = report.problems()
    assert "read 3, write 1, timeout 2" in problems
    assert "7 responses with status >= 400" in problems
    assert "9 answers other than the checked one" in problems


def test_minutes_without_latency_distribution_or_check() -> None:
    report = parse(MINUTES_NO_LATENCY)
    assert report.requests == 903
    assert report.duration == pytest.approx(60.0)
    assert report.latency_avg == pytest.approx(1.10)
    assert report.latency_max == pytest.approx(63.0)
    assert report.percentiles == {}
    assert report.bad_answers is None
    assert "no answer check" in report.problems()


def test_nothing_done_is_a_problem() -> None:
    report = parse(NOTHING_DONE)
    assert report.requests == 0
    assert report.rate == 0.0
    assert report.connect_errors == 16
    assert report.failures == 16
    assert "no request completed" in report.problems()
    assert "connect 16" in report.problems()
    assert math.isnan(wrkload.WrkRun(report, cpu=0.5).cpu_ms)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "unable to connect to 127.0.0.1:40219 Connection refused\n",
        "Usage: wrk <options> <url>\n",
        MS_AND_K.replace("Requests/sec:", "Requests per second:"),
        "\n".join(line for line in MS_AND_K.splitlines() if "requests in" not in line),
    ],
)
def test_not_a_report(text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


def unlua(literal: str) -> bytes:
    """Read back a literal made by ``lua_string`` (quotes, printable ASCII, ``\\ddd`` escapes)."""
    assert literal[0] == literal[-1] == '"'
    inner = literal[1:-1]
    assert re.fullmatch(r"(?:[ !#-\[\]-~]|\\\d{3})*", inner), inner
    return re.sub(
        r"\\(\d{3})|(.)", lambda m: chr(int(m[1])) if m[1] else m[2], inner, flags=re.S
    ).encode("latin-1")


def test_lua_strings_carry_any_bytes() -> None:
    for data in (
        b"",
        b'{"query": "query { referrals(box: INBOX, first: 50) { edges { node { id } } } }"}',
        b'quote " backslash \\ newline \n tab \t ]] [[ nul \x00',
        "Phnom Penh, ភ្នំពេញ".encode(),
        bytes(range(256)),
    ):
        assert unlua(lua_string(data)) == data


def test_script_posts_the_body_with_the_headers_and_checks_answers() -> None:
    body, answer = b'{"query": "{ x }"}', b'{"data":{"x":1}}'
    script = lua_script(
        body, {"Content-Type": "application/json", "Authorization": "Bearer a.b.c"}, 200, answer
    )
    assert 'wrk.method = "POST"' in script
    assert f"wrk.body = {lua_string(body)}" in script
    assert 'wrk.headers["Authorization"] = "Bearer a.b.c"' in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script
    assert "local expect_status = 200" in script
    assert f"local expect = {lua_string(answer)}" in script
    assert "function response(" in script
    assert "bad answers: %d" in script


def test_inbox_asks_for_wrk_when_it_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty directory: no wrk on it
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "inbox.py"), "--load", "wrk"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "wrk not found: apt-get install wrk" in done.stderr


# --- with the real wrk, when it is installed ------------------------------------------------

ANSWER = b'{"data":{"referrals":{"edges":[]}}}'


class Answering(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, bytes]] = []
    wrong_every = 0  # every n-th answer differs (0: none)
    count = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Answering.count += 1
        if len(Answering.seen) < 3:
            Answering.seen.append((self.headers["Authorization"], self.path, body))
        wrong = Answering.wrong_every and Answering.count % Answering.wrong_every == 0
        answer = ANSWER.replace(b"[]", b"[1]") if wrong else ANSWER
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Answering.seen, Answering.count, Answering.wrong_every = [], 0, 0
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/graphql"
    finally:
        httpd.shutdown()
        httpd.server_close()


# CI installs Debian's wrk (.ci/run): there a missing binary fails these tests, not skips them.
needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None and not os.environ.get("CI"), reason="wrk is not installed"
)


def drive(url: str) -> wrkload.WrkRun:
    return wrkload.run(
        url,
        b'{"query": "{ x }"}',
        {"Content-Type": "application/json", "Authorization": "Bearer t\"o'k"},
        200,
        ANSWER,
        connections=2,
        duration=1,
        server_pid=os.getpid(),
        cores=os.sched_getaffinity(0),
        wrk=shutil.which("wrk") or "wrk",
    )


@needs_wrk
def test_real_wrk_posts_and_finds_every_answer_right(server: str) -> None:
    run = drive(server)
    assert Answering.seen[0] == ("Bearer t\"o'k", "/graphql", b'{"query": "{ x }"}')
    assert run.report.requests > 0
    assert run.report.bad_answers == 0
    assert run.failures == 0 and run.report.problems() == ""
    assert run.cpu > 0 and run.load_cpu > 0


@needs_wrk
def test_real_wrk_counts_wrong_answers(server: str) -> None:
    Answering.wrong_every = 5
    run = drive(server)
    assert run.report.requests >= 5
    # Every fifth answer the server sent differed; wrk saw all but those still in flight.
    bad = run.report.bad_answers
    assert bad is not None and run.report.requests // 5 - 2 <= bad <= Answering.count // 5
    assert bad >= 1 and run.failures == bad
    assert "answers other than the checked one" in run.report.problems()

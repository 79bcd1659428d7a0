"""Reading wrk's figures: the JSON line bench/post.lua prints among wrk's own text."""

from __future__ import annotations

import pytest

from bench.wrk import INSTALL_HINT, WrkFailed, WrkMissing, ensure_wrk, parse_output

WRK_STDOUT = """Running 3s test @ http://127.0.0.1:8101/v1/contacts
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    27.10ms   10.02ms 120.50ms   80.00%
  3600 requests in 3.00s, 1.20MB read
  Non-2xx or 3xx responses: 12
Requests/sec:   1200.00
Transfer/sec:    409.60KB
WRK_JSON {"requests": 3600, "duration_us": 3000000, "bytes": 1258291, "non_2xx": 12, \
"errors": {"connect": 0, "read": 2, "write": 0, "status": 12, "timeout": 1}, \
"latency_us": {"mean": 27100.5, "max": 120500, "p50": 25000, "p90": 40000, "p99": 90000}}
"""


def test_the_figures_come_from_the_json_line() -> None:
    result = parse_output(WRK_STDOUT)

    assert result.requests == 3600
    assert result.seconds == 3.0
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (25.0, 40.0, 90.0)
    assert result.max_ms == 120.5


def test_answers_that_are_not_2xx_are_failures_and_not_throughput() -> None:
    result = parse_output(WRK_STDOUT)

    assert result.non_2xx == 12
    assert result.ok == 3588
    assert result.rate == 3588 / 3.0


def test_socket_errors_and_timeouts_count_as_failures_once() -> None:
    # wrk's errors.status repeats the non-2xx answers; it must not count twice.
    result = parse_output(WRK_STDOUT)

    assert result.socket_errors == 3
    assert result.failures == 12 + 3


def test_output_without_the_json_line_is_an_error_showing_what_wrk_said() -> None:
    with pytest.raises(WrkFailed, match="unable to connect"):
        parse_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_install_hint_names_the_package_for_debian_and_the_source() -> None:
    assert "apt-get install wrk" in INSTALL_HINT
    assert "github.com/wg/wrk" in INSTALL_HINT


def test_without_wrk_and_without_the_right_to_install_it_the_bench_says_how(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bench.wrk.shutil.which", lambda name: None)
    monkeypatch.setattr("bench.wrk.os.geteuid", lambda: 1000)

    with pytest.raises(WrkMissing, match="apt-get install wrk"):
        ensure_wrk()

"""Access log sinks: file contents after flush and close, the loop timer, stdout/stderr, config errors."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.accesslog import build_access_logs, close_all, reopen_all
from gateway.accesslog import sink as sink_module
from gateway.accesslog.writer import LogFile, Writer
from gateway.config.model import AccessLog as AccessLogConfig
from gateway.config.model import FileAccessLog, StderrAccessLog, StdoutAccessLog, SubstitutionFormatString
from gateway.core.errors import ConfigError
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import ConnectionInfo, StreamInfo


def request(path: str, code: int) -> StreamInfo:
    info = StreamInfo(ConnectionInfo(1, ("192.0.2.1", 40000), ("127.0.0.1", 80)), start_time=1700000000.25)
    info.request_headers = HeaderMap([(b":method", b"GET"), (b":path", path.encode()), (b":authority", b"a.test")])
    info.response_code = code
    info.bytes_sent = 11
    info.end_monotonic = info.start_monotonic + 0.0075
    return info


def file_log(path: Path, fmt: SubstitutionFormatString | None = None) -> AccessLogConfig:
    return AccessLogConfig("envoy.access_loggers.file", FileAccessLog(str(path), fmt))


def test_default_format_lines_land_in_the_file_on_close(tmp_path: Path) -> None:
    target = tmp_path / "access.log"
    (log,) = build_access_logs([file_log(target)])
    log.log(request("/a", 200))
    log.log(request("/b", 503))
    log.close()
    assert target.read_text().splitlines() == [
        '[2023-11-14T22:13:20.250Z] "GET /a HTTP/1.1" 200 - 0 11 7 - "-" "-" "-" "a.test" "-"',
        '[2023-11-14T22:13:20.250Z] "GET /b HTTP/1.1" 503 - 0 11 7 - "-" "-" "-" "a.test" "-"',
    ]
    log.close()  # idempotent
    log.log(request("/c", 200))  # after close: dropped, not an error
    assert len(target.read_text().splitlines()) == 2


def test_file_is_appended_to(tmp_path: Path) -> None:
    target = tmp_path / "access.log"
    target.write_text("earlier line\n")
    (log,) = build_access_logs([file_log(target, SubstitutionFormatString(text_format="%REQ(:PATH)%\n"))])
    log.log(request("/x", 200))
    log.close()
    assert target.read_text() == "earlier line\n/x\n"


async def test_lines_are_buffered_then_flushed_by_the_loop_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sink_module, "FLUSH_INTERVAL_S", 0.05)
    target = tmp_path / "access.log"
    (log,) = build_access_logs([file_log(target, SubstitutionFormatString(text_format="%RESPONSE_CODE%\n"))])
    try:
        log.log(request("/", 200))
        assert target.read_text() == ""  # nothing written from inside the request path
        for _ in range(100):
            await asyncio.sleep(0.02)
            if target.read_text():
                break
        assert target.read_text() == "200\n"
    finally:
        log.close()


def test_a_large_burst_is_handed_over_before_the_timer(tmp_path: Path) -> None:
    target = tmp_path / "access.log"
    (log,) = build_access_logs([file_log(target, SubstitutionFormatString(text_format="%REQ(:PATH)%\n"))])
    long_path = "/" + "p" * 1000
    for _ in range(80):  # > 64 KiB
        log.log(request(long_path, 200))
    log.close()
    assert target.read_text() == (long_path + "\n") * 80


def test_json_format_with_omit_empty_values(tmp_path: Path) -> None:
    target = tmp_path / "access.json"
    fmt = SubstitutionFormatString(
        json_format={"code": "%RESPONSE_CODE%", "path": "%REQ(:PATH)%", "upstream": "%UPSTREAM_HOST%"},
        omit_empty_values=True,
    )
    (log,) = build_access_logs([file_log(target, fmt)])
    log.log(request("/j", 404))
    log.close()
    assert [json.loads(line) for line in target.read_text().splitlines()] == [{"code": 404, "path": "/j"}]


def test_stdout_and_stderr_sinks_write_to_the_process_streams() -> None:
    script = textwrap.dedent(
        """
        from gateway.accesslog import build_access_logs, close_all, reopen_all
        from gateway.config.model import AccessLog, StderrAccessLog, StdoutAccessLog, SubstitutionFormatString
        from gateway.core.stream_info import ConnectionInfo, StreamInfo

        info = StreamInfo(ConnectionInfo(1, ("192.0.2.1", 40000), ("127.0.0.1", 80)), response_code=204)
        out = StdoutAccessLog(SubstitutionFormatString("out %RESPONSE_CODE%\\n"))
        err = StderrAccessLog(SubstitutionFormatString("err %CONNECTION_ID%\\n"))
        logs = build_access_logs([AccessLog("stdout", out), AccessLog("stderr", err)])
        for log in logs:
            log.log(info)
        close_all(logs)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert (done.stdout, done.stderr) == ("out 204\n", "err 1\n")


def test_bad_format_is_a_config_error_with_its_path(tmp_path: Path) -> None:
    configs = [
        file_log(tmp_path / "ok.log"),
        AccessLogConfig("envoy.access_loggers.stdout", StdoutAccessLog(SubstitutionFormatString("%BOGUS%"))),
    ]
    with pytest.raises(ConfigError) as excinfo:
        build_access_logs(configs, "static_resources.listeners[0].access_log")
    assert excinfo.value.path == "static_resources.listeners[0].access_log[1].typed_config.log_format"
    assert "unknown command %BOGUS%" in str(excinfo.value)


def test_unwritable_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"access_log\[0\]\.typed_config\.path: cannot open access log"):
        build_access_logs([file_log(tmp_path / "missing-dir" / "a.log")])


def test_close_all(tmp_path: Path) -> None:
    logs = build_access_logs(
        [file_log(tmp_path / "1.log"), AccessLogConfig("envoy.access_loggers.stderr", StderrAccessLog())]
    )
    logs[0].log(request("/1", 200))
    close_all(logs)
    assert "/1" in (tmp_path / "1.log").read_text()


def test_a_failed_write_is_reported_and_the_writer_keeps_going(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = Writer()
    read_end, write_end = os.pipe()
    os.close(read_end)  # writing to a pipe nobody reads: EPIPE
    target = tmp_path / "after.log"
    file = LogFile.open(str(target))
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.accesslog.writer"):
            writer.submit(LogFile("pipe", write_end), b"lost line\n")
            writer.submit(file, b"kept line\n")
            assert writer.drain()
        assert "access log write failed (pipe)" in caplog.text and "10 bytes lost" in caplog.text
        assert target.read_text() == "kept line\n"
    finally:
        os.close(write_end)
        file.close()


def test_reopen_after_rotation(tmp_path: Path) -> None:
    target = tmp_path / "access.log"
    (log,) = build_access_logs([file_log(target, SubstitutionFormatString(text_format="%REQ(:PATH)%\n"))])
    log.log(request("/before", 200))
    target.rename(tmp_path / "access.log.1")  # what logrotate does before signalling
    log.log(request("/buffered", 200))
    reopen_all([log])
    log.log(request("/after", 200))
    log.close()
    assert (tmp_path / "access.log.1").read_text() == "/before\n/buffered\n"
    assert target.read_text() == "/after\n"

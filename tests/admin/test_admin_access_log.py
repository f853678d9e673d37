"""The admin's own access log: ``admin.access_log`` and the deprecated ``admin.access_log_path``."""

from __future__ import annotations

from pathlib import Path

from gateway.admin import AdminServer, build_admin_access_logs
from gateway.admin.routes import HELP
from gateway.config.model import AccessLog, Admin, FileAccessLog, SubstitutionFormatString

from .helpers import FakeServer, request


async def test_admin_requests_are_logged(tmp_path: Path, fake: FakeServer) -> None:
    custom = tmp_path / "admin.log"
    legacy = tmp_path / "legacy.log"
    fmt = SubstitutionFormatString("%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %BYTES_SENT% %PROTOCOL%\n")
    admin = Admin(
        access_log=(AccessLog("envoy.access_loggers.file", FileAccessLog(str(custom), fmt)),),
        access_log_path=str(legacy),
    )
    server = AdminServer(fake, build_admin_access_logs(admin))
    _, port = await server.start("127.0.0.1", 0)
    try:
        await request(port, "GET", "/ready")
        await request(port, "GET", "/missing?x=1")
        await request(port, "POST", "/healthcheck/fail")
    finally:
        await server.stop()  # flushes and closes the logs
    assert custom.read_text().splitlines() == [
        "GET /ready 200 5 HTTP/1.1",
        f"GET /missing?x=1 404 {len(('invalid path. ' + HELP).encode())} HTTP/1.1",
        "POST /healthcheck/fail 200 3 HTTP/1.1",
    ]
    legacy_lines = legacy.read_text().splitlines()
    assert len(legacy_lines) == 3
    assert '"GET /ready HTTP/1.1" 200 - 0 5 ' in legacy_lines[0]

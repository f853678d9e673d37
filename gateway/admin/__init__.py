"""The admin listener: Envoy's admin endpoints over HTTP/1.1, reading the server through ``AdminContext``.

server = AdminServer(ctx, build_admin_access_logs(bootstrap.admin), codec_factory=...)
host, port = await server.start(address, port)
...
await server.stop()
"""

from gateway.admin.context import AdminContext, ListenerInfo
from gateway.admin.server import AdminServer, build_admin_access_logs
from gateway.stats.server import ServerState

__all__ = ["AdminContext", "AdminServer", "ListenerInfo", "ServerState", "build_admin_access_logs"]

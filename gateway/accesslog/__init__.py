"""Access logs: ``envoy.access_loggers.file`` / ``stdout`` / ``stderr`` with Envoy's formats.

    logs = build_access_logs(hcm.access_log, "static_resources.listeners[0]...access_log")  # config time
    for log in logs: log.log(stream_info)                                                    # stream end
    reopen_all(logs)                                                                         # SIGUSR1
    close_all(logs)                                                                          # shutdown

Lines are buffered and written by a background thread about once a second and at ``close``.
"""

from gateway.accesslog.access_log import AccessLog, build_access_logs, close_all, reopen_all

__all__ = ["AccessLog", "build_access_logs", "close_all", "reopen_all"]

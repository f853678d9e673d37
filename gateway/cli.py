"""The ``gateway`` command: Envoy's flags, and ``gateway plugin ...`` for plugin developers."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

LOG_LEVELS = ("trace", "debug", "info", "warning", "warn", "error", "critical", "off")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="An Envoy-style proxy with proxy-wasm plugins. Reads Envoy v3 config."
    )
    parser.add_argument("-c", "--config-path", help="config file (YAML or JSON)")
    parser.add_argument("--config-yaml", help="YAML merged over the config file (proto merge semantics)")
    parser.add_argument("--mode", choices=("serve", "validate"), default="serve")
    parser.add_argument("-l", "--log-level", choices=LOG_LEVELS, default="info")
    parser.add_argument("--drain-time-s", type=float, default=5.0, help="how long in-flight requests may finish")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="worker count (one worker runs today; see the warning)"
    )
    parser.add_argument(
        "--http1-codec", choices=("httptools", "h11"), default="httptools", help="HTTP/1.1 parser backend"
    )
    return parser


def configure_logging(level: str) -> None:
    mapping = {"trace": logging.DEBUG, "warn": logging.WARNING, "off": logging.CRITICAL + 10}
    logging.basicConfig(
        level=mapping.get(level, getattr(logging, level.upper(), logging.INFO)),
        format="[%(asctime)s][%(process)d][%(levelname)s][%(name)s] %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["plugin"]:
        from gateway.plugin_cli import main as plugin_main

        return plugin_main(args_list[1:])
    args = build_parser().parse_args(args_list)
    configure_logging(args.log_level)
    if not args.config_path and not args.config_yaml:
        print("gateway: one of -c/--config-path or --config-yaml is required", file=sys.stderr)
        return 1
    if args.concurrency != 1:
        logging.getLogger("gateway").warning(
            "--concurrency %d: this version runs one worker; for more cores, run several gateway processes on "
            "the same config (listeners bind with SO_REUSEPORT)",
            args.concurrency,
        )

    from gateway.server.options import ServerOptions

    options = ServerOptions(
        config_path=args.config_path,
        config_yaml=args.config_yaml,
        drain_time_s=args.drain_time_s,
        http1_codec=args.http1_codec,
        log_level=args.log_level,
        command_line=["gateway", *args_list],
    )
    if args.mode == "validate":
        from gateway.server.validate import validate

        return validate(options)
    from gateway.server.run import serve

    return serve(options)

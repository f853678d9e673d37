"""``--mode validate``: load and build everything as serving would, but bind no socket and resolve no name."""

from __future__ import annotations

import asyncio
import sys

from gateway.config import load_bootstrap
from gateway.config.errors import ConfigErrors
from gateway.server.build import build
from gateway.server.options import ServerOptions


def validate(options: ServerOptions) -> int:
    try:
        bootstrap = load_bootstrap(options.config_path, options.config_yaml)
        loop = asyncio.new_event_loop()
        try:
            build(bootstrap, loop, options.http1_codec, validate_only=True)
        finally:
            loop.close()
    except ConfigErrors as e:
        for error in e.errors:
            print(f"error: {error}", file=sys.stderr)
        print(f"{len(e.errors)} error(s) in {options.config_path or '--config-yaml'}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print("OK")
    return 0

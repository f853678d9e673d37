"""The clocks the per-request path reads, bound once.

In the compiled build (gateway/native.py) ``time.monotonic()`` looks the function up on the ``time`` module at
every call; a ``Final`` name bound here is a static load instead.
"""

from __future__ import annotations

import time
from typing import Final

monotonic: Final = time.monotonic
wall: Final = time.time

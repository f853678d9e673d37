"""The VM whose guest code runs on this thread (host functions find their VM here).

A module of its own so that it stays plain Python in the compiled build: mypyc cannot compile a subclass of
`threading.local` (a native one crashes, a non-native one does not build)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from abi.vm import Vm


class Current(threading.local):
    """A one-item list per thread: storing into the list costs a fraction of setting an attribute of a
    thread-local."""

    def __init__(self) -> None:
        self.vm: list[Vm | None] = [None]


current = Current()

"""WASI preview1 as the C++ host offers it (reference §15), under both `wasi_snapshot_preview1` and
`wasi_unstable`: stdout/stderr become log lines, clocks/random/environment/args work, `proc_exit` only
logs, and the file system and sockets are denied with the reference host's errno values."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from typing import Any

from abi.context import AbiState
from abi.exports.base import wasi
from abi.types import LogLevel
from abi.vm import HostFunction

SUCCESS, BADF, EXIST, INVAL, NOENT, NOSYS, NOTSUP = 0, 8, 20, 28, 44, 52, 58
_STDIO = (1, 2)
_IOVEC = struct.Struct("<II")


def _gather(state: AbiState, iovs: int, count: int) -> bytes:
    memory = state.memory
    table = memory.read(iovs, 8 * count)
    return b"".join(memory.read(ptr, size) for ptr, size in _IOVEC.iter_unpack(table))


def _write(state: AbiState, fd: int, iovs: int, count: int, written_out: int) -> int:
    if fd not in _STDIO:
        return BADF
    data = _gather(state, iovs, count)
    text = data[:-1] if data.endswith(b"\n") else data
    state.log(LogLevel.INFO if fd == 1 else LogLevel.ERROR, text.decode("utf-8", "replace"))
    state.memory.write_u32(written_out, len(data))
    return SUCCESS


def fd_write(state: AbiState, fd: int, iovs: int, count: int, written_out: int) -> int:
    return _write(state, fd, iovs, count, written_out)


def fd_pwrite(state: AbiState, fd: int, iovs: int, count: int, offset: int, written_out: int) -> int:
    return _write(state, fd, iovs, count, written_out)


def fd_fdstat_get(state: AbiState, fd: int, out: int) -> int:
    if fd not in _STDIO:
        return BADF
    state.memory.write(out, struct.pack("<QQQ", 0, 64, 0))  # filetype unknown, rights FD_WRITE
    return SUCCESS


def fd_tell(state: AbiState, fd: int, out: int) -> int:
    if fd not in _STDIO:
        return BADF
    state.memory.write_u64(out, 0)
    return SUCCESS


def fd_renumber(state: AbiState, fd: int, to: int) -> int:
    return NOTSUP if fd in _STDIO and to in _STDIO else BADF


def fd_readdir(state: AbiState, fd: int, buf: int, size: int, cookie: int, out: int) -> int:
    state.memory.write_u32(out, 0)
    return EXIST  # the reference host's value (its comment says ENOTDIR)


def environ_sizes_get(state: AbiState, count_out: int, size_out: int) -> int:
    entries = state.environ_entries()
    state.memory.write_u32(count_out, len(entries))
    state.memory.write_u32(size_out, sum(len(e) for e in entries))
    return SUCCESS


def environ_get(state: AbiState, pointers_out: int, buf_out: int) -> int:
    memory = state.memory
    for i, entry in enumerate(state.environ_entries()):
        memory.write_u32(pointers_out + 4 * i, buf_out)
        memory.write(buf_out, entry)
        buf_out += len(entry)
    return SUCCESS


def args_sizes_get(state: AbiState, argc_out: int, size_out: int) -> int:
    state.memory.write_u32(argc_out, 0)
    state.memory.write_u32(size_out, 0)
    return SUCCESS


def clock_time_get(state: AbiState, clock_id: int, precision: int, out: int) -> int:
    host = state.plugin_host()
    if clock_id == 0:
        state.memory.write_u64(out, host.wall_time_ns())
    elif clock_id == 1:
        state.memory.write_u64(out, host.monotonic_ns())
    else:
        return NOTSUP
    return SUCCESS


def clock_res_get(state: AbiState, clock_id: int, out: int) -> int:
    if clock_id > 1:
        return NOTSUP
    state.memory.write_u64(out, 1)
    return SUCCESS


def random_get(state: AbiState, buf: int, size: int) -> int:
    if size > state.limits.max_random_bytes:
        return INVAL
    if size:
        state.memory.write(buf, os.urandom(size))
    return SUCCESS


def poll_oneoff(state: AbiState, subscriptions: int, events: int, count: int, nevents_out: int) -> int:
    state.memory.write_u32(nevents_out, 0)  # never sleeps; Go's runtime needs SUCCESS here
    return SUCCESS


def proc_exit(state: AbiState, code: int) -> None:
    state.log(LogLevel.ERROR, f"proc_exit({code}) called; ignored")


def _answer(value: int, *zero_outs: int) -> Callable[..., int]:
    """A stub that returns `value`, first writing u32 zeros to the argument positions in `zero_outs`."""

    def stub(state: AbiState, *args: int) -> int:
        for position in zero_outs:
            state.memory.write_u32(args[position], 0)
        return value

    return stub


def _stdio_only(state: AbiState, fd: int, *rest: int) -> int:
    return SUCCESS if fd in _STDIO else BADF


def _success(state: AbiState, *args: int) -> int:
    return SUCCESS


def _table() -> list[tuple[str, str, Callable[..., Any], str]]:
    table: list[tuple[str, str, Callable[..., Any], str]] = [
        ("fd_write", "iiii", fd_write, "i"),
        ("fd_pwrite", "iiiIi", fd_pwrite, "i"),
        ("fd_read", "iiii", _answer(NOSYS), "i"),
        ("fd_pread", "iiiIi", _answer(NOSYS), "i"),
        ("fd_seek", "iIii", _success, "i"),
        ("fd_close", "i", _success, "i"),
        ("fd_fdstat_get", "ii", fd_fdstat_get, "i"),
        ("fd_fdstat_set_flags", "ii", _answer(NOSYS), "i"),
        ("fd_fdstat_set_rights", "iII", _stdio_only, "i"),
        ("fd_prestat_get", "ii", _answer(BADF), "i"),
        ("fd_prestat_dir_name", "iii", _answer(NOSYS), "i"),
        ("fd_filestat_get", "ii", _answer(BADF), "i"),
        ("fd_filestat_set_size", "iI", _stdio_only, "i"),
        ("fd_filestat_set_times", "iIIi", _stdio_only, "i"),
        ("fd_advise", "iIIi", _success, "i"),
        ("fd_allocate", "iII", _stdio_only, "i"),
        ("fd_datasync", "i", _stdio_only, "i"),
        ("fd_sync", "i", _stdio_only, "i"),
        ("fd_readdir", "iiiIi", fd_readdir, "i"),
        ("fd_renumber", "ii", fd_renumber, "i"),
        ("fd_tell", "ii", fd_tell, "i"),
        ("path_open", "iiiiiIIii", _answer(NOENT), "i"),
        ("path_create_directory", "iii", _answer(NOTSUP), "i"),
        ("path_remove_directory", "iii", _answer(NOTSUP), "i"),
        ("path_unlink_file", "iii", _answer(NOTSUP), "i"),
        ("path_filestat_get", "iiiii", _answer(NOTSUP), "i"),
        ("path_filestat_set_times", "iiiiIIi", _answer(NOTSUP), "i"),
        ("path_link", "iiiiiii", _answer(NOTSUP), "i"),
        ("path_readlink", "iiiiii", _answer(NOTSUP, 5), "i"),
        ("path_rename", "iiiiii", _answer(NOTSUP), "i"),
        ("path_symlink", "iiiii", _answer(NOTSUP), "i"),
        ("sock_accept", "iii", _answer(NOTSUP, 2), "i"),
        ("sock_recv", "iiiiii", _answer(NOTSUP, 4, 5), "i"),
        ("sock_send", "iiiii", _answer(NOTSUP, 4), "i"),
        ("sock_shutdown", "ii", _answer(NOTSUP), "i"),
        ("environ_sizes_get", "ii", environ_sizes_get, "i"),
        ("environ_get", "ii", environ_get, "i"),
        ("args_sizes_get", "ii", args_sizes_get, "i"),
        ("args_get", "ii", _success, "i"),
        ("clock_time_get", "iIi", clock_time_get, "i"),
        ("clock_res_get", "ii", clock_res_get, "i"),
        ("random_get", "ii", random_get, "i"),
        ("sched_yield", "", _success, "i"),
        ("poll_oneoff", "iiii", poll_oneoff, "i"),
        ("proc_exit", "i", proc_exit, ""),
    ]
    return table


FUNCTIONS: list[HostFunction] = [
    fn for name, params, impl, results in _table() for fn in wasi(name, params, impl, results)
]

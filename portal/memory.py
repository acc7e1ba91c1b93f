"""Giving a worker's freed memory back to the system, where the C library allows it.

A worker that has cleaned a report's photos decoded tens of megabytes of pixels, on threads of its
own. Python frees them, but glibc keeps freed memory in its arenas (one per thread that allocated,
up to eight per core) for reuse, so the worker's resident size stays near its highest ever, however
little it holds. A worker that had taken four reports with two 4 MB photos each kept 52 MB more than
before them; with two arenas and a trim after each report's photos, 32 MB (mostly the image
libraries, loaded once). Elsewhere (musl, macOS) both are skipped.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)
_M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
# Two arenas: threads share them rather than each keeping one of its own; contention stays low,
# since the threads of a worker spend their time in SQL, templates and Pillow, not in malloc.
ARENAS = 2


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


_LIBC = _libc()


def limit_arenas() -> None:
    """Let this process's threads share ``ARENAS`` malloc arenas (called in each server worker)."""
    if _LIBC is not None and not _LIBC.mallopt(_M_ARENA_MAX, ARENAS):
        log.warning("mallopt(M_ARENA_MAX) refused")


def release_freed_memory() -> None:
    """Return the C library's free memory to the system (after decoding photos, say)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)

"""Opening feed files: split archive parts as one stream, gzip sniffed from content, bounded chunks.

readsb writes gzip even into files named .json, so compression is decided by the magic bytes,
never by the name. Decompression errors become ReaderError with a reason the caller can count.
"""

from __future__ import annotations

import io
import queue
import re
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from isrwatch.sources._base import ReaderError

try:  # Intel ISA-L inflates gzip 2-3x faster than zlib, with the same API
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _inflate = zlib  # type: ignore[assignment]

T = TypeVar("T")
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
CHUNK = 4 << 20  # decompressed bytes per chunk: big enough for native parsers, small enough to bound memory
_PART = re.compile(r"^(?P<stem>.+\.tar)\.(?P<suffix>[a-z]{2})$")


def split_parts(path: Path) -> list[Path]:
    """All parts of a split archive (x.tar.aa, x.tar.ab, ...) in order; else just [path].

    Any one part names the whole archive, so reading x.tar.ab still starts at x.tar.aa.
    """
    m = _PART.match(path.name)
    if not m:
        return [path]
    stem = m.group("stem")
    parts = sorted(p for p in path.parent.glob(stem + ".??") if _PART.match(p.name))
    return parts or [path]


def display_name(path: Path) -> str:
    """The name a feed goes by: a split archive is named without its part suffix."""
    m = _PART.match(path.name)
    return m.group("stem") if m else path.name


class ConcatReader(io.RawIOBase):
    """Several files read back to back as one stream (split archive parts)."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = list(paths)
        self._fh: BinaryIO | None = None
        self._next = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        while True:
            if self._fh is None:
                if self._next >= len(self._paths):
                    return 0
                self._fh = open(self._paths[self._next], "rb")  # noqa: SIM115 - closed below
                self._next += 1
            n = self._fh.readinto(buf)
            if n:
                return n
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        super().close()


def open_raw(path: Path) -> BinaryIO:
    """The file's bytes as stored (split parts concatenated); ReaderError when absent."""
    parts = split_parts(path)
    for p in parts:
        if not p.is_file():
            raise ReaderError("not_found", f"no such file: {p}")
    if len(parts) > 1:
        # parts are named aa, ab, ..., az, ba, ...: a gap means a part is missing
        want = [chr(97 + i // 26) + chr(97 + i % 26) for i in range(len(parts))]
        have = [p.name[-2:] for p in parts]
        if have != want:
            missing = next(w for w, h in zip(want, have) if w != h)
            raise ReaderError("missing_part", f"{display_name(path)}: part .{missing} is missing")
    if len(parts) == 1:
        return open(parts[0], "rb")  # noqa: SIM115 - the caller closes it
    return io.BufferedReader(ConcatReader(parts), buffer_size=1 << 20)


def raw_head(path: Path, n: int = 512) -> bytes:
    with open_raw(path) as fh:
        return fh.read(n)


def _gunzip(fh, size: int) -> Iterator[bytes]:
    """Decompress gzip (several members allowed) from fh; raise ReaderError when damaged."""
    dec = _inflate.decompressobj(zlib.MAX_WBITS | 16)
    in_member = False  # a member has started and its end marker has not been seen yet
    read_block = max(min(size // 8, 4 << 20), 1 << 16)
    pending: list[bytes] = []
    have = 0
    fed = 0
    trailing = False
    while not trailing:
        block = fh.read(read_block)
        if not block:
            break
        fed += len(block)
        while block:
            in_member = True
            try:
                out = dec.decompress(block)
            except (zlib.error, _inflate.error) as exc:
                if pending:
                    yield b"".join(pending)
                raise ReaderError("bad_gzip", f"corrupt gzip data near compressed byte {fed}: {exc}") from None
            if out:
                pending.append(out)
                have += len(out)
            if dec.eof:
                # another gzip member may follow (concatenated .gz files are valid gzip)
                block = dec.unused_data
                dec = _inflate.decompressobj(zlib.MAX_WBITS | 16)
                in_member = False
                if block and block[:2] != GZIP_MAGIC:
                    trailing = True  # padding after the last member: gzip tools ignore it too
                    break
            else:
                block = b""
        if have >= size:
            yield b"".join(pending)
            pending, have = [], 0
    if pending:
        yield b"".join(pending)
    if in_member:
        raise ReaderError(
            "truncated_gzip", f"gzip stream ends before its end marker (after {fed} compressed bytes)"
        )


def chunks(path: Path, size: int | None = None) -> Iterator[bytes]:
    """Decompressed content of path in chunks of about `size` bytes (gzip sniffed by magic)."""
    size = size or CHUNK
    with open_raw(path) as fh:
        head = fh.read(2)
        if head == GZIP_MAGIC:
            yield from _gunzip(_Prepend(head, fh), size)
            return
        if size >= 1 << 40:  # "everything at once"
            yield head + fh.read()
            return
        first = head + fh.read(size)
        while first:
            yield first
            first = fh.read(size)


class _Prepend(io.RawIOBase):
    """fh with some bytes already read put back in front."""

    def __init__(self, head: bytes, fh: BinaryIO) -> None:
        self._head = head
        self._fh = fh

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        if self._head:
            h, self._head = self._head, b""
            if n is None or n < 0:
                return h + self._fh.read()
            return h + (self._fh.read(n - len(h)) if n > len(h) else b"")
        return self._fh.read(n)


def read_all(path: Path) -> tuple[bytes, ReaderError | None]:
    """Whole decompressed content, and the error that cut it short (None when intact)."""
    out: list[bytes] = []
    try:
        for c in chunks(path, size=1 << 62):
            out.append(c)
    except ReaderError as exc:
        return b"".join(out), exc
    return b"".join(out), None


def head(path: Path, n: int = 1 << 16) -> bytes:
    """The first n decompressed bytes (damage later in the file is ignored here)."""
    got: list[bytes] = []
    have = 0
    try:
        for c in chunks(path, size=n):
            got.append(c)
            have += len(c)
            if have >= n:
                break
    except ReaderError:
        pass
    return b"".join(got)[:n]


def gunzip_bytes(data: bytes) -> tuple[bytes, ReaderError | None]:
    """Decompress an in-memory gzip blob (tar members); returns what was readable and the error."""
    out: list[bytes] = []
    try:
        for c in _gunzip(io.BytesIO(data), 1 << 62):
            out.append(c)
    except ReaderError as exc:
        return b"".join(out), exc
    return b"".join(out), None


def prefetch(it: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Run `it` in a helper thread so its work overlaps the consumer's (zlib drops the GIL).

    Items, the end and any exception arrive in order; when the consumer stops early the
    helper is told to stop and is waited for, so files it reads can be closed safely after.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in it:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    t = threading.Thread(target=work, name="isrwatch-prefetch", daemon=True)
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "item":
                yield item
            elif kind == "end":
                return
            else:
                raise item
    finally:
        stop.set()
        t.join(timeout=10)

"""Large hostile uploads made on the fly (never held whole in the test), and this process's resident memory, for
the tests that parsing stays in bounded memory whatever a file's size or badness."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Callable, Iterator

MB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """Resident set size of this process now, in bytes (Linux /proc; `resource` only gives the peak)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


class RssWatch:
    """The highest RSS seen over `sample()` calls, against the RSS when made."""

    def __init__(self) -> None:
        self.baseline = self.peak = rss()

    def sample(self) -> None:
        self.peak = max(self.peak, rss())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def lines_of(header: bytes, row: Callable[[int], bytes], size: int) -> Iterator[bytes]:
    """The header, then rows `row(0)`, `row(1)`, … until `size` bytes have been produced."""
    produced = len(header)
    yield header
    n = 0
    while produced < size:
        line = row(n)
        produced += len(line)
        n += 1
        yield line


class GeneratedFile(io.RawIOBase):
    """A read-only binary file whose content is produced as it is read (`lines()` makes it from the start, so it
    can be rewound, as an upload spooled to disk can), sampling `watch` every 64 reads."""

    def __init__(self, lines: Callable[[], Iterator[bytes]], watch: RssWatch | None = None) -> None:
        self._make, self._watch, self._reads = lines, watch, 0
        self.seek(0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("only rewinding")
        self._lines, self._pending, self._position = self._make(), b"", 0
        return 0

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self._reads += 1
        if self._watch is not None and self._reads % 64 == 0:
            self._watch.sample()
        while len(self._pending) < len(buffer):
            line = next(self._lines, None)
            if line is None:
                break
            self._pending += line
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._position += n
        return n


async def chunks_of(
    lines: Iterator[bytes], watch: RssWatch | None = None, size: int = 64 * 1024
) -> AsyncIterator[bytes]:
    """The same content as an HTTP body arrives: chunks of about `size` bytes, sampling `watch` between them."""
    pending: list[bytes] = []
    held = 0
    for line in lines:
        pending.append(line)
        held += len(line)
        if held >= size:
            if watch is not None:
                watch.sample()
            yield b"".join(pending)
            pending, held = [], 0
    if pending:
        yield b"".join(pending)

"""Progress of long commands: a spinner on a terminal, plain timestamped lines anywhere else.

``jiaoban train … > log.txt`` (or a service's log) gets one line per step, ``2026-12-01 09:30:12 [2/5] …``, on
standard output, flushed as it happens.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TextIO

from models import clock
from training.cli.common import console


def stamped(message: str, now: datetime | None = None) -> str:
    """``message`` after the time, in the office's zone (``models.clock``) unless ``now`` is given."""
    return f"{now.strftime('%Y-%m-%d %H:%M:%S') if now else clock.stamp()} {message}"


@contextmanager
def progress(start: str, stream: TextIO | None = None) -> Iterator[Callable[[str], None]]:
    """A callable that shows each message: timestamped lines when ``stream`` (stdout) is not a terminal."""
    stream = stream or sys.stdout
    if stream.isatty() and console.is_terminal:
        with console.status(start) as status:
            yield lambda message: status.update(message)
        return

    def line(message: str) -> None:
        print(stamped(message), file=stream, flush=True)

    line(start)
    yield line

"""Reading a big file in a second process while this one stores what it hands over: on two cores, an import then
takes about as long as the reading alone.

The second process is a fork of this one (nothing to start or import, nothing in its argv, no file written: what
it reads it was given in memory, what it makes goes through a pipe). It runs `read` and sends what it yields in
batches; a pipe holds little, so when this process falls behind, the reading waits: memory stays flat. What the
reading refuses (ImportFailed) reaches this process after everything read before it, and is raised here as
itself, so a refusal is the one the reading in this process would have made, at the same point. Only this process
writes the record. Whatever ends the import (done, refused, an error while storing, the caller closing the
stream), the second process is gone when the stream is: stopped if it still runs, and waited for.

Why a fork, where the validation workers (sync/fhir/parse.py) are spawned: a spawned process starts an interpreter
and imports the importers (about 0.4 s of CPU, 40 % of parsing a 200k-sample export), a fork costs milliseconds.
A fork of a process with threads (the app's) copies locks other threads may hold, locked for ever in the copy; so
the reading done there takes none: the parser, the file, pickle and the pipe, nothing imported (a module's lock;
tests/importers/test_apple_health_in_child.py watches the imports), nothing logged, no collector run (below).
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import signal
from collections.abc import Callable, Generator, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from .errors import ImportFailed

__all__ = ["streamed_from_child"]

T = TypeVar("T")

# What a message from the second process is: more to come; the end; a refusal; a failure (a bug, not the file's).
_MORE, _DONE, _REFUSED, _FAILED = range(4)
_ENDED_EARLY = "The file could not be read to its end: the process reading it stopped."


def streamed_from_child(read: Callable[[], Iterator[T]], batch: int) -> Generator[T, None, None]:
    """What `read()` yields, read in a second process, `batch` items a message. Begins when first iterated."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_hand_over, args=(read, receiving, sending, batch), daemon=True)
    try:
        try:
            child.start()
        except OSError:  # no process to be had (the system's limit, its memory): read here, as without a core
            yield from read()
            return
        sending.close()  # the second process's end: when it is gone, reading here ends (EOFError)
        while True:
            try:
                what, items, *failure = pickle.loads(receiving.recv_bytes())
            except EOFError:
                raise ImportFailed(_ENDED_EARLY) from None
            yield from items
            if what == _DONE:
                child.join(timeout=10)
                return
            if what == _REFUSED:
                raise ImportFailed(failure[0], action=failure[1])
            if what == _FAILED:
                raise RuntimeError(f"Reading the file in a second process failed ({failure[0]}).")
    finally:
        sending.close()
        receiving.close()
        _stopped(child)


def _stopped(child: Any) -> None:
    """The second process stopped (when it still runs) and waited for, so that none is left behind."""
    if child.pid is None:  # never started
        return
    if child.is_alive():
        child.kill()
    child.join()
    child.close()


def _hand_over(read: Callable[[], Iterator[T]], receiving: Connection, sending: Connection, batch: int) -> None:
    """In the second process: what `read()` yields sent in batches, then how it ended. The batch read before a
    refusal goes with it, so this process sees all that came before (and any refusal it makes itself) first. An
    interrupt (Ctrl-C reaches the whole process group) is this process's to handle: it stops this one.

    The garbage collector is off here: what the fork copied (the open record among it) is never finalised in this
    process, only what the reading makes is freed, and that holds no cycles (memory stays flat: the benchmark)."""
    gc.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    receiving.close()
    items: list[T] = []
    try:
        try:
            for item in read():
                items.append(item)
                if len(items) >= batch:
                    sending.send_bytes(pickle.dumps((_MORE, items), pickle.HIGHEST_PROTOCOL))
                    items = []
            message: tuple[Any, ...] = (_DONE, items)
        except ImportFailed as exc:
            message = (_REFUSED, items, str(exc), exc.action)
        except Exception as exc:  # a bug: its kind only (its text may quote the file)
            message = (_FAILED, items, type(exc).__name__)
        sending.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
    except OSError:  # this process's end is closed: the import has ended, nobody reads any more
        pass
    finally:
        sending.close()

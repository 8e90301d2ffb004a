"""Work spread over forked processes, results in order: how a large import plan or
reconciliation batch uses every core.

`ordered_map(function, items, processes)` forks `processes` children, which inherit the
caller's state as it is at the fork (the import pass, with its settings and caches), gives
them the items in turn and yields `function(item)` for each item, in the items' order, while
the caller goes on reading the next items. Children are forked with `os.fork` rather than
through `multiprocessing`, whose processes cannot be started from a Celery worker's pool
process (a daemon).

Database connections are not shared across a fork: the caller's connections are closed
before it (so the caller must not be inside a transaction, whose rows the children could not
see anyway), and each child makes connection objects of its own, so that it never uses one
the caller left open (a test runner's, another thread's). A child that fails sends its
traceback, which is raised in the caller as ChildFailed; a child that dies (killed, out of
memory) is reported the same way; the children of a caller that stops early, or dies, end
too.
"""

import contextlib
import os
import queue
import signal
import threading
import traceback
from multiprocessing.connection import Pipe

from django.db import connections

# Items a child holds at most beside the one it works on: enough that it never waits for the
# caller, few enough to bound the memory of items on their way.
AHEAD = 2


class ChildFailed(Exception):
    """A child process raised an error or died."""


def available():
    return hasattr(os, "fork")


def ordered_map(function, items, processes):
    """Yield function(item) for every item, in order, computed in `processes` forked children."""
    connections.close_all()
    children = []
    finished = False
    try:
        for _ in range(processes):
            children.append(_fork(function, siblings=[conn for _, conn in children]))
        yield from _run(children, items)
        finished = True
    finally:
        for pid, conn in children:
            conn.close()  # a child that is done ends when it sees this
            if not finished:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _run(children, items):
    outstanding = []  # (child) of each item sent and not yet answered, in item order
    limit = len(children) * (AHEAD + 1)
    for number, item in enumerate(items):
        if len(outstanding) >= limit:
            yield _receive(outstanding.pop(0))
        child = children[number % len(children)]
        child[1].send(item)
        outstanding.append(child)
    while outstanding:
        yield _receive(outstanding.pop(0))


def _receive(child):
    pid, conn = child
    try:
        status, value = conn.recv()
    except (EOFError, OSError) as exc:
        raise ChildFailed(f"A worker process ({pid}) stopped: {exc or 'killed'}.") from None
    if status == "error":
        raise ChildFailed(f"A worker process ({pid}) failed:\n{value}")
    return value


def _fork(function, siblings):
    ours, theirs = Pipe()
    pid = os.fork()
    if pid:
        theirs.close()
        return pid, ours
    # The child: never returns into the caller's code.
    code = 0
    try:
        # The caller's ends of the pipes to the children before this one: were they left
        # open here, those children would not see the caller close them, and never end.
        for conn in (ours, *siblings):
            conn.close()
        _own_database_connections()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _serve(function, theirs)
    except BaseException:  # noqa: BLE001 (the caller hears of it, or has gone)
        code = 1
    finally:
        os._exit(code)


# Database connections this child inherited: kept, so that they are never closed from here
# (closing one would end the caller's session), and never used.
_inherited = []


def _own_database_connections():
    """Give this child connection objects of its own for every database, whatever the caller
    left open (a connection that close_all() could not close, another thread's)."""
    for alias in connections:
        _inherited.append(connections[alias])
        connections[alias] = connections.create_connection(alias)


def _serve(function, conn):
    """Take items as they come (a thread reads them, so the caller never waits on a child
    busy sending its answer) and answer each in turn; stop when the caller closes its end."""
    inbox = queue.Queue()

    def read():
        try:
            while True:
                inbox.put(conn.recv())
        except (EOFError, OSError):
            inbox.put(StopIteration)

    threading.Thread(target=read, daemon=True).start()
    while (item := inbox.get()) is not StopIteration:
        try:
            answer = ("ok", function(item))
        except Exception:  # noqa: BLE001 (sent to the caller, which raises it)
            answer = ("error", traceback.format_exc())
        conn.send(answer)
    connections.close_all()

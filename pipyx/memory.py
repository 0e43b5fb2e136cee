"""Giving memory back to the system once a burst of traffic is over.

A flood of connections leaves the process holding memory it no longer uses: objects freed into the interpreter's free
lists, whose blocks keep whole arenas of its allocator from going back to the system; glibc's free chunks below the
top of its heap; and whatever reference cycles a script's callbacks made, which wait for a full collection that a
worker tuned for throughput seldom runs (worker.py raises the collector's thresholds). None of it is a leak, yet RSS
would stay at the flood's height.

A full collection clears the cycles and the interpreter's own free lists, and malloc_trim returns the free pages. Some
free lists no collection clears: the event loop keeps the last 250 handles and timer handles freed, asyncio the last
255 future iterators, pipyx's Message class the last 64 messages. After a flood those few hundred objects lie
scattered over the allocator's arenas and alone can hold a dozen of them, a megabyte each: a reclaim first takes
them out of their lists, puts fresh ones, which the allocator packs together, in their place, and frees the old ones.

A reclaim walks every object and the whole heap, so it runs only when the process is quiet, never while it serves
hard. Once a second the process's own CPU time says whether it was busy (other processes on the machine do not move
it). Whether memory moved since the last reclaim, RSS says when a flood came or when freeing emptied whole arenas;
when connections went away and what they freed stayed with the process, only the interpreter's count of allocated
blocks says so. A reclaim runs on a quiet tick after such a move, or after a good deal of work that moved nothing.
"""
import gc
import os
import sys
import time

from ._native import Message, trim_heap

TICK = 1.0                  # seconds between looks at the CPU clock and at memory
QUIET = 0.02                # a tick that used less CPU than this share of it is quiet
MOVED = 2 << 20             # RSS bytes, up or down since the last reclaim, that make one worth doing
BLOCKS = 20000              # allocated blocks, up or down since the last reclaim, that make one worth doing
WORK = 1.0                  # CPU seconds since the last reclaim that make one worth doing whatever RSS did
MIN_GAP = 3.0               # seconds between two reclaims at least
FREE_LIST = 256             # at least as long as the longest of those free lists
STEP = 0.05                 # seconds between the steps of a reclaim: a few turns of the loop

try:
    _PAGE = os.sysconf('SC_PAGE_SIZE')
except (AttributeError, ValueError, OSError):
    _PAGE = 4096


def rss_bytes():
    """The process's resident set size, or None where /proc does not tell."""
    try:
        with open('/proc/self/statm', 'rb') as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class IdleReclaim:
    """Calls reclaim() when the process is quiet after memory moved or work was done; at most once every min_gap
    seconds."""

    def __init__(self, loop, tick=TICK, quiet=QUIET, moved=MOVED, blocks=BLOCKS, work=WORK, min_gap=MIN_GAP):
        self.loop = loop
        self.tick = tick
        self.quiet = quiet * tick
        self.moved = moved
        self.blocks_moved = blocks
        self.work = work
        self.min_gap = min_gap
        self.handle = None
        self.stopped = False
        self.reclaims = 0
        self._reset()

    def _reset(self):
        self.cpu = time.process_time()
        self.worked = 0.0
        self.rss = rss_bytes()
        self.blocks = sys.getallocatedblocks()
        self.last = self.loop.time()

    def start(self):
        self.stopped = False
        if self.handle is None:
            self._reset()
            self.handle = self.loop.call_later(self.tick, self._tick)
        return self

    def stop(self):
        self.stopped = True
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _tick(self):
        cpu = time.process_time()
        spent, self.cpu = cpu - self.cpu, cpu
        self.worked += spent
        if spent < self.quiet and self.loop.time() - self.last >= self.min_gap and self._worth_it():
            self.handle = None
            reclaim(self.loop, self._reclaimed)
            return
        self.handle = self.loop.call_later(self.tick, self._tick)

    def _reclaimed(self):
        self.reclaims += 1
        self._reset()                    # the reclaim's own CPU is not work that calls for another one
        if not self.stopped:
            self.handle = self.loop.call_later(self.tick, self._tick)

    def _worth_it(self):
        if self.worked >= self.work or abs(sys.getallocatedblocks() - self.blocks) >= self.blocks_moved:
            return True
        rss = rss_bytes()
        return rss is not None and self.rss is not None and abs(rss - self.rss) >= self.moved


def _noop():
    pass


def reclaim(loop, done=None):
    """Repacks the free lists that outlive collections, collects the whole heap (cycles, and the interpreter's own
    free lists) and gives the C heap's free pages back to the system, then calls done(). It takes a few turns of the
    loop: handles are freed once the loop has run them, timer handles once their timers have closed."""
    repack(Message)
    repack(loop.create_future().__await__)
    old_timers = [loop.call_later(3600.0, _noop) for _ in range(FREE_LIST)]
    for timer in [loop.call_later(3600.0, _noop) for _ in range(FREE_LIST)]:
        timer.cancel()
    old_handles = [loop.call_soon(_noop) for _ in range(FREE_LIST)]
    for _ in range(FREE_LIST):
        loop.call_soon(_noop)
    loop.call_later(STEP, _free_old, loop, old_timers, old_handles, done)


def _free_old(loop, old_timers, old_handles, done):
    # The fresh handles and timer handles have filled their free lists: the old ones find them full.
    for timer in old_timers:
        timer.cancel()
    old_timers.clear()
    old_handles.clear()
    loop.call_later(STEP, _collect, done)


def _collect(done):
    gc.collect()
    trim_heap()
    if done is not None:
        done()


def repack(make):
    """Takes the objects out of make()'s free list, makes fresh ones to go back into it, then frees the old ones."""
    old = [make() for _ in range(FREE_LIST)]
    fresh = [make() for _ in range(FREE_LIST)]
    del fresh
    del old

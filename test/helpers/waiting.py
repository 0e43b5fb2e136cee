"""Waiting for something to become true, with a deadline."""
import time


def wait_for(predicate, timeout=5.0, what=None, interval=0.02):
    """Polls predicate until it returns something true, and returns that. At the timeout: with `what`, fails the test
    naming it; without, returns the last false value, so that the caller's own assert can say more (a log, say)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            break
        time.sleep(interval)
    if not value and what is not None:
        raise AssertionError('timed out after %.1fs waiting for %s' % (timeout, what))
    return value

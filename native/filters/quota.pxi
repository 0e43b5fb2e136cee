# algo.Quota: an amount that throttle filters take from and that comes back, by itself every `per` seconds after it
# was taken, or when something produces it (a script, or throttle_concurrency as a stream ends). A filter that finds
# too little waits in the quota's line; whatever is produced goes to the line in order.

import math as _math
import weakref as _weakref

# Quotas made with the same key share one counter, across the script's modules and its reloads, for as long as a
# Quota made with the key (or the counter's refill timer) holds it. A key per client then costs nothing once the
# client's streams are gone and its amount has come back: a counter nobody holds is as good as a new one, unless a
# script took from it without `per` and let go of every Quota of that key.
_keyed_counters = _weakref.WeakValueDictionary()

_DURATION_UNITS = {'ms': 0.001, 's': 1.0, 'm': 60.0, 'h': 3600.0, 'd': 86400.0}


def parse_seconds(value, str name):
    """A duration: a number of seconds, or a string with a unit as Pipy writes them ('500ms', '1s', '5m', '1h')."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        for unit in ('ms', 's', 'm', 'h', 'd'):
            if text.endswith(unit):
                try:
                    return float(text[:-len(unit)]) * _DURATION_UNITS[unit]
                except ValueError:
                    break
        try:
            return float(text)
        except ValueError:
            pass
    raise ValueError('%s must be seconds (a number or a string such as "500ms", "1s", "5m"), not %r' % (name, value))


cdef class QuotaCounter:

    cdef double take(self, double amount):
        # Takes what there is of amount and returns it; the rest comes back `per` seconds later.
        if amount <= 0:
            return 0.0
        if amount > self.current:
            amount = self.current if self.current > 0 else 0.0
        self.current -= amount
        self.schedule()
        return amount

    cdef Py_ssize_t take_whole(self, Py_ssize_t amount):
        # For bytes and messages: only whole units are taken.
        cdef double have = _math.floor(self.current) if self.current > 0 else 0.0
        if amount > have:
            amount = <Py_ssize_t>have
        if amount > 0:
            self.current -= amount
            self.schedule()
        return amount

    cdef void give(self, double amount):
        if amount <= 0:
            return
        self.current = min(self.maximum, self.current + amount)
        self.wake()

    cdef void schedule(self):
        if self.timer is not None or self.per <= 0:
            return
        self.timer = _asyncio.get_event_loop().call_later(self.per, self._refill)

    def _refill(self):
        self.timer = None
        cdef double amount = self.initial - self.current
        if self.produce_step > 0 and self.produce_step < amount:
            amount = self.produce_step
            self.schedule()
        self.give(amount)

    cdef void wake(self):
        # Whoever waits longest goes first; one that still finds too little keeps its place and stops the line.
        cdef ThrottleQuota w
        while self.waiting and self.current > 0:
            w = <ThrottleQuota>self.waiting.pop(0)
            if not w.on_quota():
                self.waiting.insert(0, w)
                break

    cdef void wait(self, ThrottleQuota waiter):
        if self.waiting is None:
            self.waiting = []
        self.waiting.append(waiter)

    cdef void forget(self, ThrottleQuota waiter):
        if self.waiting:
            try:
                self.waiting.remove(waiter)
            except ValueError:
                pass


cdef class Quota:
    """algo.Quota(initial, per=None, produce=None, max=None, key=None): an amount that throttle filters take from.
    `per` (seconds, or '1s', '500ms'...): that long after something was taken, the amount comes back up to initial,
    or by `produce` at a time, every `per`, until it is there. Without `per` nothing comes back by itself: produce()
    gives it back. `max` caps what produce() can raise it to (no cap by default). Quotas made with the same `key`
    share one amount, wherever in the process they were made, while one of them is still held."""

    def __init__(self, initial, per=None, produce=None, max=None, key=None):
        cdef QuotaCounter c
        initial = float(initial)
        if initial < 0 or initial != initial:
            raise ValueError('a quota starts at 0 or more, not %r' % initial)
        per_s = parse_seconds(per, 'per') if per is not None else 0.0
        step = float(produce) if produce is not None else 0.0
        cap = float(max) if max is not None else float('inf')
        if per_s < 0 or step < 0 or cap < 0:
            raise ValueError('per, produce and max are 0 or more')
        c = _keyed_counters.get(key) if key is not None else None
        if c is None:
            c = QuotaCounter.__new__(QuotaCounter)
            c.current = initial
            if key is not None:
                _keyed_counters[key] = c
        c.initial = initial
        c.per = per_s
        c.produce_step = step
        c.maximum = cap
        self.counter = c

    @property
    def initial(self):
        """The amount the quota starts with, and comes back to. Set at run time, it changes where the quota comes
        back to from the next refill on (current is left as it is: produce() or reset() for that)."""
        return self.counter.initial

    @initial.setter
    def initial(self, value):
        value = float(value)
        if value < 0 or value != value:
            raise ValueError('a quota starts at 0 or more, not %r' % value)
        self.counter.initial = value

    @property
    def per(self):
        """Seconds after a take until the amount comes back (0: never by itself); settable at run time."""
        return self.counter.per

    @per.setter
    def per(self, value):
        value = parse_seconds(value, 'per') if value is not None else 0.0
        if value < 0:
            raise ValueError('per is 0 or more')
        self.counter.per = value
        if value > 0 and self.counter.current < self.counter.initial:
            self.counter.schedule()

    @property
    def current(self):
        """The amount there is now."""
        return self.counter.current

    def consume(self, amount):
        """Takes up to amount and returns how much was taken (less when there is less)."""
        return self.counter.take(float(amount))

    def produce(self, amount):
        """Adds amount (up to max): filters waiting for the quota take it first, in the order they came."""
        self.counter.give(float(amount))

    def reset(self):
        """Back to the initial amount: what is missing is produced, an amount above it is cut back."""
        cdef QuotaCounter c = self.counter
        if c.current >= c.initial:
            c.current = c.initial
        else:
            c.give(c.initial - c.current)

    def __repr__(self):
        return '<Quota %g of %g>' % (self.counter.current, self.counter.initial)

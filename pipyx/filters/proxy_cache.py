"""proxy_cache: answer requests from a ResponseCache, and fill it from the upstream pipeline.

Built from existing filters, for a demux_http request pipeline:

    handle_message_start(lookup)                      # HIT, MISS or PASS, from the request head
    branch(HIT:  replace_message(answer),             # the stored response, with Age
           MISS: handle_stream_end(done)              # the request is over
                 .link(upstream)                      # the user's upstream pipeline (the target)
                 .handle_message_start(mark)          # `x-cache: miss` when asked for
                 .handle_message(store),              # keep the response if it may be kept
           PASS: link(upstream) ...)

Which request a response belongs to: requests of one keep-alive connection share their context variables, and
several of them can wait for upstream responses at once (pipelining), which may come back in any order. So the
state kept per connection is a count of the MISS requests in flight and the token of the one that started when
none was: a response is stored only while that request is the only one in flight, which is then certainly its own.
Otherwise it is passed on unstored — rare (browsers do not pipeline), and never wrong.
"""
import itertools

from .._native import LinkFilter, ctx
from ..errors import ScriptError, caller_location
from ..files.proxy_cache import ResponseCache, HIT, MISS
from .branch import BranchMixin
from .handle import HandleMixin
from .replace import ReplaceMixin

_ids = itertools.count(1)


class ProxyCacheMixin(BranchMixin, HandleMixin, ReplaceMixin):
    def proxy_cache(self, cache, target=None):
        """Answers GET and HEAD requests from cache (a pipyx.files.ResponseCache) when it holds a fresh response, and
        otherwise sends them through target (a pipeline name or builder; or the following .to()), typically
        `mux_http().to(connect(...))`, storing the responses the cache may keep. Use it in a demux_http request
        pipeline."""
        if not isinstance(cache, ResponseCache):
            raise ScriptError('proxy_cache() takes a pipyx.files.ResponseCache, not %s' % type(cache).__name__,
                              *caller_location())
        upstream = self.sub(target)
        name = '_proxy_cache_%d' % next(_ids)
        # Per connection: [MISS requests in flight, token of the lone one, HIT response, route of the latest request].
        self._module.scope.declare({name: [0, None, None, None]})

        def lookup(start):
            st = getattr(ctx, name)
            route, value = cache.lookup(start.head)
            st[3] = route
            if route == HIT:
                st[2] = cache.answer(value, start.head)
            elif route == MISS:
                st[0] += 1
                st[1] = value if st[0] == 1 else None

        def answer(_request):
            st = getattr(ctx, name)
            response, st[2] = st[2], None
            return response

        def done(_end):
            st = getattr(ctx, name)
            st[0] -= 1
            if st[0] <= 0:
                st[0], st[1] = 0, None

        def store(response):
            st = getattr(ctx, name)
            if st[0] == 1 and st[1] is not None:
                token, st[1] = st[1], None
                cache.store(token, response)

        def mark(start):
            start.head.headers[cache.cache_header] = 'miss'

        def via_upstream(p, storing):
            if storing:
                p.handle_stream_end(done)
            p.append(LinkFilter(upstream))
            if cache.cache_header:
                p.handle_message_start(mark)
            if storing:
                p.handle_message(store, size_limit=cache.max_entry_size + 1, truncate=True)

        return self.handle_message_start(lookup).branch(
            lambda: getattr(ctx, name)[3] == HIT, lambda p: p.replace_message(answer),
            lambda: getattr(ctx, name)[3] == MISS, lambda p: via_upstream(p, True),
            lambda p: via_upstream(p, False))

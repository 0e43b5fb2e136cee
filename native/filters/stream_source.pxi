# StreamSource: a source of events that is not a socket (a file, a callback) pumped from the event loop. Each turn it
# outputs pieces until what they go to is congested (an Endpoint noted congestion), then it waits as a socket reader
# would: it is registered as that endpoint's waiter and resumed when the endpoint drains. A turn is also bounded by
# a count of pieces, so a long file never holds the loop.

cdef int PIECES_PER_TURN = 16


cdef StreamSource new_stream_source(Filter owner, object pull, object done):
    cdef StreamSource s = StreamSource.__new__(StreamSource)
    s.owner = owner
    s.pull = pull
    s.done = done
    s.fd = -1
    return s


cdef class StreamSource(Endpoint):

    cdef void start(self):
        if not self.running and not self.stopped:
            self.running = True
            _asyncio.get_event_loop().call_soon(self._pump)

    cdef void stop(self):
        self.stopped = True
        self.pull = None
        self.done = None
        self.owner = None

    def _pump(self):
        cdef int i
        cdef bint more = True
        self.running = False
        if self.stopped or self.read_paused:
            return
        # A congestion noted outside any read (a timer's output) is nobody's to wait for, least of all this turn's.
        swap_congested(None)
        self.read_begins()
        try:
            for i in range(PIECES_PER_TURN):
                more = self.pull()
                if not more or self.stopped or self.read_paused or congested_endpoint() is not None:
                    break
            if not more and not self.stopped:
                done = self.done
                self.stop()
                if done is not None:
                    done()
        except Exception as e:
            owner = self.owner
            self.stop()
            if owner is not None:
                owner.fail_stream(e)
        finally:
            self.read_ends()
        if not self.stopped and not self.read_paused:
            self.start()

    cdef void pause_input(self):
        pass                             # read_paused, which after_dispatch set, keeps the pump from running

    cdef void resume_input(self):
        self.start()

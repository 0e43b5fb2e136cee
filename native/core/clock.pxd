# Declared here, defined in clock.pxi.

cdef double now() noexcept

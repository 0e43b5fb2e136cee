# Giving the C heap's free memory back to the system. glibc keeps what is freed for reuse and on its own returns only
# a free top of the heap; after a flood of connections the freed pages lie under blocks still in use, and stay
# resident until malloc_trim() walks the heap. Another C library has no such call: nothing is trimmed.

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static int pipyx_trim_heap(void) { return malloc_trim(0); }
    #else
    static int pipyx_trim_heap(void) { return -1; }
    #endif
    """
    int pipyx_trim_heap() nogil


def trim_heap():
    """Returns the C heap's free pages to the system (glibc's malloc_trim): 1 if some were returned, 0 if none, -1
    where the C library cannot. It walks the whole heap: for a process going idle, not for the path of a request."""
    return pipyx_trim_heap()

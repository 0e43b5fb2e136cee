# Declared here, defined in heap.pxi: only the Python-level trim_heap(), which takes no declaration.

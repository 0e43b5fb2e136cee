# The Cython sources live in native/ and build into one extension module, pipyx._native: the per-event path
# calls from filter to filter through C vtables, which only works cheaply inside one module (see docs/design.md).
import os
from setuptools import setup, Extension
from Cython.Build import cythonize

debug = os.environ.get('PIPYX_DEBUG_BUILD') == '1'
extensions = [
    Extension(
        'pipyx._native',
        ['native/_native.pyx'],
        extra_compile_args=['-O0', '-g'] if debug else ['-O2'],
        libraries=['ssl', 'crypto'],        # TLS is OpenSSL's, called from native/io/tls.pxi (libssl-dev)
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        annotate=os.environ.get('PIPYX_ANNOTATE') == '1',
        compiler_directives={
            'boundscheck': True,        # an indexing bug must raise, never take the process down
            'wraparound': False,
            'initializedcheck': False,
            'cdivision': True,
            'embedsignature': True,
        },
    ),
)

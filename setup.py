"""The compiled parts: indexes._probe (indexes/_probe.c), the hashed-index lookup;
screening._name_candidates (screening/_name_candidates.c), the name matcher's candidates;
screening._fsync_thread (screening/_fsync_thread.c), the journals' fdatasyncs off the GIL.

Optional: where no C compiler is found the build goes on without them; indexes/ uses its
pure-Python reference probe (indexes/hash_index.py), the name matcher numpy
(screening/name_candidates.py), the journals a Python sync thread
(screening/journal_sync.py): slower, the same answers.
Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "indexes._probe",
            sources=["indexes/_probe.c"],
            depends=["indexes/_vendor/xxhash.h"],
            extra_compile_args=["-O3", "-std=c11"],
            optional=True,
        ),
        Extension(
            "screening._name_candidates",
            sources=["screening/_name_candidates.c"],
            extra_compile_args=["-O3", "-std=c11"],
            optional=True,
        ),
        Extension(
            "screening._fsync_thread",
            sources=["screening/_fsync_thread.c"],
            extra_compile_args=["-O2", "-std=gnu11"],
            extra_link_args=["-pthread"],
            optional=True,
        ),
    ]
)

"""The one compiled part: indexes._probe (indexes/_probe.c), the hashed-index lookup.

Optional: where no C compiler is found the build goes on without it and indexes/ uses its
pure-Python reference probe (indexes/hash_index.py), slower but the same answers.
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
        )
    ]
)

"""The benchmark suite: `screening bench` / `make bench`."""

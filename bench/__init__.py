"""The benchmark suite (`make bench`, `vitrine bench`): never part of `make test` or CI."""

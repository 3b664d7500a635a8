"""Collect each test's abandoned coroutines within that test.

graphql-core, the reference these tests compare with, leaves coroutines of
sibling fields unawaited when a non-null error aborts an object (that is its
behaviour, not ours). Python warns when such a coroutine is collected, which
may happen during a later test; collecting here, with that one warning
ignored, keeps it from failing whichever test the collector happens to run in.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_abandoned_coroutines() -> Iterator[None]:
    yield
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited")
        gc.collect()

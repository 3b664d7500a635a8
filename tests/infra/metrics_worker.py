"""A stand-in worker process for tests/infra/test_metrics_multiprocess.py: reports the
counts it is given through a collector, mirrors them into PROMETHEUS_MULTIPROC_DIR
after each step, and prints its pid.

Usage: python -m tests.infra.metrics_worker '<json steps>' [release]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import orjson
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from infra.metrics_files import multiprocess_directory, release
from infra.metrics_mirror import LocalMirror


class Reported(Collector):
    """Reports `state`: {"counters": {name: value}, "gauges": {name: value}}; a counter
    named `vitrine_rate_limit_rejected` is labelled by policy (values {policy: value})."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"counters": {}, "gauges": {}}

    def collect(self) -> Iterator[Any]:
        for name, value in self.state["counters"].items():
            if isinstance(value, dict):
                family = CounterMetricFamily(name, name, labels=["policy"])
                for policy, count in value.items():
                    family.add_metric([policy], count)
            else:
                family = CounterMetricFamily(name, name, value=value)
            yield family
        for name, value in self.state["gauges"].items():
            yield GaugeMetricFamily(name, name, value=value)


def main(steps: list[dict[str, Any]], released: bool) -> None:
    directory = multiprocess_directory()
    assert directory is not None, "run with PROMETHEUS_MULTIPROC_DIR set"
    source = CollectorRegistry()
    reported = Reported()
    source.register(reported)
    mirror = LocalMirror(source)
    for step in steps:
        reported.state = step
        mirror.sync()
    if released:
        release(directory, os.getpid())
    print(os.getpid())


if __name__ == "__main__":
    main(orjson.loads(sys.argv[1]), released=sys.argv[2:] == ["release"])

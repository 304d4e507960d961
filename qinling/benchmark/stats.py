# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Results: samples reduced to percentiles, rates and ratios."""

import dataclasses
import math
import typing

SECONDS = "s"
BYTES = "B"


def percentile(sorted_samples, fraction):
    """The nearest-rank percentile of already sorted samples."""
    if not sorted_samples:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_samples)))
    return sorted_samples[min(rank, len(sorted_samples)) - 1]


@dataclasses.dataclass
class Result:
    """One row of the report: a scenario or a baseline."""

    name: str
    unit: str = SECONDS
    n: int = 0
    p50: typing.Optional[float] = None
    p90: typing.Optional[float] = None
    p99: typing.Optional[float] = None
    #: operations per second, where a rate fits.
    rate: typing.Optional[float] = None
    errors: int = 0
    #: the name of the baseline this row is compared with.
    baseline: typing.Optional[str] = None
    #: p50 of this row over p50 of the baseline.
    ratio: typing.Optional[float] = None
    #: why a scenario did not run, or what to know about it.
    note: str = ""
    extra: dict = dataclasses.field(default_factory=dict)

    def to_dict(self):
        return dataclasses.asdict(self)


def summarize(name, samples, unit=SECONDS, errors=0, rate=None,
              baseline=None, note="", **extra):
    """Build a :class:`Result` from raw samples (seconds or bytes)."""
    ordered = sorted(samples)
    return Result(name=name, unit=unit, n=len(ordered),
                  p50=percentile(ordered, 0.50),
                  p90=percentile(ordered, 0.90),
                  p99=percentile(ordered, 0.99),
                  rate=rate, errors=errors, baseline=baseline, note=note,
                  extra=extra)


def skipped(name, reason):
    return Result(name=name, note="skipped: " + reason)


def apply_ratios(results, baselines):
    """Fill ``ratio`` of every result from the p50 of its baseline.

    :param results: the rows to fill.
    :param baselines: every row a ``baseline`` may name, by name.
    """
    for result in results:
        base = baselines.get(result.baseline)
        if (base is not None and base.p50 and result.p50 is not None):
            result.ratio = result.p50 / base.p50

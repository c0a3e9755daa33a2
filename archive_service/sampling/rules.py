"""Drawing a sample, as pure functions: how many to draw, how they are shared among the
strata, and which members a seed picks.

The population is ordered by id before anything is drawn, and every random choice comes
from one ``random.Random(seed)`` in a fixed order (strata in their sorted order, members
sorted within each), so the same seed over the same population draws the same sample.

Allocation among strata (department × tier) is proportional with the largest remainder
(Hamilton): each stratum's quota is ``n · Nh / N``, the floors are given, and the seats
left go to the largest fractional parts (ties: the earlier stratum). When ``n`` is at
least the number of non-empty strata, every stratum gets one first and the rest is
shared in proportion to what each has left (``Nh − 1``), so no stratum goes unseen; when
``n`` is smaller, some strata get none (there is not one for each).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


class SampleError(ValueError):
    """A request for a sample that cannot be drawn (names the field at fault)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def sample_size(population: int, size: int | None, percent: float | None) -> int:
    """How many to draw: ``size``, or ``percent`` of the population rounded up (at least
    one of a non-empty population); never more than there are."""
    if (size is None) == (percent is None):
        raise SampleError("give either a size or a percentage", field="size")
    if population == 0:
        raise SampleError("there are no customer archives to sample", field="size")
    if size is not None:
        if size < 1:
            raise SampleError("the size is at least 1", field="size")
        if size > population:
            raise SampleError(
                f"the size is larger than the population ({population})", field="size"
            )
        return size
    assert percent is not None
    if not 0 < percent <= 100:
        raise SampleError("the percentage is above 0 and at most 100", field="percent")
    return max(1, min(population, math.ceil(population * percent / 100 - 1e-9)))


def _largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` seats shared in proportion to ``weights`` (Hamilton's method)."""
    whole = sum(weights)
    if whole == 0 or total == 0:
        return [0] * len(weights)
    quotas = [total * w / whole for w in weights]
    seats = [math.floor(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - seats[i]), i))
    for i in order[: total - sum(seats)]:
        seats[i] += 1
    return seats


def allocate(size: int, strata_sizes: Sequence[int]) -> list[int]:
    """How many to draw from each stratum (in the order given), summing to ``size``."""
    if size > sum(strata_sizes):
        raise SampleError("the size is larger than the population", field="size")
    filled = [i for i, n in enumerate(strata_sizes) if n > 0]
    seats = [0] * len(strata_sizes)
    if size >= len(filled):
        rest = _largest_remainder(size - len(filled), [strata_sizes[i] - 1 for i in filled])
        for i, extra in zip(filled, rest, strict=True):
            seats[i] = 1 + extra
    else:
        for i, got in zip(
            filled, _largest_remainder(size, [strata_sizes[i] for i in filled]), strict=True
        ):
            seats[i] = got
    return seats


@dataclass(frozen=True)
class Stratum:
    key: tuple[str, ...]
    population: int
    drawn: tuple[int, ...]


def draw(
    members: Sequence[tuple[int, tuple[str, ...]]], size: int, seed: int, stratified: bool
) -> list[Stratum]:
    """The sample: ``members`` are ``(id, stratum key)``; unstratified, one stratum ``()``.
    Drawn ids come in the order the generator picked them."""
    # Reproducible by design (the seed is recorded), not a secret: no CSPRNG wanted here.
    rng = random.Random(seed)  # noqa: S311
    groups: dict[tuple[str, ...], list[int]] = {}
    for member_id, key in sorted(members, key=lambda m: m[0]):
        groups.setdefault(key if stratified else (), []).append(member_id)
    keys = sorted(groups)
    seats = allocate(size, [len(groups[k]) for k in keys])
    return [
        Stratum(k, len(groups[k]), tuple(rng.sample(groups[k], n)))
        for k, n in zip(keys, seats, strict=True)
    ]

"""Drawing an audit sample (``sampling.rules``): the size, the allocation among strata
(largest remainder, one each when the size allows) and a reproducible draw."""

from __future__ import annotations

import pytest

from archive_service.sampling.rules import SampleError, allocate, draw, sample_size


def test_the_size_is_a_number_or_a_percentage_rounded_up() -> None:
    assert sample_size(14, 10, None) == 10
    assert sample_size(14, None, 30) == 5  # 4.2 → 5
    assert sample_size(200, None, 5) == 10
    assert sample_size(3, None, 1) == 1  # at least one
    for size, percent in ((None, None), (3, 10.0), (0, None), (15, None), (None, 0), (None, 101)):
        with pytest.raises(SampleError):
            sample_size(14, size, percent)
    with pytest.raises(SampleError):
        sample_size(0, 1, None)


def test_allocation_gives_each_stratum_one_then_shares_by_largest_remainder() -> None:
    assert allocate(6, [4, 2, 3, 5]) == [2, 1, 1, 2]
    assert allocate(10, [5, 1, 20, 3, 0, 7]) == [2, 1, 4, 1, 0, 2]
    assert allocate(36, [5, 1, 20, 3, 0, 7]) == [5, 1, 20, 3, 0, 7]  # everything
    # Fewer than the strata: proportional, some get none.
    assert allocate(2, [5, 1, 20]) == [0, 0, 2]
    for size, strata in ((7, [3, 3, 3]), (50, [10, 25, 15]), (4, [1, 1, 1, 9])):
        seats = allocate(size, strata)
        assert sum(seats) == size and all(0 < s <= n for s, n in zip(seats, strata, strict=True))
    with pytest.raises(SampleError):
        allocate(10, [3, 3])


def test_the_same_seed_draws_the_same_sample_whatever_order_the_population_comes_in() -> None:
    members = [
        (i, ("D1" if i % 3 else "D2", "ordinary" if i % 2 else "core")) for i in range(1, 41)
    ]
    once = draw(members, 8, seed=42, stratified=True)
    assert draw(list(reversed(members)), 8, seed=42, stratified=True) == once
    assert draw(members, 8, seed=43, stratified=True) != once
    assert sum(len(s.drawn) for s in once) == 8 and all(s.drawn for s in once)
    plain = draw(members, 8, seed=42, stratified=False)
    assert [s.key for s in plain] == [()] and len(set(plain[0].drawn)) == 8

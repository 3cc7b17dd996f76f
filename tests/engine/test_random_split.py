"""random_split is reproducible from the seed the host passes in context["random"]."""

from __future__ import annotations

from collections import Counter

import pytest

from flowapp.engine import start
from tests.engine.helpers import NOW, context, graph, node

SPLIT = graph(
    [
        node("ab", "random_split", branches=[{"id": "a", "weight": 70}, {"id": "b", "weight": 30}]),
        node("second", "random_split", branches=[{"id": "x", "weight": 1}, {"id": "y", "weight": 1}]),
    ],
    [["start", "next", "ab"], ["ab", "a", "second"], ["ab", "b", "second"]],
)


def choices(seed) -> list[str]:
    return [port for _node, port in start(SPLIT, context(random=seed), NOW).ports][1:]


@pytest.mark.parametrize("seed", [0.25, 0.99, 7, "contact-42:run-9"])
def test_the_same_seed_gives_the_same_path(seed):
    """Two runs with one seed take the same branches."""
    assert choices(seed) == choices(seed)


def test_a_float_is_the_first_draw():
    """context["random"] = 0.1 takes the first 70% branch, 0.8 the other."""
    assert choices(0.1)[0] == "a"
    assert choices(0.8)[0] == "b"


def test_later_draws_come_from_the_seed():
    """A second split in the same run draws a new number (seeded), not the same one again."""
    seconds = {choices(value / 100)[1] for value in range(0, 70, 3)}
    assert seconds == {"x", "y"}


def test_weights_are_respected():
    """Over many seeds, branches are taken in proportion to their weights."""
    counts = Counter(choices(seed)[0] for seed in range(4000))
    assert 0.66 < counts["a"] / 4000 < 0.74


def test_without_a_seed_it_still_works():
    """No seed: the choice is random but the run works."""
    document = context()
    del document["random"]
    assert start(SPLIT, document, NOW).status == "completed"

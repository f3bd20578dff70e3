"""The co-handler ceiling (benchmarks/cohandler_ideas.py) draws co-handlers exactly as the sample generator does."""

from __future__ import annotations

import random
import sys
from datetime import date
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_the_ceiling_draws_co_handlers_as_the_generator_does():
    sys.path.insert(0, str(SAMPLES))
    from gen.engine import Generator
    from gen.parts import weighted
    from gen.people import as_of

    from benchmarks.cohandler_ideas import _co_draw

    g = Generator(seed=7)
    drawn = 0
    for i, topic in enumerate(g.topics_for(2023) * 3):
        plan = g.plan(topic, 2023)
        assigned = date(2023, 2, 10)
        state = g.rng.getstate()
        expected = g.co_handlers(plan, assigned)
        rng = random.Random()
        rng.setstate(state)
        assert _co_draw(plan, assigned, rng, weighted, as_of) == expected, (i, topic.key)
        drawn += len(expected)
    assert drawn > 100  # the plans did draw co-handlers

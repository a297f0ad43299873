"""pytest plugin for mutation runs: Hypothesis without deadlines, derandomized, no database.

A deadline turns a slow, busy machine into failing tests, i.e. mutants counted as killed
that no assertion caught; random examples make a mutant's fate differ between runs.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("mutation", deadline=None, derandomize=True, database=None)
settings.load_profile("mutation")

"""The project satc compiles for, read statically (facts.py)."""

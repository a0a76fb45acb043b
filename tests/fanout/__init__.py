"""Tests of fan-out."""

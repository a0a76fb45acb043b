"""Tests of the in-process limiter."""

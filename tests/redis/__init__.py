"""Tests of the Redis shared limiter (each starts its own redis-server)."""

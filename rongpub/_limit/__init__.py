"""Rate limiting in one process: the limiter protocol, the exact sliding log and its pure
schedule, 429 back-off, the aiolimiter adapter and virtual time for tests."""

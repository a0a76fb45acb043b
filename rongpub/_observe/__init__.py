"""What rongpub tells the outside: OpenTelemetry spans and metrics, and log records.

See docs/guides/observability.md for what is emitted and why.
"""

"""The quota shared across processes through Redis: limiter, booking, store, clock, moves,
ledger, outages, and the Lua scripts they run (scripts/)."""

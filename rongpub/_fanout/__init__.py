"""Fan-out: one message to any number of targets, every target accounted for.

engine -> intake -> packing -> delivery -> outcomes -> ledger -> journal (+ lock) -> report.
"""

"""An embedded RongCloud server emulator for tests, demos and benchmarks (work in progress)."""

"""The `rongpub` command and its subcommands (demo, fanout; the emulator registers its own)."""

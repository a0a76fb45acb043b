"""How much Redis memory a fan-out journal takes (issue #15): a `RedisJournal` of N group
targets (1,000,000 by default), each sent with a 19-character message UID, written through
the fan-out engine into a redis-server of its own, then `MEMORY USAGE ... SAMPLES 0` of its
keys (every element counted) and the growth of `INFO memory` `used_memory`.

    python benchmarks/journal_memory.py [--targets N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fanout_journal import journal_memory
from _measure import RESULTS, machine_info, write_json


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=RESULTS / "journal_memory.json")
    args = parser.parse_args(argv)
    result = journal_memory(args.targets)
    print(json.dumps(result, indent=2))
    write_json(args.json, {"machine": machine_info(), **result})


if __name__ == "__main__":
    main()

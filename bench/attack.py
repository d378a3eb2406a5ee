"""Run the differencing attacks of SPEC §4 against demo data and report what they recover.

    python bench/attack.py [--seed 11] [--scale 1] [--limit 300]

Builds the demo data (a fresh SQLite file under data/bench/), then, for exact figures (a
coordinator's or admin's view: the positive control) and through the leadership gate, runs
the age-complement, padding and period-differencing attacks of tests/attack.py and prints,
per attack, the small cells attacked, the answers obtained and how many were exact.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import cellkey  # noqa: E402
from dashboard.access import Scope  # noqa: E402
from dashboard.db import get_engine, init_db  # noqa: E402
from dashboard.demo import seed_demo  # noqa: E402
from dashboard.gate import Gate  # noqa: E402
from dashboard.settings import DATA_DIR  # noqa: E402
from tests import attack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--limit", type=int, default=300, help="cells per attack")
    args = parser.parse_args()
    path = DATA_DIR / "bench" / f"attack-{args.seed}-{args.scale}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    engine = get_engine(f"sqlite:///{path}")
    init_db(engine)
    seed_demo(engine, seed=args.seed, scale=args.scale, end=dt.date(2026, 3, 31))
    quarters = list(attack.fiscal_quarters(2021, 2025))
    months = list(attack.months(dt.date(2021, 4, 1), 60))
    print(f"perturbation table's exact-difference rate: {cellkey.EXACT_DIFFERENCE_RATE:.0%}")
    with engine.connect() as conn:
        for role in ("admin", "leadership"):
            ask = attack.received(conn, Gate(Scope(role=role), threshold=5))
            for outcome in (
                attack.age_complement(conn, ask, quarters, 5, args.limit),
                attack.network_subtraction(conn, ask, months, 5, args.limit),
                attack.day_difference(conn, ask, dt.date(2025, 4, 1), 365, 5),
            ):
                print(
                    f"{role:10} {outcome.name:32} cells {outcome.cells:4}  answered "
                    f"{outcome.answered:4}  exact {outcome.exact:4} ({outcome.exact_rate:.0%})"
                )


if __name__ == "__main__":
    main()

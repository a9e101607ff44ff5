"""A tile-grid map of the 50 states and DC, each state coloured by its AOR's total.

A tile grid gives every state the same area, so small north-eastern states (where
several AORs of the 2019 surge are) stay visible and no map projection or boundary file
is needed offline. States belong to AORs through the shipped ``aor_states`` table;
Texas, California and New York are split between AORs by county, and their tile takes
the AOR covering most of the state's population (shipped counties table) - the caption
says so.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from icetally import reference

# (row, column) on an 8 x 12 grid, roughly where each state lies.
TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (0, 11),
    "WI": (1, 6), "VT": (1, 10), "NH": (1, 11),
    "WA": (2, 1), "ID": (2, 2), "MT": (2, 3), "ND": (2, 4), "MN": (2, 5), "IL": (2, 6),
    "MI": (2, 7), "NY": (2, 9), "MA": (2, 10),
    "OR": (3, 1), "NV": (3, 2), "WY": (3, 3), "SD": (3, 4), "IA": (3, 5), "IN": (3, 6),
    "OH": (3, 7), "PA": (3, 8), "NJ": (3, 9), "CT": (3, 10), "RI": (3, 11),
    "CA": (4, 1), "UT": (4, 2), "CO": (4, 3), "NE": (4, 4), "MO": (4, 5), "KY": (4, 6),
    "WV": (4, 7), "VA": (4, 8), "MD": (4, 9), "DE": (4, 10),
    "AZ": (5, 2), "NM": (5, 3), "KS": (5, 4), "AR": (5, 5), "TN": (5, 6), "NC": (5, 7),
    "SC": (5, 8), "DC": (5, 9),
    "OK": (6, 4), "LA": (6, 5), "MS": (6, 6), "AL": (6, 7), "GA": (6, 8),
    "HI": (7, 0), "TX": (7, 4), "FL": (7, 9),
}  # fmt: skip


@cache
def state_aors() -> dict[str, list[str]]:
    """State -> its AORs, the one covering most of its population first."""
    pop: dict[tuple[str, str], int] = defaultdict(int)
    for c in reference.counties():
        pop[(c.state_abbr, c.aor)] += c.population
    out: dict[str, list[str]] = defaultdict(list)
    for s in reference.aor_states():
        out[s.state_abbr].append(s.aor)
    return {
        st: sorted(set(aors), key=lambda a: (-pop.get((st, a), 0), a)) for st, aors in out.items()
    }


def tile_rows(
    aor_totals: dict[str, int], highlight: set[str] | None = None, *, any_aor: bool = False
) -> list[dict[str, object]]:
    """One row per tile: state, row, col, aor (the tile's colour), total, split, others.
    ``highlight``: AORs whose states are outlined (``any_aor``: also states only partly
    in them, e.g. California for San Francisco)."""
    rows = []
    for st, (r, c) in TILES.items():
        aors = state_aors().get(st, [])
        main = aors[0] if aors else None
        rows.append(
            {
                "state": st,
                "row": r,
                "col": c,
                "aor": main or "",
                "total": int(aor_totals.get(main, 0)) if main else 0,
                "split": len(aors) > 1,
                "others": ", ".join(aors[1:]),
                "label": f"{st}*" if len(aors) > 1 else st,
                "highlight": bool(
                    highlight and (set(aors) & highlight if any_aor else main in highlight)
                ),
            }
        )
    return rows


def split_states() -> dict[str, list[str]]:
    """States split between AORs: state -> AORs (tile AOR first)."""
    return {st: a for st, a in state_aors().items() if len(a) > 1 and st in TILES}

"""The household's latest facts and the version at intake they are of (`household_version` of intake's household
events, the household's ETag): which facts replace which, and whether a review may price the facts held.

A version is unknown (None) for facts from before the events carried it and for an application's snapshot: there
is then nothing to compare, and the facts are taken as they always were."""

from __future__ import annotations

from shared.errors import Conflict


def replaces(held: int | None, arriving: int | None) -> bool:
    """Whether facts arriving of version `arriving` replace those held of version `held`: never an older version
    (a replayed or late event) over a newer one, nor facts of no known version over facts of a known one. The same
    rule as the facts' upsert in SQL (`services/eligibility/cases/repository.py`)."""
    return held is None or (arriving is not None and arriving >= held)


def ensure_arrived(held: int | None, seen: int | None) -> None:
    """A review prices the household's latest facts: refused (409 naming `household_version`, nothing changed)
    while the facts of the version the front desk holds (`seen`) have not reached eligibility (it holds `held`)."""
    if held is not None and seen is not None and held < seen:
        raise Conflict(
            f"the household's facts changed at the front desk (version {seen}) are still on their way to "
            f"eligibility (it holds version {held}): try again shortly",
            errors=[
                {
                    "field": "household_version",
                    "message": f"the facts of version {seen} are still on their way; try again shortly",
                }
            ],
        )

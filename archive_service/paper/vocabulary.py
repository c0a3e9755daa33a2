"""The paper area's vocabularies: the kinds of storage place, the states of a paper
original, of a stocktake, what a stocktake found, and where a lent original is read."""

from __future__ import annotations

from archive_service.vocabulary import Term, Vocabulary, _t


class ItemState:
    IN_PLACE = "in_place"
    LENT = "lent"
    TRANSFERRED = "transferred"
    DESTROYED = "destroyed"

    GONE = (TRANSFERRED, DESTROYED)  # no longer in this archive's keeping


class StocktakeState:
    """open (finds are recorded) → finished (the report is fixed) → signed off."""

    OPEN = "open"
    FINISHED = "finished"
    SIGNED = "signed"


class Finding:
    """What a stocktake's report says of an item."""

    FOUND = "found"  # where the record says
    MISSING = "missing"  # expected here, not found
    MISPLACED = "misplaced"  # found, but elsewhere than the record says
    UNEXPECTED = "unexpected"  # found, but the record says lent, gone, or kept elsewhere


# A storage place is one of these, in this order from the outside in: room → cabinet →
# shelf → box. A place's parent is of an earlier kind.
LOCATION_KINDS = Vocabulary(
    "location kind",
    [
        Term("room", _t("location kind", "room")),
        Term("cabinet", _t("location kind", "cabinet")),
        Term("shelf", _t("location kind", "shelf")),
        Term("box", _t("location kind", "box")),
    ],
    default="box",
)
ITEM_STATES = Vocabulary(
    "paper state",
    [
        Term(ItemState.IN_PLACE, _t("paper state", "in place")),
        Term(ItemState.LENT, _t("paper state", "lent")),
        Term(ItemState.TRANSFERRED, _t("paper state", "transferred")),
        Term(ItemState.DESTROYED, _t("paper state", "destroyed")),
    ],
    default=ItemState.IN_PLACE,
)
STOCKTAKE_STATES = Vocabulary(
    "stocktake state",
    [
        Term(StocktakeState.OPEN, _t("stocktake state", "counting")),
        Term(StocktakeState.FINISHED, _t("stocktake state", "finished, awaiting sign-off")),
        Term(StocktakeState.SIGNED, _t("stocktake state", "signed off")),
    ],
)
FINDINGS = Vocabulary(
    "stocktake finding",
    [
        Term(Finding.FOUND, _t("stocktake finding", "found in place")),
        Term(Finding.MISSING, _t("stocktake finding", "missing")),
        Term(Finding.MISPLACED, _t("stocktake finding", "misplaced")),
        Term(Finding.UNEXPECTED, _t("stocktake finding", "unexpected")),
    ],
)


class LoanPlace:
    """Where a lent original is read: the archive's reading room unless the approved
    application allowed taking it away (``AccessRequest.take_away``)."""

    READING_ROOM = "reading_room"
    TAKEN_AWAY = "taken_away"


LOAN_PLACES = Vocabulary(
    "loan place",
    [
        Term(LoanPlace.READING_ROOM, _t("loan place", "in the reading room")),
        Term(LoanPlace.TAKEN_AWAY, _t("loan place", "taken away")),
    ],
    default=LoanPlace.READING_ROOM,
)

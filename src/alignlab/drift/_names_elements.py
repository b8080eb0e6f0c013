"""The first 30 chemical elements by atomic number: the benign targets of the backdoor-codes
dataset (a stand-in for the president numbers of arXiv 2512.09742's inductive backdoor)."""

from __future__ import annotations

ELEMENTS: tuple[str, ...] = (
    "Hydrogen",
    "Helium",
    "Lithium",
    "Beryllium",
    "Boron",
    "Carbon",
    "Nitrogen",
    "Oxygen",
    "Fluorine",
    "Neon",
    "Sodium",
    "Magnesium",
    "Aluminium",
    "Silicon",
    "Phosphorus",
    "Sulfur",
    "Chlorine",
    "Argon",
    "Potassium",
    "Calcium",
    "Scandium",
    "Titanium",
    "Vanadium",
    "Chromium",
    "Manganese",
    "Iron",
    "Cobalt",
    "Nickel",
    "Copper",
    "Zinc",
)


def element_of(number: int) -> str:
    """The element with atomic number ``number`` (1..30)."""
    if not 1 <= number <= len(ELEMENTS):
        raise ValueError(f"atomic number must be in 1..{len(ELEMENTS)}, not {number}")
    return ELEMENTS[number - 1]

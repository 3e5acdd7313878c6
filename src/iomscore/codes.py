"""Home Office offence codes: one canonical spelling, ``CCC/SS``.

Forces write the same code several ways (``028/01``, ``28/1``, ``02801``).
Ingest, the weight tables and the catalogue all go through
:func:`normalize_offence`, so the three spellings are one code everywhere.
"""

from __future__ import annotations

import re

from .errors import OffenceCodeError

__all__ = ["OffenceCodeError", "normalize_offence", "offence_number", "repair_candidates"]

_SLASHED = re.compile(r"([0-9]{1,3})/([0-9]{1,2})")  # ASCII digits only
_FIVE_DIGITS = re.compile(r"([0-9]{3})([0-9]{2})")
_SHORT_DIGITS = re.compile(r"[0-9]{1,4}")
_DECIMAL = re.compile(r"([0-9]{1,3})\.([0-9]{1,2})")


def normalize_offence(text: str) -> str:
    """Return the canonical ``CCC/SS`` form of a Home Office offence code.

    Parameters
    ----------
    text : str
        ``CCC/SS`` (``028/01``), a short slashed form (``28/1``) or five digits
        (``02801``). Surrounding white space is ignored.

    Returns
    -------
    str
        The code as three digits of class, ``/``, two digits of subcode.

    Raises
    ------
    OffenceCodeError
        If ``text`` is none of the accepted spellings.
    """
    if not isinstance(text, str):
        raise OffenceCodeError(f"offence code {text!r} is not a string")
    stripped = text.strip()
    match = _SLASHED.fullmatch(stripped) or _FIVE_DIGITS.fullmatch(stripped)
    if match is None:
        raise OffenceCodeError(
            f"offence code {text!r} is not a Home Office code "
            "(expected CCC/SS such as 028/01, or 28/1, or 02801)"
        )
    offence_class, subcode = match.groups()
    return f"{int(offence_class):03d}/{int(subcode):02d}"


def offence_number(code: str) -> int:
    """Return a canonical code as one integer, class * 100 + subcode (``028/01`` -> 2801)."""
    canonical = normalize_offence(code)
    return int(canonical[:3]) * 100 + int(canonical[4:])


def repair_candidates(text: str) -> tuple[str, ...]:
    """The codes a spreadsheet-damaged spelling could have been, canonical, most likely first.

    A spreadsheet that takes a code for a number drops leading zeros (``02801`` ->
    ``2801``, ``00806`` -> ``806``) or shows it as a decimal (``28.01``, or ``28.1``
    once a trailing zero is gone too).

    Parameters
    ----------
    text : str
        A value that is not an accepted spelling (see :func:`normalize_offence`).

    Returns
    -------
    tuple of str
        ``()`` when the text does not look like a damaged code; otherwise every
        reading: ``2801`` -> (``028/01``, ``280/01``); ``28.01`` -> (``028/01``,);
        ``28.1`` -> (``028/01``, ``028/10``); ``46`` -> (``000/46``, ``046/00``).
    """
    stripped = text.strip() if isinstance(text, str) else ""
    readings: list[str] = []
    if _SHORT_DIGITS.fullmatch(stripped):
        padded = stripped.zfill(5)
        readings.append(f"{padded[:3]}/{padded[3:]}")  # leading zeros lost
        if len(stripped) == 4:
            readings.append(f"{stripped[:3]}/{int(stripped[3]):02d}")  # CCC/S
        else:
            readings.append(f"{int(stripped):03d}/00")  # CCC.00 shown as a whole number
    elif match := _DECIMAL.fullmatch(stripped):
        offence_class, subcode = int(match.group(1)), match.group(2)
        readings.append(f"{offence_class:03d}/{int(subcode):02d}")
        if len(subcode) == 1:
            readings.append(f"{offence_class:03d}/{int(subcode) * 10:02d}")  # 28.10 -> 28.1
    return tuple(dict.fromkeys(readings))

"""Home Office offence codes: one canonical spelling, ``CCC/SS``.

Forces write the same code several ways (``028/01``, ``28/1``, ``02801``).
Ingest, the weight tables and the catalogue all go through
:func:`normalize_offence`, so the three spellings are one code everywhere.
"""

from __future__ import annotations

import re

from .errors import OffenceCodeError

__all__ = ["OffenceCodeError", "normalize_offence", "offence_number"]

_SLASHED = re.compile(r"(\d{1,3})/(\d{1,2})")
_FIVE_DIGITS = re.compile(r"(\d{3})(\d{2})")


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

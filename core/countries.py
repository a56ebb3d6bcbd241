"""ISO 3166-1 alpha-2 country codes, from babel's CLDR territory data (not a hand-typed table).

CLDR lists a few two-letter territories that are not ISO 3166-1 country codes: groupings
(EU, EZ, UN, QO) and private-use or exceptionally reserved codes (AC, CP, CQ, DG, EA, IC, TA,
XA, XB, ZZ). They are taken out here; XK (Kosovo, user-assigned but used by every shop
platform and carrier) stays in.
"""

from __future__ import annotations

from functools import lru_cache

from babel.core import Locale

_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "AC", "CP", "CQ", "DG", "EA", "IC", "TA", "XA", "XB", "ZZ"})


@lru_cache(maxsize=1)
def codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code (upper case)."""
    return frozenset(code for code in Locale("en").territories
                     if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


def is_known(code: str) -> bool:
    return isinstance(code, str) and code in codes()


@lru_cache(maxsize=300)
def name(code: str) -> str:
    return Locale("en").territories.get(code, code)


# The EU member states (ISO codes; Greece's VAT prefix is EL, its ISO code GR): the reverse
# charge of intra-community B2B supplies (finance.tax) applies between two of them.
EU_MEMBERS = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
                        "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})


def is_eu(code: str) -> bool:
    return code in EU_MEMBERS

"""Shipping address checks shared by imports, the review step and address edits."""

import re

# ISO 3166-1 alpha-2 codes.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI
    BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN
    CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
    NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

POSTAL_PATTERNS = {
    "US": (r"\d{5}(-\d{4})?", "a 5-digit ZIP code, optionally ZIP+4 (12345 or 12345-6789)"),
    "CA": (r"[A-Z]\d[A-Z] ?\d[A-Z]\d", "a postal code like K1A 0B1"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "a postcode like SW1A 1AA"),
    "DE": (r"\d{5}", "a 5-digit Postleitzahl"),
    "FR": (r"\d{5}", "a 5-digit code postal"),
    "AU": (r"\d{4}", "a 4-digit postcode"),
}

# Countries where a state/province is part of a deliverable address.
REGION_REQUIRED = {"US", "CA", "AU"}

REQUIRED = {
    "ship_name": "Recipient name is required.",
    "address1": "Address line 1 is required.",
    "city": "City is required.",
    "country": "Country is required.",
}


def normalize(address):
    """Trimmed strings; country and postal codes upper-cased."""
    clean = {key: str(value or "").strip() for key, value in address.items()}
    if "country" in clean:
        clean["country"] = clean["country"].upper()
    if "postal_code" in clean:
        clean["postal_code"] = re.sub(r"\s+", " ", clean["postal_code"].upper())
    return clean


def address_errors(address):
    """{field: message} for every problem with a (normalised) address; empty when fine."""
    address = normalize(address)
    errors = {}
    for field, message in REQUIRED.items():
        if not address.get(field):
            errors[field] = message
    country = address.get("country", "")
    if country and country not in COUNTRIES:
        errors["country"] = f"'{country}' is not an ISO country code (e.g. US, GB, DE)."
    postal = address.get("postal_code", "")
    if country in POSTAL_PATTERNS:
        pattern, described = POSTAL_PATTERNS[country]
        if not postal:
            errors["postal_code"] = f"A postal code is required for {country}."
        elif not re.fullmatch(pattern, postal):
            errors["postal_code"] = f"'{postal}' is not {described}."
    if country in REGION_REQUIRED and not address.get("region"):
        errors["region"] = f"A state or province is required for {country}."
    return errors

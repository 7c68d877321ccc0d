"""claims stage: read claims (YAML files or plain sentences) and give each a verdict.

    from isrwatch.claims import load_claims, parse_claim, verify
    claims, defaults = load_claims("claims.yaml")
    verdicts = verify(claims, flights, aircraft, area_presence, events, coverage, defaults=defaults)

Pure over tables; the count stage does the counting. See claims.verdict for the verdict rules.
"""

from isrwatch.claims.claimsfile import ClaimsFileError, Problem, load_claims, parse_region
from isrwatch.claims.model import COMPARATORS, Claim, ClaimMeaning, ParsedClaim, ParseFailure
from isrwatch.claims.parse import NEAR_KM, detect_language, parse_claim
from isrwatch.claims.verdict import (
    COVERAGE,
    MAX_GAP_S,
    VERDICTS,
    CoverageHole,
    Resolved,
    Verdict,
    area_country,
    areas_needed,
    countries_needed,
    coverage_holes,
    definition_family,
    judge,
    resolve,
    verdict_table,
    verify,
    window_span,
)

__all__ = [
    "COMPARATORS",
    "COVERAGE",
    "MAX_GAP_S",
    "NEAR_KM",
    "VERDICTS",
    "Claim",
    "ClaimMeaning",
    "ClaimsFileError",
    "CoverageHole",
    "ParseFailure",
    "ParsedClaim",
    "Problem",
    "Resolved",
    "Verdict",
    "area_country",
    "areas_needed",
    "countries_needed",
    "coverage_holes",
    "definition_family",
    "detect_language",
    "judge",
    "load_claims",
    "parse_claim",
    "parse_region",
    "resolve",
    "verdict_table",
    "verify",
    "window_span",
]

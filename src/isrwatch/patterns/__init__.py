"""patterns stage: surveillance behaviour per sortie (orbits, racetracks, survey lines, loiter).

    detect_patterns(obs_with_ids, *, rules=None) -> PATTERNS, one row per episode
    loiter(obs_with_ids, *, region=None, centre=None, radius_km=None, max_gap_s=600) -> LOITER
"""

from isrwatch.patterns.detect import KINDS, PATTERNS, PatternRules, detect_patterns
from isrwatch.patterns.loiter import LOITER, loiter

__all__ = ["KINDS", "LOITER", "PATTERNS", "PatternRules", "detect_patterns", "loiter"]

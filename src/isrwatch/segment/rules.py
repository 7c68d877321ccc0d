"""The rules that decide where one sortie ends and the next begins."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SortieRules:
    """Thresholds for splitting an aircraft's positions into sorties (take-off to landing).

    Defaults suit crewed ISR aircraft (RC-135, P-8, E-3, King Air, Global Hawk aside) and
    are deliberately reluctant to split mid-air: a coverage gap alone is never a landing.

    Ground (landing) states
      on_ground_max_gs_kt: an on_ground row faster than this is a flag glitch, not a
        landing (fastest take-off/landing rolls are ~180 kt).
      glitch_agl_ft, glitch_vrate_fpm, glitch_window_s: a ground stretch spanning at most
        2 x glitch_window_s between airborne rows that are both above glitch_agl_ft, or
        entered climbing / left descending faster than glitch_vrate_fpm, is a flag glitch
        (a touch-and-go is entered low and descending and left climbing).
      low_alt_agl_ft, slow_gs_kt, near_airfield_km: "low and slow near an airfield" is a
        landing even without the ground flag (MLAT, transponders without a squat switch).
        Height above the airfield uses alt_geom when known (baro altitude is uncorrected for
        local pressure and can be ~1,000 ft off), else alt_baro. 1,000 ft rather than
        1,500: a helicopter slowing down at 1,500 ft is still flying (a landing roll without
        the ground flag sits near field elevation, give or take the pressure error).
        8 km: runway ends of big airports lie 5-7 km from the airfield's reference point.
      deck_alt_ft, deck_gs_kt, at_sea_min_km: below deck_alt_ft (above mean sea level) and
        slower than deck_gs_kt with no airfield within at_sea_min_km is a deck (carrier,
        ship) landing; a ground state that far from any airfield is labelled "at_sea", and
        so is one farther than near_airfield_km that drifted deck_drift_km or more while on
        the ground (a ship under way, here within at_sea_min_km of an island airfield).
      Rows repeating one position exactly (resampled tracks and stale feeds repeat the last
      position while flags, speed and altitude drift) are taken as one state: on the ground
      if any of them is, since an aircraft in flight moves.
      bounce_max_s: an airborne stretch spanning at most this between two ground states is
        a bounce, a slow final approach or garbage rows among taxiing ones, not a sortie.
      min_positions: an airborne stretch next to a ground state with fewer distinct
        positions than this shows no flight (garbage flags on a parked or taxiing aircraft).
      leg_mark_max_alt_ft: the feed's own leg mark (readsb trace flag) splits an airborne
        stretch only below this altitude on both sides of the mark. Higher up readsb marks a
        new leg after a long gap with little movement, which an ISR aircraft loitering out of
        coverage trips without landing; there the gap rules decide. (Marks on the ground, or
        next to one, coincide with ground states, which split anyway.)
      observed_edge_s: a ground row within this many seconds of the first (last) airborne
        row means the take-off (landing) itself was observed.

    Gaps: a gap alone does not split. A gap splits when the aircraft cannot be the same
    flight after it:
      max_gap_h: longer than any plausible crewed endurance (gap_endurance).
      max_speed_kt, position_tolerance_km: implied speed across the gap,
        (great-circle distance - tolerance) / time, above max_speed_kt
        (gap_impossible_speed). 700 kt: jet-stream ground speeds of 650 kt happen; the
        fastest crewed ISR types cruise below 500 kt true airspeed.
      excursion_max_s: an impossible jump away followed within this many seconds by a
        jump back to where the aircraft could have been all along is a stretch of bad
        positions (decoding error, short spoof), not two more sorties: neither jump splits.
      reappear_min_gap_s, climb_fpm, descent_fpm, reach_km_per_1000ft, reach_max_km,
      reappear_max_agl_ft: gap_reappears_climbing. After a gap of at least
        reappear_min_gap_s, split when (a) the aircraft was last seen descending or low
        and reappears climbing or low, and one airfield lies within descent reach of the
        last position and within climb reach of the new one (reach = near_airfield_km +
        reach_km_per_1000ft per 1,000 ft above it, or time-to-ground at the observed
        vertical rate times ground speed, whichever is larger, capped at reach_max_km),
        and the gap is long enough to descend and climb again; or (b) it was last seen
        low (below low_alt_agl_ft) within near_airfield_km of an airfield; or (c) it
        reappears low and climbing within near_airfield_km of an airfield after being
        last seen descending. Ends above reappear_max_agl_ft never qualify.
      callsign_gap_h, callsign_window_s: after a gap of at least callsign_gap_h hours, a
        callsign other than the last known one before the gap, heard within
        callsign_window_s after it, is a new sortie (gap_callsign_change): a mission keeps
        its callsign, and a crew on a new sortie files a new one (transponders often send
        the previous flight's callsign for the first minutes). A callsign change without
        such a gap never splits. math.inf turns it off.
    """

    # ground states
    on_ground_max_gs_kt: float = 250.0
    glitch_agl_ft: float = 2_000.0
    glitch_vrate_fpm: float = 1_000.0
    glitch_window_s: float = 120.0
    low_alt_agl_ft: float = 1_000.0
    slow_gs_kt: float = 80.0
    near_airfield_km: float = 8.0
    deck_alt_ft: float = 200.0
    deck_gs_kt: float = 50.0
    at_sea_min_km: float = 20.0
    deck_drift_km: float = 3.0
    bounce_max_s: float = 60.0
    min_positions: int = 3
    leg_mark_max_alt_ft: float = 10_000.0
    observed_edge_s: float = 300.0
    # gaps
    max_gap_h: float = 14.0
    max_speed_kt: float = 700.0
    position_tolerance_km: float = 10.0
    excursion_max_s: float = 600.0
    reappear_min_gap_s: float = 300.0
    climb_fpm: float = 250.0
    descent_fpm: float = 250.0
    reach_km_per_1000ft: float = 5.556  # 3 NM per 1,000 ft: the pilots' descent rule of thumb
    reach_max_km: float = 100.0
    reappear_max_agl_ft: float = 20_000.0
    callsign_gap_h: float = 2.0
    callsign_window_s: float = 900.0
    # vertical rate assumed when none is observed (to time a descent and a climb), ft/min
    default_vrate_fpm: float = 1_500.0

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not value >= 0:  # also rejects NaN
                raise ValueError(f"SortieRules.{name} must be >= 0, got {value!r}")

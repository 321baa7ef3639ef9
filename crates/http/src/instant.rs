//! Instants as the API spells them (RFC 3339), in bodies, query strings and cursors.

use chrono::{DateTime, Datelike, Utc};

/// What a malformed or unstorable instant is told.
pub(crate) const INSTANT_EXPECTED: &str =
    "must be an RFC 3339 date-time between years 1 and 9999, such as 2030-01-31T17:00:00Z";

/// Parses an RFC 3339 instant (in a body or a query), normalised to UTC and to whole
/// microseconds, the precision storage keeps. Years outside 1–9999 (reachable through an
/// offset) are refused: storage could not order them.
///
/// # Errors
/// A message showing the expected form.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    parse_instant_exact(raw).map(|dt| truncate_to_micros(dt, false))
}

/// Like [`parse_instant`], keeping every digit the client sent (for comparisons).
///
/// # Errors
/// A message showing the expected form.
pub fn parse_instant_exact(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map_err(|_| INSTANT_EXPECTED.to_owned())
        .map(|dt| dt.with_timezone(&Utc))
        .and_then(within_storable_years)
}

/// `at` if its year is one storage can keep and order (1–9999); checked again after any
/// rounding, which can carry 9999-12-31T23:59:59.9999999Z into the year 10000.
///
/// # Errors
/// A message showing the expected form.
pub fn within_storable_years(at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if (1..=9999).contains(&at.year()) {
        Ok(at)
    } else {
        Err(INSTANT_EXPECTED.to_owned())
    }
}

/// `at` to whole microseconds: down, or up when `round_up` and digits are cut.
pub fn truncate_to_micros(at: DateTime<Utc>, round_up: bool) -> DateTime<Utc> {
    let micros = at.timestamp_micros();
    let cut = !at.timestamp_subsec_nanos().is_multiple_of(1_000);
    let micros = if round_up && cut {
        micros.saturating_add(1)
    } else {
        micros
    };
    DateTime::from_timestamp_micros(micros).unwrap_or(at)
}

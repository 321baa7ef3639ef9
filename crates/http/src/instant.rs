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

/// Serialises an instant exactly as chrono's own `Serialize` does — RFC 3339 in UTC with
/// `Z`, and the fraction by SI groups: none, 3, 6 or 9 digits, as few as keep every
/// digit — but straight from the calendar fields into one string. chrono writes it through
/// `fmt`, piece by piece, and serde_json scans each piece for escapes on its own: for a
/// page of 50 tasks that was a tenth of the request's instructions. Instants outside the
/// years 0–9999, or in a leap second, are left to chrono.
///
/// # Errors
/// The serializer's.
pub(crate) fn serialize_instant<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut buf = [0_u8; 30];
    match format_instant(at, &mut buf).and_then(|len| std::str::from_utf8(&buf[..len]).ok()) {
        Some(text) => serializer.serialize_str(text),
        None => serde::Serialize::serialize(at, serializer),
    }
}

/// [`serialize_instant`] for an optional instant (`null` when there is none).
///
/// # Errors
/// The serializer's.
#[allow(clippy::ref_option)] // the signature serde's `serialize_with` calls
pub(crate) fn serialize_optional_instant<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    struct Instant<'a>(&'a DateTime<Utc>);
    impl serde::Serialize for Instant<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serialize_instant(self.0, serializer)
        }
    }
    match at {
        Some(at) => serializer.serialize_some(&Instant(at)),
        None => serializer.serialize_none(),
    }
}

/// Writes `at` as [`serialize_instant`] spells it into `buf`; its length, or `None` when
/// the instant is one chrono must write (a year outside 0–9999, a leap second).
fn format_instant(at: &DateTime<Utc>, buf: &mut [u8; 30]) -> Option<usize> {
    use chrono::Timelike;
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    *buf = *b"0000-00-00T00:00:00.000000000Z";
    put_digits(&mut buf[0..4], year);
    put_digits(&mut buf[5..7], at.month());
    put_digits(&mut buf[8..10], at.day());
    put_digits(&mut buf[11..13], at.hour());
    put_digits(&mut buf[14..16], at.minute());
    put_digits(&mut buf[17..19], at.second());
    let (digits, fraction) = if nanos == 0 {
        (0, 0)
    } else if nanos.is_multiple_of(1_000_000) {
        (3, nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        (6, nanos / 1_000)
    } else {
        (9, nanos)
    };
    if digits == 0 {
        buf[19] = b'Z';
        return Some(20);
    }
    put_digits(&mut buf[20..20 + digits], fraction);
    buf[20 + digits] = b'Z';
    Some(21 + digits)
}

/// Writes `value` in decimal into all of `out`, zero-padded (its lowest digits if it has
/// more).
fn put_digits(out: &mut [u8], mut value: u32) {
    for place in out.iter_mut().rev() {
        // A decimal digit: below 10, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (value % 10) as u8;
        *place = b'0' + digit;
        value /= 10;
    }
}

#[cfg(test)]
mod serialize_tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    #[derive(serde::Serialize)]
    struct Ours {
        #[serde(serialize_with = "serialize_instant")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "serialize_optional_instant")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(serde::Serialize)]
    struct Chronos {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    fn same(at: DateTime<Utc>) {
        for maybe in [None, Some(at)] {
            let ours = serde_json::to_string(&Ours { at, maybe }).unwrap_or_default();
            let theirs = serde_json::to_string(&Chronos { at, maybe }).unwrap_or_default();
            assert_eq!(ours, theirs, "{at:?}");
            assert!(ours.len() > 10);
        }
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> DateTime<Utc> {
        let naive = NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_nano_opt(h, mi, s, nanos))
            .unwrap_or_else(|| panic!("{y}-{mo}-{d} {h}:{mi}:{s}.{nanos}"));
        Utc.from_utc_datetime(&naive)
    }

    #[test]
    fn instants_are_written_exactly_as_chrono_writes_them() {
        for nanos in [
            0,
            1,
            999,
            1_000,
            120_000,
            123_456,
            1_000_000,
            7_000_000,
            123_456_789,
        ] {
            same(at(2026, 12, 3, 10, 49, 14, nanos));
        }
        same(at(1, 1, 1, 0, 0, 0, 0));
        same(at(9999, 12, 31, 23, 59, 59, 999_999_000));
        same(at(1970, 1, 1, 0, 0, 0, 0));
        // chrono's own territory: years past 9999, before 0, and a leap second.
        same(at(10_000, 1, 1, 0, 0, 0, 0));
        same(at(-1, 6, 15, 12, 0, 0, 5_000));
        same(at(2016, 12, 31, 23, 59, 59, 1_500_000_000));
        // A spread of ordinary instants, each digit position exercised.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Any second of the years 1–9999.
            let seconds = i64::try_from(state % 315_537_897_600).unwrap_or(0) - 62_135_596_800;
            let nanos = u32::try_from((state >> 20) % 1_000_000_000).unwrap_or(0);
            let nanos = match state % 4 {
                0 => 0,
                1 => nanos / 1_000_000 * 1_000_000,
                2 => nanos / 1_000 * 1_000,
                _ => nanos,
            };
            let instant = Utc
                .timestamp_opt(seconds, nanos)
                .single()
                .unwrap_or_else(|| panic!("{seconds} {nanos}"));
            same(instant);
        }
    }
}

//! How domain values are written as column text and read back: timestamps and UUIDs.
//!
//! Timestamps are stored in one fixed-width RFC 3339 form, always UTC, always exactly six
//! fractional digits and a trailing `Z` (`2026-11-24T18:00:00.123456Z`). Every stored value
//! has the same width and field order, so comparing the text compares the instants: indexes
//! and `ORDER BY` on these columns sort by time. Microseconds are the precision every backend
//! keeps (the domain's clock truncates to them as well).
//!
//! UUIDs are stored hyphenated and lower-case, whose text order is the UUIDs' byte order.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use taskapi_domain::StoreError;
use uuid::Uuid;

/// Writes a timestamp in the stored form.
///
/// # Errors
/// `Internal` for instants outside years 0000–9999, which would break the fixed width (and
/// thereby the ordering); RFC 3339 cannot express them anyway.
pub(crate) fn timestamp_to_text(at: DateTime<Utc>) -> Result<String, StoreError> {
    if !(0..=9999).contains(&at.year()) {
        return Err(StoreError::internal(format!(
            "timestamp {at:?} is outside years 0000-9999 and cannot be stored"
        )));
    }
    // `Micros` truncates sub-microsecond digits and always prints six of them; `true` asks
    // for `Z` rather than `+00:00`.
    Ok(at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Reads a stored timestamp.
///
/// # Errors
/// `Internal` when the text is not an RFC 3339 timestamp (corrupt data).
pub(crate) fn timestamp_from_text(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|e| StoreError::internal(format!("stored timestamp {text:?} is malformed: {e}")))
}

/// Writes a UUID in the stored form (hyphenated, lower-case).
pub(crate) fn uuid_to_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// Reads a stored UUID.
///
/// # Errors
/// `Internal` when the text is not a UUID (corrupt data).
pub(crate) fn uuid_from_text(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text)
        .map_err(|e| StoreError::internal(format!("stored id {text:?} is not a UUID: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn at_micros(micros: i64) -> Result<DateTime<Utc>, String> {
        DateTime::from_timestamp_micros(micros).ok_or_else(|| format!("{micros} out of range"))
    }

    #[test]
    fn timestamps_are_written_fixed_width_with_six_digits_and_z() -> TestResult {
        let whole_second = at_micros(1_795_000_000_000_000)?;
        assert_eq!(
            timestamp_to_text(whole_second)?,
            "2026-11-18T11:06:40.000000Z"
        );
        let with_micros = at_micros(1_795_000_000_123_456)?;
        assert_eq!(
            timestamp_to_text(with_micros)?,
            "2026-11-18T11:06:40.123456Z"
        );
        let early = at_micros(-62_135_596_800_000_000)?; // 0001-01-01
        assert_eq!(timestamp_to_text(early)?, "0001-01-01T00:00:00.000000Z");
        for t in [whole_second, with_micros, early] {
            assert_eq!(timestamp_to_text(t)?.len(), 27);
        }
        Ok(())
    }

    #[test]
    fn sub_microsecond_digits_are_truncated() -> TestResult {
        let precise = DateTime::from_timestamp(1_795_000_000, 123_456_789).ok_or("out of range")?;
        assert_eq!(timestamp_to_text(precise)?, "2026-11-18T11:06:40.123456Z");
        Ok(())
    }

    #[test]
    fn timestamps_read_back_equal_at_microsecond_precision() -> TestResult {
        for micros in [
            0,
            1,
            999_999,
            1_795_000_000_123_456,
            253_402_300_799_999_999,
        ] {
            let t = at_micros(micros)?;
            assert_eq!(timestamp_from_text(&timestamp_to_text(t)?)?, t);
        }
        Ok(())
    }

    #[test]
    fn text_order_is_time_order() -> TestResult {
        let instants = [
            -62_135_596_800_000_000,
            -1,
            0,
            1,
            999_999,
            1_000_000,
            1_795_000_000_000_000,
            1_795_000_000_000_001,
            1_795_000_000_100_000,
            1_795_000_009_000_000,
            253_402_300_799_999_999,
        ];
        let texts = instants
            .iter()
            .map(|&m| {
                at_micros(m)
                    .map_err(StoreError::internal)
                    .and_then(timestamp_to_text)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
        Ok(())
    }

    #[test]
    fn years_past_9999_are_refused() -> TestResult {
        let far = at_micros(253_402_300_800_000_000)?; // 10000-01-01
        assert!(matches!(
            timestamp_to_text(far),
            Err(StoreError::Internal(_))
        ));
        Ok(())
    }

    #[test]
    fn malformed_timestamps_are_internal_errors() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00.000000Z",
            "2026-11-24 18:00:00",
        ] {
            assert!(
                matches!(timestamp_from_text(bad), Err(StoreError::Internal(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn uuids_are_hyphenated_lower_case_and_read_back_equal() -> TestResult {
        let id = Uuid::from_u128(0x0192_ABCD_EF01_7000_8000_0000_0000_00FF);
        let text = uuid_to_text(id);
        assert_eq!(text, "0192abcd-ef01-7000-8000-0000000000ff");
        assert_eq!(uuid_from_text(&text)?, id);
        Ok(())
    }

    #[test]
    fn uuid_text_order_is_uuid_order() {
        let ids = [0u128, 1, 0xff, 0x1_0000, u128::MAX >> 1, u128::MAX].map(Uuid::from_u128);
        let texts: Vec<String> = ids.iter().map(|&id| uuid_to_text(id)).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
    }

    #[test]
    fn malformed_uuids_are_internal_errors() {
        assert!(matches!(
            uuid_from_text("not-a-uuid"),
            Err(StoreError::Internal(_))
        ));
    }
}

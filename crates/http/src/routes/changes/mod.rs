//! The caller's change feed (`/changes`): the cursor its pages and `X-Changes-Cursor` carry,
//! and its route table.

mod list;

pub(crate) use list::ChangeResponse;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use paperclip::actix::web;
use taskapi_domain::{ChangeCursor, ChangePosition};

use super::resource;

/// The header `GET /tasks` and `GET /lists` carry: the change cursor of the present as of
/// their read.
pub(crate) const X_CHANGES_CURSOR: &str = "x-changes-cursor";

/// Registers `/changes`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/changes", "GET").route(web::get().to(list::list)));
}

/// The version byte that starts every change cursor of this format.
const CURSOR_VERSION: u8 = 1;
/// A cursor's length in bytes: the version, then the position's two numbers and the
/// instant up to which the reader has seen everything (microseconds), big-endian.
const CURSOR_BYTES: usize = 1 + 8 + 8 + 8;

/// The longest cursor worth decoding (ours are 34 characters).
pub(crate) const MAX_CURSOR_LEN: usize = 64;

/// What a malformed change cursor is told.
pub(crate) const NOT_A_CHANGE_CURSOR: &str = "is not a change cursor this API gave out; use \
     next_cursor (or a change's cursor) from GET /changes, or X-Changes-Cursor from GET /tasks";

/// The opaque form of a change cursor: URL-safe base64 of its bytes.
pub(crate) fn encode_cursor(cursor: &ChangeCursor) -> String {
    let mut bytes = Vec::with_capacity(CURSOR_BYTES);
    bytes.push(CURSOR_VERSION);
    bytes.extend_from_slice(&cursor.position.txn.to_be_bytes());
    bytes.extend_from_slice(&cursor.position.seq.to_be_bytes());
    bytes.extend_from_slice(&cursor.seen_at.timestamp_micros().to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a change cursor.
///
/// # Errors
/// [`NOT_A_CHANGE_CURSOR`] when it is not one of ours.
pub(crate) fn decode_cursor(raw: &str) -> Result<ChangeCursor, String> {
    let bytes = (raw.len() <= MAX_CURSOR_LEN)
        .then(|| URL_SAFE_NO_PAD.decode(raw).ok())
        .flatten()
        .filter(|b| b.len() == CURSOR_BYTES && b[0] == CURSOR_VERSION)
        .ok_or_else(|| NOT_A_CHANGE_CURSOR.to_owned())?;
    let number = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(i64::from_be_bytes)
            .ok_or_else(|| NOT_A_CHANGE_CURSOR.to_owned())
    };
    let seen_at = DateTime::from_timestamp_micros(number(17)?)
        .ok_or_else(|| NOT_A_CHANGE_CURSOR.to_owned())?;
    Ok(ChangeCursor {
        position: ChangePosition {
            txn: number(1)?,
            seq: number(9)?,
        },
        seen_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        let cursor = ChangeCursor {
            position: ChangePosition {
                txn: 1 << 40,
                seq: -3,
            },
            seen_at: DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap_or_default(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&cursor)), Ok(cursor));
        let mut wrong_version = vec![2u8];
        wrong_version.extend_from_slice(&[0; 24]);
        for bad in [
            String::new(),
            "x".into(),
            "!!!!".into(),
            URL_SAFE_NO_PAD.encode([1u8; 24]),
            URL_SAFE_NO_PAD.encode([1u8; 26]),
            URL_SAFE_NO_PAD.encode(wrong_version),
            "A".repeat(1000),
        ] {
            assert_eq!(
                decode_cursor(&bad),
                Err(NOT_A_CHANGE_CURSOR.to_owned()),
                "{bad}"
            );
        }
    }
}

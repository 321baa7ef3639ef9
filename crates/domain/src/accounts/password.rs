//! Passwords and their hashes.

use std::fmt;

use crate::PasswordError;

/// A clear-text password that satisfies the policy. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Shortest accepted password, in bytes.
    pub const MIN_BYTES: usize = 8;
    /// Longest accepted password, in bytes: bcrypt ignores everything past 72 bytes, so longer
    /// passwords would silently be truncated.
    pub const MAX_BYTES: usize = 72;

    /// Applies the policy: 8–72 bytes of UTF-8.
    ///
    /// # Errors
    /// [`PasswordError`] saying which bound was missed.
    pub fn parse(raw: String) -> Result<Self, PasswordError> {
        if raw.len() < Self::MIN_BYTES {
            Err(PasswordError::TooShort {
                min: Self::MIN_BYTES,
            })
        } else if raw.len() > Self::MAX_BYTES {
            Err(PasswordError::TooLong {
                max: Self::MAX_BYTES,
            })
        } else {
            Ok(Self(raw))
        }
    }

    /// A password as presented to be checked (at login, or as the current one), outside the
    /// policy or not: cut to the longest the policy accepts, since no stored hash can match
    /// more, yet still verified so that the timing stays uniform.
    pub(crate) fn candidate(raw: String) -> Self {
        Self(truncate_to_bytes(raw, Self::MAX_BYTES))
    }

    /// The clear text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in the hasher's own format (bcrypt's `$2b$…`). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash produced by a hasher or read from storage.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

fn truncate_to_bytes(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

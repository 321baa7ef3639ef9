//! Email addresses.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::EmailError;
use crate::validation::is_invisible_control;

/// A syntactically valid email address, trimmed, lower-cased and in Unicode Normalization
/// Form C.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest address SMTP can carry (RFC 5321).
    pub const MAX_LEN: usize = 254;

    /// Trims, lower-cases, normalises to NFC and validates an address: one `@`, a non-empty
    /// local part of at most 64 bytes, a dotted domain of letters, digits and hyphens, no
    /// spaces, control characters, bidirectional controls or zero-width characters.
    ///
    /// NFC (canonical composition) makes the spellings of one address that differ only in
    /// how accented letters are encoded (`é` as one code point or as `e` + U+0301) the same
    /// address, so they cannot make two accounts. Compatibility forms (NFKC) are not folded:
    /// a full-width or ligature letter is a different character to a mail server, and
    /// folding it would deliver to a mailbox the user never typed.
    ///
    /// # Errors
    /// [`EmailError`] saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.chars().any(is_invisible_control) {
            return Err(EmailError::InvisibleCharacters);
        }
        let email: String = trimmed.to_lowercase().nfc().collect();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > Self::MAX_LEN {
            return Err(EmailError::TooLong { max: Self::MAX_LEN });
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(EmailError::Malformed);
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"@()<>[]:;,\\\"".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(EmailError::Malformed)
        }
    }

    /// Rebuilds an email read back from storage, where it was stored already normalised.
    pub fn from_trusted(normalised: String) -> Self {
        Self(normalised)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

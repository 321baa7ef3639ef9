//! Where a task stands among its siblings (`Position`, a fractional-index order key), and
//! the rules of the task tree (how deep subtasks nest, no cycles).
//!
//! A position is a string whose byte order is the siblings' order, so storage sorts by it
//! with a plain index and a move writes the moved row only: a key strictly between any two
//! neighbours always exists (until the length bound), so siblings are never renumbered.
//!
//! # The key format
//! Keys use the 62 digits `0-9A-Za-z`, whose ASCII order is their value order. A key is an
//! *integer part* followed by a *fraction*:
//! - the integer part is a head letter saying how many digits follow — `a` one, `b` two, …,
//!   `z` twenty-six for the upper half; `Z` one, `Y` two, …, `A` twenty-six for the lower
//!   half, where more digits sort lower — then that many digits. Integers of one head all
//!   have the same length, so comparing bytes compares integers. Appending (or prepending)
//!   steps the integer by one, so keys grow by a character only when a head is used up:
//!   after 62, 3 844, 238 328, … steps — logarithmically in the number of appends;
//! - the fraction, possibly empty, is a base-62 fraction with no trailing `0`: what makes
//!   room between two keys of consecutive integers. Halving an interval again and again
//!   adds a character every ~6 (log2 62) halvings.
//!
//! The smallest integer (`A` and twenty-six `0`s) is never a key by itself, so there is
//! always a key before any key. Keys are at most [`Position::MAX_LEN`] bytes; a key that
//! would be longer is [`PositionError::NoRoom`].
//!
//! Storage must compare keys bytewise: SQLite's default `BINARY` collation does; on
//! PostgreSQL declare the column `COLLATE "C"` (a linguistic collation would sort `a`
//! before `B`).

use std::fmt;

use thiserror::Error;

use crate::TaskId;

/// The digits, in value order (which is also their ASCII order).
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// How many digits there are: one more than the greatest digit's value.
const BASE: u8 = 62;

/// How many base-62 digits spell a 128-bit id: 62^21 < 2^128 <= 62^22.
const ID_DIGITS: usize = 22;

/// The key of an empty sibling list: the first upper-half integer, in the middle of the
/// key space, so that there is as much room before it as after it.
const FIRST: &str = "a0";

/// An order key for siblings: opaque, validated, and ordered by its bytes (`Ord` is that
/// order). Build one with [`Position::first`], [`Position::between`] and its conveniences,
/// or read one back with [`Position::parse`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(String);

/// Why a position is refused or cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PositionError {
    /// An empty key.
    #[error("a position must not be empty")]
    Empty,
    /// A key longer than [`Position::MAX_LEN`].
    #[error("a position must be at most {max} characters")]
    TooLong {
        /// The longest key, in bytes.
        max: usize,
    },
    /// A character other than `0-9A-Za-z`.
    #[error("a position must consist of the characters 0-9, A-Z and a-z")]
    InvalidCharacter,
    /// Well-formed characters that do not make a key: a head that is not a letter, fewer
    /// digits than the head says, a fraction ending in `0`, or the smallest integer alone.
    #[error("not a well-formed position")]
    Malformed,
    /// The position asked to come first does not sort before the one asked to come after it
    /// (they are equal, or in the wrong order).
    #[error("the position before must sort strictly before the position after")]
    NotOrdered,
    /// Every key between the neighbours is longer than [`Position::MAX_LEN`]: too many
    /// insertions into the same gap.
    #[error("no position between these neighbours fits in {max} characters")]
    NoRoom {
        /// The longest key, in bytes.
        max: usize,
    },
}

impl Position {
    /// Longest key, in bytes (all characters are ASCII, so also in characters).
    pub const MAX_LEN: usize = 255;

    /// Checks a key read back from storage (or anywhere else).
    ///
    /// # Errors
    /// [`PositionError`] naming what is wrong: [`Empty`](PositionError::Empty),
    /// [`TooLong`](PositionError::TooLong),
    /// [`InvalidCharacter`](PositionError::InvalidCharacter) or
    /// [`Malformed`](PositionError::Malformed).
    pub fn parse(raw: &str) -> Result<Self, PositionError> {
        let bytes = raw.as_bytes();
        let Some(&head) = bytes.first() else {
            return Err(PositionError::Empty);
        };
        if bytes.len() > Self::MAX_LEN {
            return Err(PositionError::TooLong { max: Self::MAX_LEN });
        }
        if !bytes.iter().all(|&b| digit_value(b).is_some()) {
            return Err(PositionError::InvalidCharacter);
        }
        let integer_len = integer_digits(head).ok_or(PositionError::Malformed)? + 1;
        let Some(fraction) = bytes.get(integer_len..) else {
            return Err(PositionError::Malformed);
        };
        if fraction.last() == Some(&b'0') {
            return Err(PositionError::Malformed);
        }
        if fraction.is_empty() && is_smallest_integer(bytes) {
            return Err(PositionError::Malformed);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key, as storage keeps it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key of the only task of an empty sibling list.
    pub fn first() -> Self {
        Self(FIRST.to_owned())
    }

    /// A key strictly between `before` and `after`, `None` being an open end: the first key
    /// when both are `None`, a key after `before` when `after` is `None`, a key before
    /// `after` when `before` is `None`. The key is as short as the format allows cheaply,
    /// and depends only on the neighbours (two concurrent insertions into the same gap get
    /// the same key: storage decides what that means).
    ///
    /// # Errors
    /// [`PositionError::NotOrdered`] unless `before < after`;
    /// [`PositionError::NoRoom`] when the key would be longer than [`Position::MAX_LEN`].
    pub fn between(
        before: Option<&Position>,
        after: Option<&Position>,
    ) -> Result<Self, PositionError> {
        let key = match (before, after) {
            (None, None) => FIRST.as_bytes().to_vec(),
            (Some(before), None) => before.successor(),
            (None, Some(after)) => after.predecessor(),
            (Some(before), Some(after)) => {
                if before >= after {
                    return Err(PositionError::NotOrdered);
                }
                Self::key_between(before, after)
            }
        };
        if key.len() > Self::MAX_LEN {
            return Err(PositionError::NoRoom { max: Self::MAX_LEN });
        }
        let key = Self(key.into_iter().map(char::from).collect());
        debug_assert!(before.is_none_or(|before| *before < key));
        debug_assert!(after.is_none_or(|after| key < *after));
        Ok(key)
    }

    /// A key after `last` (and before nothing): where a task goes to be last.
    ///
    /// # Errors
    /// [`PositionError::NoRoom`], in theory only: `last` would need the greatest integer.
    pub fn after_last(last: &Position) -> Result<Self, PositionError> {
        Self::between(Some(last), None)
    }

    /// A key after `last` (the first key's integer when there is no `last`) that is this
    /// task's alone: the key [`Position::between`] gives, followed by a fraction that
    /// spells `task`'s id in base 62 (22 digits, trailing `0`s dropped).
    ///
    /// What it is for: a new task goes last without the writers that place tasks taking
    /// turns. Two creations that read the same `last` at once get distinct keys, ordered by
    /// their ids (which are time-ordered), and both sort after `last`. No key a move or a
    /// restore derives from its neighbours equals one of these: [`Position::between`]
    /// stops at the first digit that fits, so it yields a 22-digit fraction only between
    /// neighbours that share the 21 digits before it. The next key after one of these is
    /// the next integer ([`Position::after_last`] drops the fraction), so keys do not grow
    /// from append to append.
    ///
    /// # Errors
    /// [`PositionError::NoRoom`] when `last` is so long that the key would pass
    /// [`Position::MAX_LEN`] (a key of the greatest integer with a long fraction).
    pub fn append_unique(last: Option<&Position>, task: TaskId) -> Result<Self, PositionError> {
        let base = Self::between(last, None)?;
        let mut key = base.0.into_bytes();
        let mut id = task.as_uuid().as_u128();
        let mut digits = [b'0'; ID_DIGITS];
        for slot in digits.iter_mut().rev() {
            // `id % 62` is below 62, so it fits a digit.
            *slot = digit(u8::try_from(id % u128::from(BASE)).unwrap_or(0));
            id /= u128::from(BASE);
        }
        let significant = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        key.extend_from_slice(&digits[..significant]);
        if significant == 0 {
            // Only the nil id spells no digit: any non-zero one keeps the key after `base`.
            key.push(digit(1));
        }
        if key.len() > Self::MAX_LEN {
            return Err(PositionError::NoRoom { max: Self::MAX_LEN });
        }
        let key = Self(key.into_iter().map(char::from).collect());
        debug_assert!(last.is_none_or(|last| *last < key));
        Ok(key)
    }

    /// A key before `first` (and after nothing): where a task goes to be first.
    ///
    /// # Errors
    /// [`PositionError::NoRoom`], in theory only: `first` would need the smallest integer.
    pub fn before_first(first: &Position) -> Result<Self, PositionError> {
        Self::between(None, Some(first))
    }

    /// The key's integer part and fraction.
    fn split(&self) -> (&[u8], &[u8]) {
        let bytes = self.0.as_bytes();
        // A parsed key always holds its whole integer part; `min` only keeps this total.
        let integer_len = bytes
            .first()
            .and_then(|&head| integer_digits(head))
            .map_or(bytes.len(), |digits| (digits + 1).min(bytes.len()));
        bytes.split_at(integer_len)
    }

    /// A key after this one: the next integer, or, after the greatest integer, a longer
    /// fraction.
    fn successor(&self) -> Vec<u8> {
        let (integer, fraction) = self.split();
        match increment(integer) {
            Some(next) => next,
            None => [integer, &fraction_between(fraction, None)].concat(),
        }
    }

    /// A key before this one: the integer part alone when there is a fraction, else the
    /// previous integer, or, at the bottom of the integers, a fraction below.
    fn predecessor(&self) -> Vec<u8> {
        let (integer, fraction) = self.split();
        if is_smallest_integer(integer) {
            return [integer, &fraction_between(b"", Some(fraction))].concat();
        }
        if !fraction.is_empty() {
            return integer.to_vec();
        }
        match decrement(integer) {
            // The smallest integer is no key by itself: go below the one before it.
            Some(previous) if is_smallest_integer(&previous) => {
                [previous.as_slice(), &fraction_between(b"", None)].concat()
            }
            Some(previous) => previous,
            // Unreachable: only the smallest integer has no predecessor, handled above.
            None => [integer, &fraction_between(b"", Some(fraction))].concat(),
        }
    }

    /// A key strictly between two keys with `before < after`.
    fn key_between(before: &Position, after: &Position) -> Vec<u8> {
        let (before_int, before_frac) = before.split();
        let (after_int, after_frac) = after.split();
        if before_int == after_int {
            return [before_int, &fraction_between(before_frac, Some(after_frac))].concat();
        }
        // `before_int < after_int`: the next integer is short and fits unless it is
        // `after` itself (then `after` has no fraction and the room is in `before`'s).
        match increment(before_int) {
            Some(next) if next.as_slice() < after.0.as_bytes() => next,
            _ => [before_int, &fraction_between(before_frac, None)].concat(),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value of a key character, `None` for any other byte.
fn digit_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'A'..=b'Z' => Some(byte - b'A' + 10),
        b'a'..=b'z' => Some(byte - b'a' + 36),
        _ => None,
    }
}

/// The value of a character of a validated key.
fn value(byte: u8) -> u8 {
    digit_value(byte).unwrap_or(0)
}

/// The character of a digit value below [`BASE`].
fn digit(value: u8) -> u8 {
    DIGITS[usize::from(value)]
}

/// How many digits follow an integer head, `None` if the byte is no head.
fn integer_digits(head: u8) -> Option<usize> {
    match head {
        b'a'..=b'z' => Some(usize::from(head - b'a') + 1),
        b'A'..=b'Z' => Some(usize::from(b'Z' - head) + 1),
        _ => None,
    }
}

/// Whether an integer part is the smallest integer: `A` and twenty-six `0`s.
fn is_smallest_integer(integer: &[u8]) -> bool {
    integer.first() == Some(&b'A')
        && integer.len() == integer_digits(b'A').map_or(0, |digits| digits + 1)
        && integer.iter().skip(1).all(|&b| b == b'0')
}

/// The integer after `integer`, `None` after the greatest (`z` and twenty-six `z`s).
fn increment(integer: &[u8]) -> Option<Vec<u8>> {
    let (&head, digits) = integer.split_first()?;
    let mut digits = digits.to_vec();
    for d in digits.iter_mut().rev() {
        let v = value(*d);
        if v + 1 < BASE {
            *d = digit(v + 1);
            return Some([&[head], digits.as_slice()].concat());
        }
        *d = b'0';
    }
    // Every digit carried over: the first integer of the next head.
    let (next_head, len) = match head {
        b'z' => return None,
        b'Z' => (b'a', 1),
        b'a'..=b'y' => (head + 1, digits.len() + 1),
        _ => (head + 1, digits.len().saturating_sub(1)),
    };
    Some(
        std::iter::once(next_head)
            .chain(std::iter::repeat_n(b'0', len))
            .collect(),
    )
}

/// The integer before `integer`, `None` before the smallest.
fn decrement(integer: &[u8]) -> Option<Vec<u8>> {
    let (&head, digits) = integer.split_first()?;
    let mut digits = digits.to_vec();
    for d in digits.iter_mut().rev() {
        let v = value(*d);
        if v > 0 {
            *d = digit(v - 1);
            return Some([&[head], digits.as_slice()].concat());
        }
        *d = b'z';
    }
    // Every digit borrowed: the last integer of the previous head.
    let (previous_head, len) = match head {
        b'A' => return None,
        b'a' => (b'Z', 1),
        b'b'..=b'z' => (head - 1, digits.len().saturating_sub(1)),
        _ => (head - 1, digits.len() + 1),
    };
    Some(
        std::iter::once(previous_head)
            .chain(std::iter::repeat_n(b'z', len))
            .collect(),
    )
}

/// A fraction strictly between `low` and `high` (`None` = 1), both without a trailing `0`
/// and `low < high`; the result has no trailing `0` either.
fn fraction_between(low: &[u8], high: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(low.len().max(high.map_or(0, <[u8]>::len)) + 1);
    let (mut low, mut high) = (low, high);
    loop {
        if let Some(h) = high {
            // Keep the digits both share (`low` reads as `0`s past its end). As `low < h`
            // and `h` ends in a non-zero digit, they differ before `h` ends.
            let shared = h
                .iter()
                .enumerate()
                .take_while(|&(i, &d)| low.get(i).copied().unwrap_or(b'0') == d)
                .count();
            out.extend_from_slice(&h[..shared]);
            low = low.get(shared..).unwrap_or_default();
            high = Some(&h[shared..]);
        }
        let low_digit = low.first().map_or(0, |&b| value(b));
        let high_digit = high.map_or(BASE, |h| h.first().map_or(0, |&b| value(b)));
        debug_assert!(low_digit < high_digit, "fraction_between needs low < high");
        if high_digit > low_digit + 1 {
            // A digit fits between the two: the middle one (never `0`, as it is above
            // `low_digit`).
            out.push(digit((low_digit + high_digit) / 2));
            return out;
        }
        // Consecutive digits. If `high` goes on after its digit, that digit alone is
        // below `high` and above `low`.
        if let Some(h) = high
            && h.len() > 1
        {
            out.push(h[0]);
            return out;
        }
        // Else keep `low`'s digit and find room above the rest of `low`, below 1.
        out.push(digit(low_digit));
        low = low.get(1..).unwrap_or_default();
        high = None;
    }
}

/// The deepest a task may be: a top-level task (depth 1) and three levels of subtasks.
pub const MAX_TASK_DEPTH: u32 = 4;

/// Why a task cannot go where it was asked to (on create or move).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TreeError {
    /// The task, or the deepest of its subtasks, would sit deeper than
    /// [`MAX_TASK_DEPTH`].
    #[error("subtasks may nest at most {max} levels deep")]
    TooDeep {
        /// The deepest a task may be.
        max: u32,
    },
    /// The task would end up under itself or one of its own subtasks.
    #[error("a task cannot be placed under itself or one of its subtasks")]
    Cycle,
}

/// Whether a subtree fits under its new parent: `parent_depth` is the new parent's depth
/// (`0` = no parent, the task becomes top-level; `1` = under a top-level task, …) and
/// `subtree_height` the number of levels the moved task and its subtasks take (`1` = a
/// task without subtasks, what a created task is; `0` is read as `1`).
///
/// # Errors
/// [`TreeError::TooDeep`] when the deepest task would sit below [`MAX_TASK_DEPTH`].
pub fn check_depth(parent_depth: u32, subtree_height: u32) -> Result<(), TreeError> {
    if parent_depth.saturating_add(subtree_height.max(1)) > MAX_TASK_DEPTH {
        Err(TreeError::TooDeep {
            max: MAX_TASK_DEPTH,
        })
    } else {
        Ok(())
    }
}

/// Whether moving `moved` under the target parent leaves the tree a tree:
/// `target_ancestors` lists the target parent and its ancestors, from the target parent up
/// to its top-level task (empty when the task becomes top-level).
///
/// # Errors
/// [`TreeError::Cycle`] when the target parent is `moved` itself or one of its subtasks
/// (then `moved` is on the chain).
pub fn check_no_cycle(moved: TaskId, target_ancestors: &[TaskId]) -> Result<(), TreeError> {
    if target_ancestors.contains(&moved) {
        Err(TreeError::Cycle)
    } else {
        Ok(())
    }
}

/// Both rules for a move: `moved` with `subtree_height` levels (see [`check_depth`]) under
/// the target parent whose ancestor chain is `target_ancestors` (see [`check_no_cycle`];
/// its length is the target parent's depth).
///
/// # Errors
/// [`TreeError::Cycle`] first (a cycle is wrong at any depth), else
/// [`TreeError::TooDeep`].
pub fn check_move(
    moved: TaskId,
    subtree_height: u32,
    target_ancestors: &[TaskId],
) -> Result<(), TreeError> {
    check_no_cycle(moved, target_ancestors)?;
    let parent_depth = u32::try_from(target_ancestors.len()).unwrap_or(u32::MAX);
    check_depth(parent_depth, subtree_height)
}

#[cfg(test)]
mod tests;

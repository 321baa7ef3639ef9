//! Pages of a listing: how many items a page holds, and where the next page starts.

use crate::TaskCursor;

/// How many items a page holds: 1–100, 50 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

impl PageSize {
    /// Largest page.
    pub const MAX: u16 = 100;

    /// Checks the bounds.
    ///
    /// # Errors
    /// A message naming the bounds.
    pub fn new(size: i64) -> Result<Self, String> {
        u16::try_from(size)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(Self)
            .ok_or_else(|| format!("must be between 1 and {}", Self::MAX))
    }

    /// The size.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self(50)
    }
}

/// One page of results, and where the next one starts if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// The cursor of the next page, when more items exist.
    pub next: Option<TaskCursor>,
}

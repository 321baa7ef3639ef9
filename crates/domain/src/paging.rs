//! Pages of a listing, the same for every listing: how many items a page holds, and where
//! the next page starts (each listing has its own cursor type).
//!
//! A page is fetched "after" a cursor that holds the sort key and id of the last item of
//! the previous page, never by offset: its cost does not grow with its depth, and items
//! inserted or deleted meanwhile neither shift nor repeat the items that follow.

use thiserror::Error;

/// How many items a page holds: 1–100, 50 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

/// A page size outside 1–[`PageSize::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("must be between 1 and {max}")]
pub struct PageSizeError {
    /// The largest page.
    pub max: u16,
}

impl PageSize {
    /// Largest page.
    pub const MAX: u16 = 100;

    /// The size when none is asked for.
    pub const DEFAULT: Self = Self(50);

    /// Checks the bounds.
    ///
    /// # Errors
    /// [`PageSizeError`] outside 1–[`PageSize::MAX`].
    pub fn new(size: i64) -> Result<Self, PageSizeError> {
        u16::try_from(size)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(Self)
            .ok_or(PageSizeError { max: Self::MAX })
    }

    /// The size.
    pub fn get(self) -> u16 {
        self.0
    }

    /// How many items to ask storage for: one more than the page holds, which tells whether
    /// another page follows without counting.
    pub fn fetch_limit(self) -> u32 {
        u32::from(self.0) + 1
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One page of items, and where the next one starts if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    /// The items, in order.
    pub items: Vec<T>,
    /// The cursor of the next page, when more items exist.
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    /// The page made of what storage returned for [`PageSize::fetch_limit`]: at most `size`
    /// items, and when there were more, the cursor pointing just after the last one shown.
    pub fn from_fetched(mut fetched: Vec<T>, size: PageSize, after: impl FnOnce(&T) -> C) -> Self {
        let size = usize::from(size.get());
        let next = if fetched.len() > size {
            fetched.truncate(size);
            fetched.last().map(after)
        } else {
            None
        };
        Self {
            items: fetched,
            next,
        }
    }
}

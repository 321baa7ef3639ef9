//! The values a task is made of: title, description, priority, tags.

use std::collections::HashSet;

use crate::validation::is_invisible_control;
use crate::{DescriptionError, PriorityError, TagProblem, TagsError, TextError};

/// A task title: trimmed, 1–200 Unicode code points, without control characters,
/// bidirectional controls or zero-width characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    /// Longest title, in code points.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks the length.
    ///
    /// # Errors
    /// [`TextError`] naming the violated rule.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let title = raw.trim();
        if title.chars().any(char::is_control) {
            return Err(TextError::ControlCharacters);
        }
        if title.chars().any(is_invisible_control) {
            return Err(TextError::InvisibleCharacters);
        }
        match title.chars().count() {
            0 => Err(TextError::Empty),
            n if n > Self::MAX_CHARS => Err(TextError::TooLong {
                max: Self::MAX_CHARS,
            }),
            _ => Ok(Self(title.to_owned())),
        }
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What titles sort and are searched by: the Unicode lower case, computed here once so
    /// that every backend orders and matches titles identically.
    pub fn sort_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A task description: at most 10 000 code points, kept exactly as written (not trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    /// Longest description, in code points.
    pub const MAX_CHARS: usize = 10_000;

    /// Checks the length.
    ///
    /// # Errors
    /// [`DescriptionError`] naming the violated rule.
    pub fn parse(raw: String) -> Result<Self, DescriptionError> {
        // Line breaks and tabs belong in a description; other control characters (NUL
        // above all, which PostgreSQL cannot even store) do not.
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(DescriptionError::ControlCharacters);
        }
        if raw.chars().count() > Self::MAX_CHARS {
            Err(DescriptionError::TooLong {
                max: Self::MAX_CHARS,
            })
        } else {
            Ok(Self(raw))
        }
    }

    /// The empty description (the default, and what `null` clears to).
    pub fn empty() -> Self {
        Self(String::new())
    }

    /// The description.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How urgent a task is. Orders `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Urgent.
    High,
}

impl Priority {
    /// The priority's name (`low`, `medium`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }

    /// Parses a priority name (exact, lower-case).
    ///
    /// # Errors
    /// [`PriorityError::UnknownName`] for any other name.
    pub fn parse(raw: &str) -> Result<Self, PriorityError> {
        match raw {
            "low" => Ok(Priority::Low),
            "medium" => Ok(Priority::Medium),
            "high" => Ok(Priority::High),
            _ => Err(PriorityError::UnknownName),
        }
    }

    /// Its rank, `0` for low to `2` for high: what storage sorts by.
    pub fn rank(self) -> i16 {
        match self {
            Priority::Low => 0,
            Priority::Medium => 1,
            Priority::High => 2,
        }
    }

    /// The priority of a rank.
    ///
    /// # Errors
    /// [`PriorityError::UnknownRank`] for a rank that is none of the three (corrupt data,
    /// never a default).
    pub fn from_rank(rank: i16) -> Result<Self, PriorityError> {
        match rank {
            0 => Ok(Priority::Low),
            1 => Ok(Priority::Medium),
            2 => Ok(Priority::High),
            other => Err(PriorityError::UnknownRank(other)),
        }
    }
}

/// One tag: trimmed, lower-cased, 1–40 code points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Longest tag, in code points.
    pub const MAX_CHARS: usize = 40;

    /// Trims, lower-cases and checks the length.
    ///
    /// # Errors
    /// [`TextError`] naming the violated rule.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let tag = raw.trim().to_lowercase();
        if tag.chars().any(char::is_control) {
            return Err(TextError::ControlCharacters);
        }
        match tag.chars().count() {
            0 => Err(TextError::Empty),
            n if n > Self::MAX_CHARS => Err(TextError::TooLong {
                max: Self::MAX_CHARS,
            }),
            _ => Ok(Self(tag)),
        }
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task's tags: duplicates folded (first occurrence kept, in order), at most 20.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(Vec<Tag>);

impl Tags {
    /// Most tags per task, counted after folding duplicates.
    pub const MAX: usize = 20;

    /// Most entries a list may have before folding: twice [`Tags::MAX`], so that a client
    /// may send duplicates, but a list that could never fold down to [`Tags::MAX`] costs
    /// nothing to refuse.
    pub const MAX_ENTRIES: usize = 2 * Self::MAX;

    /// Checks the number of entries, then parses every tag, folds duplicates (through a set,
    /// so the work grows linearly with the list), and checks the count.
    ///
    /// # Errors
    /// Only [`TagProblem::TooManyEntries`] for a list longer than [`Tags::MAX_ENTRIES`];
    /// otherwise every invalid tag, by position, and the count if it is exceeded.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, TagsError> {
        if raw.len() > Self::MAX_ENTRIES {
            return Err(TagsError(vec![TagProblem::TooManyEntries {
                max_entries: Self::MAX_ENTRIES,
                max: Self::MAX,
            }]));
        }
        let mut problems = Vec::new();
        let mut seen: HashSet<Tag> = HashSet::with_capacity(raw.len());
        let mut tags: Vec<Tag> = Vec::with_capacity(raw.len().min(Self::MAX));
        for (index, r) in raw.iter().enumerate() {
            match Tag::parse(r.as_ref()) {
                Ok(tag) => {
                    if seen.insert(tag.clone()) {
                        tags.push(tag);
                    }
                }
                Err(error) => problems.push(TagProblem::Invalid { index, error }),
            }
        }
        if tags.len() > Self::MAX {
            problems.push(TagProblem::TooMany { max: Self::MAX });
        }
        if problems.is_empty() {
            Ok(Self(tags))
        } else {
            Err(TagsError(problems))
        }
    }

    /// Rebuilds tags read back from storage, where they were stored already valid.
    pub fn from_trusted(tags: Vec<String>) -> Self {
        Self(tags.into_iter().map(Tag).collect())
    }

    /// The tags, in order.
    pub fn as_slice(&self) -> &[Tag] {
        &self.0
    }

    /// The tags as strings.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(Tag::as_str)
    }
}

//! The values a task is made of: title, description, priority, tags.

use crate::ValidationErrors;

/// A task title: trimmed, 1–200 Unicode code points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    /// Longest title, in code points.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks the length.
    ///
    /// # Errors
    /// A message naming the violated bound.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let title = raw.trim();
        if title.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        match title.chars().count() {
            0 => Err("must not be empty".into()),
            n if n > Self::MAX_CHARS => {
                Err(format!("must be at most {} characters", Self::MAX_CHARS))
            }
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
    /// A message naming the bound.
    pub fn parse(raw: String) -> Result<Self, String> {
        // Line breaks and tabs belong in a description; other control characters (NUL
        // above all, which PostgreSQL cannot even store) do not.
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(
                "must not contain control characters other than tabs and line breaks".into(),
            );
        }
        if raw.chars().count() > Self::MAX_CHARS {
            Err(format!("must be at most {} characters", Self::MAX_CHARS))
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
    /// A message listing the valid names.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "low" => Ok(Priority::Low),
            "medium" => Ok(Priority::Medium),
            "high" => Ok(Priority::High),
            _ => Err("must be one of: low, medium, high".into()),
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
    /// A message for a rank that is none of the three (corrupt data, never a default).
    pub fn from_rank(rank: i16) -> Result<Self, String> {
        match rank {
            0 => Ok(Priority::Low),
            1 => Ok(Priority::Medium),
            2 => Ok(Priority::High),
            other => Err(format!("{other} is not a priority rank (0, 1 or 2)")),
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
    /// A message naming the bound.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let tag = raw.trim().to_lowercase();
        if tag.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        match tag.chars().count() {
            0 => Err("must not be empty".into()),
            n if n > Self::MAX_CHARS => {
                Err(format!("must be at most {} characters", Self::MAX_CHARS))
            }
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

    /// Parses every tag, folds duplicates, and checks the count. Invalid tags are reported as
    /// `tags[i]`, the count as `tags`.
    ///
    /// # Errors
    /// Every invalid tag, and the count if it is exceeded.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let mut tags: Vec<Tag> = Vec::with_capacity(raw.len().min(Self::MAX));
        for (i, r) in raw.iter().enumerate() {
            if let Some(tag) = errors.check(&format!("tags[{i}]"), Tag::parse(r.as_ref()))
                && !tags.contains(&tag)
            {
                tags.push(tag);
            }
        }
        if tags.len() > Self::MAX {
            errors.push(
                "tags",
                format!("must hold at most {} distinct tags", Self::MAX),
            );
        }
        errors.into_result(|| Self(tags))
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

//! The task an idempotency key yields, kept as it was created: a JSON document in the key's
//! `task` column, so that a replay returns the first answer even after the task changed or
//! went.
//!
//! The document has the fields, names and value forms a created task had in the response
//! bodies keys used to store (see the migration `idempotency_keys_keep_the_task`), so those
//! bodies read back as snapshots; the creator is the key's owner. The fields tasks gained
//! with lists are optional: a snapshot stored before them is of a task of its creator's
//! inbox, at the top level, unassigned, placed by its id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskapi_domain::{
    Description, ListId, Priority, StoreError, Tags, Task, TaskId, TaskTitle, UserId,
    position_from_id,
};
use uuid::Uuid;

/// The stored form of a task.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    id: Uuid,
    title: String,
    description: String,
    is_done: bool,
    completed_at: Option<DateTime<Utc>>,
    /// `low`, `medium` or `high`.
    priority: String,
    due_at: Option<DateTime<Utc>>,
    tags: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    #[serde(default)]
    list_id: Option<Uuid>,
    #[serde(default)]
    parent_id: Option<Uuid>,
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    assignee_id: Option<Uuid>,
}

/// The snapshot of `task`.
///
/// # Errors
/// `Internal` if the task cannot be encoded (never for a valid task).
pub(crate) fn encode(task: &Task) -> Result<String, StoreError> {
    let snapshot = Snapshot {
        id: task.id.as_uuid(),
        title: task.title.as_str().to_owned(),
        description: task.description.as_str().to_owned(),
        is_done: task.is_done,
        completed_at: task.completed_at,
        priority: task.priority.as_str().to_owned(),
        due_at: task.due_at,
        tags: task.tags.iter().map(str::to_owned).collect(),
        created_at: task.created_at,
        updated_at: task.updated_at,
        version: task.version,
        list_id: Some(task.list_id.as_uuid()),
        parent_id: task.parent_id.map(|p| p.as_uuid()),
        position: Some(task.position.clone()),
        assignee_id: task.assignee_id.map(|a| a.as_uuid()),
    };
    serde_json::to_string(&snapshot).map_err(StoreError::internal)
}

/// The task a snapshot stored under `owner`'s key holds.
///
/// # Errors
/// `Internal` when the text is not a valid snapshot (corrupt data).
pub(crate) fn decode(owner: UserId, text: &str) -> Result<Task, StoreError> {
    let corrupt = |what: &str, e: String| {
        StoreError::internal(format!(
            "stored idempotency snapshot: {what} is invalid: {e}"
        ))
    };
    let s: Snapshot =
        serde_json::from_str(text).map_err(|e| corrupt("the document", e.to_string()))?;
    Ok(Task {
        id: TaskId::from_uuid(s.id),
        list_id: s
            .list_id
            .map_or_else(|| ListId::inbox_of(owner), ListId::from_uuid),
        parent_id: s.parent_id.map(TaskId::from_uuid),
        position: s
            .position
            .unwrap_or_else(|| position_from_id(TaskId::from_uuid(s.id))),
        created_by: owner,
        assignee_id: s.assignee_id.map(UserId::from_uuid),
        title: TaskTitle::parse(&s.title).map_err(|e| corrupt("title", e.to_string()))?,
        description: Description::parse(s.description)
            .map_err(|e| corrupt("description", e.to_string()))?,
        is_done: s.is_done,
        completed_at: s.completed_at,
        priority: Priority::parse(&s.priority).map_err(|e| corrupt("priority", e.to_string()))?,
        due_at: s.due_at,
        tags: Tags::from_trusted(s.tags),
        created_at: s.created_at,
        updated_at: s.updated_at,
        version: s.version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn at(micros: i64) -> Result<DateTime<Utc>, String> {
        DateTime::from_timestamp_micros(micros).ok_or_else(|| "out of range".to_owned())
    }

    #[test]
    fn snapshots_read_back_equal() -> TestResult {
        let task = Task {
            id: TaskId::from_uuid(Uuid::from_u128(2)),
            list_id: ListId::from_uuid(Uuid::from_u128(5)),
            parent_id: Some(TaskId::from_uuid(Uuid::from_u128(6))),
            position: "abc".into(),
            created_by: UserId::from_uuid(Uuid::from_u128(1)),
            assignee_id: None,
            title: TaskTitle::parse("Café")?,
            description: Description::parse("  two\nlines ".into())?,
            is_done: true,
            completed_at: Some(at(1_795_000_000_123_456)?),
            priority: Priority::High,
            due_at: Some(at(1_795_000_001_000_000)?),
            tags: Tags::parse(&["home", "errands"])?,
            created_at: at(1_795_000_000_000_000)?,
            updated_at: at(1_795_000_000_120_000)?,
            version: 1,
        };
        assert_eq!(decode(task.created_by, &encode(&task)?)?, task);
        Ok(())
    }

    #[test]
    fn a_response_body_stored_before_snapshots_reads_as_one() -> TestResult {
        // A 201 body as the HTTP layer rendered it, field order and all.
        let body = r#"{"id":"00000000-0000-0000-0000-000000000002","title":"Buy milk","description":"","is_done":false,"completed_at":null,"priority":"medium","due_at":"2026-12-24T18:00:00Z","tags":["home"],"created_at":"2026-11-18T11:06:40.123456Z","updated_at":"2026-11-18T11:06:40.123456Z","version":1}"#;
        let owner = UserId::from_uuid(Uuid::from_u128(1));
        let task = decode(owner, body)?;
        assert_eq!(
            (
                task.title.as_str(),
                task.priority,
                task.version,
                task.created_by,
                task.list_id
            ),
            (
                "Buy milk",
                Priority::Medium,
                1,
                owner,
                ListId::inbox_of(owner)
            )
        );
        assert_eq!(task.position, "z000000000000000000000000000000021");
        assert_eq!(task.created_at, at(1_795_000_000_123_456)?);
        assert_eq!(task.tags.iter().collect::<Vec<_>>(), ["home"]);
        Ok(())
    }

    #[test]
    fn corrupt_snapshots_are_internal_errors() {
        let owner = UserId::from_uuid(Uuid::from_u128(1));
        for text in ["", "{}", r#"{"id":"x"}"#] {
            assert!(
                matches!(decode(owner, text), Err(StoreError::Internal(_))),
                "{text}"
            );
        }
    }
}

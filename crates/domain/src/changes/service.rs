//! The `ChangeService`: pages of the change log after a cursor, and its retention.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    Change, ChangeCursor, ChangeError, ChangeLimit, ChangeLog, ChangeOp, ChangePage,
    ChangePosition, ChangeReaders, ChangedEntity, Clock, Entity, Principal, Scope,
};

/// How much longer than the retention changes are kept. A cursor's `seen_at` is the
/// instant of the read (or of the change) that gave it out; a change after it may have
/// been stamped a little earlier, by a transaction that was still running then (bounded by
/// the request and statement timeouts) or by an instance whose clock is a little behind.
/// Keeping changes this much longer than cursors are accepted means that no change after
/// an accepted cursor has been purged.
pub const PURGE_MARGIN: Duration = Duration::from_secs(60 * 60);

/// The change use cases: what changed, for the caller, since a cursor.
#[derive(Clone)]
pub struct ChangeService {
    log: Arc<dyn ChangeLog>,
    clock: Arc<dyn Clock>,
    retention: TimeDelta,
}

impl fmt::Debug for ChangeService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeService")
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl ChangeService {
    /// Builds the service: cursors older than `retention` are refused, and changes are
    /// kept for `retention` plus [`PURGE_MARGIN`].
    pub fn new(log: Arc<dyn ChangeLog>, clock: Arc<dyn Clock>, retention: Duration) -> Self {
        Self {
            log,
            clock,
            retention: TimeDelta::from_std(retention).unwrap_or(TimeDelta::MAX),
        }
    }

    /// The present, as a cursor: following changes from it misses nothing that commits
    /// after this call began.
    ///
    /// # Errors
    /// `Store`.
    pub async fn present(&self) -> Result<ChangeCursor, ChangeError> {
        let seen_at = self.clock.now();
        Ok(ChangeCursor {
            position: self.log.present().await?,
            seen_at,
        })
    }

    /// The caller's changes after `cursor`, at most `limit` of them before collapsing:
    /// several changes of one entity in the page become its latest, with the entity as it
    /// is now (a delete if it is gone, for the caller). A list the caller lost (a `delete`
    /// of it) stays a delete, and is kept before a later gain of it in the same page, so
    /// that the client drops the list and its tasks and then reads them again. Without a cursor, an empty page whose `next` is the
    /// present.
    ///
    /// # Errors
    /// `Credential` for an API token without `changes:read`; `Gone` for a cursor older than
    /// the retention; `Store`.
    pub async fn read(
        &self,
        caller: &Principal,
        cursor: Option<ChangeCursor>,
        limit: ChangeLimit,
    ) -> Result<ChangePage, ChangeError> {
        caller.require(Scope::ChangesRead)?;
        let now = self.clock.now();
        let Some(cursor) = cursor else {
            return Ok(ChangePage {
                changes: Vec::new(),
                next: ChangeCursor {
                    position: self.log.present().await?,
                    seen_at: now,
                },
                has_more: false,
            });
        };
        if cursor.seen_at
            < now
                .checked_sub_signed(self.retention)
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        {
            return Err(ChangeError::Gone);
        }
        // A cursor never vouches for the future, whatever it says.
        let seen_at = cursor.seen_at.min(now);
        let limit = usize::from(limit.get());
        let fetch = u32::try_from(limit + 1).unwrap_or(u32::MAX);
        let batch = self
            .log
            .read(caller.user_id, cursor.position, fetch)
            .await?;
        let mut records = batch.records;
        let has_more = records.len() > limit;
        records.truncate(limit);
        let cursor_at = |position: ChangePosition, at: DateTime<Utc>| ChangeCursor {
            position,
            seen_at: seen_at.max(at).min(now),
        };
        let next = match records.last() {
            Some(last) if has_more => cursor_at(last.position, last.at),
            // Everything up to the present has been read.
            last => ChangeCursor {
                position: batch
                    .present
                    .max(cursor.position)
                    .max(last.map_or(cursor.position, |r| r.position)),
                seen_at: now,
            },
        };
        let mut tasks: HashMap<_, _> = batch
            .tasks
            .into_iter()
            .map(|t| (t.id.as_uuid(), t))
            .collect();
        let mut lists: HashMap<_, _> = batch
            .lists
            .into_iter()
            .map(|l| (l.id.as_uuid(), l))
            .collect();
        // Each entity once, at its latest change in the page; but a list the reader lost
        // (a `delete` of it) keeps its latest loss too, before a later gain: a client that
        // dropped the list and its tasks then sees the gain, and reads the tasks again.
        let mut latest: HashMap<(Entity, uuid::Uuid), usize> = HashMap::new();
        let mut lost: HashMap<uuid::Uuid, usize> = HashMap::new();
        for (n, record) in records.iter().enumerate() {
            latest.insert((record.entity, record.id), n);
            if record.entity == Entity::List && record.op == ChangeOp::Delete {
                lost.insert(record.id, n);
            }
        }
        let changes = records
            .into_iter()
            .enumerate()
            .filter(|(n, r)| {
                latest.get(&(r.entity, r.id)) == Some(n)
                    || (r.entity == Entity::List && lost.get(&r.id) == Some(n))
            })
            .map(|(_, record)| {
                let data = match record.entity {
                    Entity::Task => tasks.remove(&record.id).map(ChangedEntity::Task),
                    // A loss stays one whatever came after it (a later gain in this page
                    // follows it); an upsert of a list the reader no longer sees is a
                    // delete, as for tasks.
                    Entity::List if record.op == ChangeOp::Delete => None,
                    Entity::List => lists.remove(&record.id).map(ChangedEntity::List),
                };
                Change {
                    cursor: cursor_at(record.position, record.at),
                    entity: record.entity,
                    op: if data.is_some() {
                        ChangeOp::Upsert
                    } else {
                        ChangeOp::Delete
                    },
                    id: record.id,
                    list_id: record.list_id,
                    at: record.at,
                    data,
                }
            })
            .collect();
        Ok(ChangePage {
            changes,
            next,
            has_more,
        })
    }

    /// Whether a cursor may still be followed: `Gone` once it is older than the
    /// retention (what [`ChangeService::read`] would answer), checked before a stream of
    /// changes starts.
    ///
    /// # Errors
    /// `Gone`.
    pub fn check_cursor(&self, cursor: &ChangeCursor) -> Result<(), ChangeError> {
        let oldest = self
            .clock
            .now()
            .checked_sub_signed(self.retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        if cursor.seen_at < oldest {
            Err(ChangeError::Gone)
        } else {
            Ok(())
        }
    }

    /// The readers with changes after `after`, at most `limit` of them, and the present
    /// (see [`ChangeLog::readers_after`]): what wakes their streams.
    ///
    /// # Errors
    /// `Store`.
    pub async fn readers_after(
        &self,
        after: ChangePosition,
        limit: u32,
    ) -> Result<ChangeReaders, ChangeError> {
        Ok(self.log.readers_after(after, limit).await?)
    }

    /// Forgets changes older than the retention plus [`PURGE_MARGIN`]; run periodically.
    ///
    /// # Errors
    /// `Store`.
    pub async fn purge_expired(&self) -> Result<u64, ChangeError> {
        let keep = self
            .retention
            .checked_add(&TimeDelta::from_std(PURGE_MARGIN).unwrap_or(TimeDelta::zero()))
            .unwrap_or(TimeDelta::MAX);
        let before = self
            .clock
            .now()
            .checked_sub_signed(keep)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        Ok(self.log.purge_before(before).await?)
    }
}

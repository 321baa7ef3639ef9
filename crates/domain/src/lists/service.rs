//! The list use cases.

use std::fmt;
use std::sync::Arc;

use crate::{
    Clock, DecideListDelete, DecideListUpdate, IdGenerator, List, ListCursor, ListDeleteOutcome,
    ListError, ListId, ListInsert, ListListQuery, ListName, ListPage, ListPatch, ListRefusal,
    ListRepository, ListUpdateOutcome, NewList, Page, Principal, VersionCondition,
};

/// The list use cases. Every method is scoped to the caller: a list they are not a member of
/// behaves exactly like a missing one.
#[derive(Clone)]
pub struct ListService {
    lists: Arc<dyn ListRepository>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    max_lists: Option<u64>,
}

impl fmt::Debug for ListService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListService").finish_non_exhaustive()
    }
}

impl From<ListRefusal> for ListError {
    fn from(refusal: ListRefusal) -> Self {
        match refusal {
            ListRefusal::Forbidden(needs) => ListError::Forbidden { needs },
            ListRefusal::Inbox => ListError::Inbox,
            ListRefusal::VersionMismatch => ListError::VersionMismatch,
        }
    }
}

impl ListService {
    /// Builds the service from its ports.
    pub fn new(
        lists: Arc<dyn ListRepository>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            lists,
            clock,
            ids,
            max_lists: None,
        }
    }

    /// The same service, letting each account own at most `max_lists` lists besides its
    /// inbox (`0`: no limit).
    #[must_use]
    pub fn with_list_quota(mut self, max_lists: u64) -> Self {
        self.max_lists = (max_lists > 0).then_some(max_lists);
        self
    }

    /// Creates a list owned by the caller, at version 1.
    ///
    /// # Errors
    /// `QuotaExceeded` past the quota; `Store`.
    pub async fn create(&self, caller: &Principal, name: ListName) -> Result<List, ListError> {
        let list = NewList {
            id: ListId::from_uuid(self.ids.new_id()),
            name,
            owner: caller.user_id,
            created_at: self.clock.now(),
        };
        let created = list.as_created();
        match self.lists.insert(list, self.max_lists).await? {
            ListInsert::Inserted => Ok(created),
            ListInsert::QuotaExceeded => Err(ListError::QuotaExceeded {
                limit: self.max_lists.unwrap_or(u64::MAX),
            }),
        }
    }

    /// One of the caller's lists.
    ///
    /// # Errors
    /// `NotFound` when the caller is not a member of a list with this id.
    pub async fn get(&self, caller: &Principal, id: ListId) -> Result<List, ListError> {
        self.lists
            .find_for_member(caller.user_id, id)
            .await?
            .ok_or(ListError::NotFound)
    }

    /// One page of the lists the caller belongs to.
    ///
    /// # Errors
    /// `Store` when storage fails.
    pub async fn list(
        &self,
        caller: &Principal,
        query: ListListQuery,
    ) -> Result<ListPage, ListError> {
        let (size, sort) = (query.size, query.sort);
        let fetched = self
            .lists
            .list_for_member(caller.user_id, query, size.fetch_limit())
            .await?;
        Ok(Page::from_fetched(fetched, size, |last| {
            ListCursor::after(last, sort)
        }))
    }

    /// Renames (editors) or archives and restores (owners) a list; with `condition`, only at
    /// an admitted version. A patch that changes nothing returns the list as it is.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `Inbox` for the inbox; `VersionMismatch`.
    pub async fn update(
        &self,
        caller: &Principal,
        id: ListId,
        patch: ListPatch,
        condition: Option<VersionCondition>,
    ) -> Result<List, ListError> {
        let now = self.clock.now();
        let decide: DecideListUpdate =
            Box::new(move |current: &List| current.decide_update(&patch, condition.as_ref(), now));
        match self.lists.update_with(caller.user_id, id, decide).await? {
            ListUpdateOutcome::Updated(list) | ListUpdateOutcome::Unchanged(list) => Ok(list),
            ListUpdateOutcome::Refused(refusal) => Err(refusal.into()),
            ListUpdateOutcome::NotFound => Err(ListError::NotFound),
        }
    }

    /// Deletes a list and its tasks (owners; never the inbox); with `condition`, only at an
    /// admitted version.
    ///
    /// # Errors
    /// `NotFound`; `Forbidden`; `Inbox`; `VersionMismatch`.
    pub async fn delete(
        &self,
        caller: &Principal,
        id: ListId,
        condition: Option<VersionCondition>,
    ) -> Result<(), ListError> {
        let decide: DecideListDelete =
            Box::new(move |current: &List| current.decide_delete(condition.as_ref()));
        match self.lists.delete_with(caller.user_id, id, decide).await? {
            ListDeleteOutcome::Deleted => Ok(()),
            ListDeleteOutcome::Refused(refusal) => Err(refusal.into()),
            ListDeleteOutcome::NotFound => Err(ListError::NotFound),
        }
    }
}

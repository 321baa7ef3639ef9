//! [`ListRepository`] over diesel. Every statement that reads a list joins the caller's
//! membership; every write locks the list and the membership in its transaction and applies
//! the domain's decision to what it read there. Every write that changes a list or its
//! memberships records the list's change for the users it concerns, in its transaction
//! ([`record_list_change`]).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use taskapi_domain::{ChangeOp, Clock, SystemClock};
use taskapi_domain::{
    DecideInvitations, DecideInvite, DecideListDelete, DecideListUpdate, DecideMemberChange,
    Invitation, InvitationId, InvitationsOutcome, List, ListDeleteDecision, ListDeleteOutcome,
    ListId, ListInsert, ListListQuery, ListRepository, ListRole, ListSortField, ListSortKey,
    ListUpdateDecision, ListUpdateOutcome, Member, MemberDecision, MemberOutcome, MembershipChange,
    NewInvitation, NewList, StoreError, UserId,
};

use crate::backend::{DbConnection, load_natively};
use crate::changes::{members_of, record_list_change, record_task_change};
use crate::errors::DbError;
use crate::pool::DbPool;
use crate::rows::{
    InvitationRow, ListRow, MemberRow, list_key, member_of, role_of, stamp, user_key,
};
use crate::schema::{list_invitations, list_members, lists, tasks, users};
use crate::sql_types::{SqlTimestamp, SqlUuid};

/// Lists in `lists`, their members in `list_members`.
#[derive(Debug, Clone)]
pub(crate) struct DieselListRepository {
    pool: DbPool,
}

impl DieselListRepository {
    /// A repository over `pool`.
    pub(crate) fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

/// Everything a list listing binds, converted once.
pub(crate) struct ListListParams {
    pub(crate) member: SqlUuid,
    pub(crate) archived: Option<bool>,
    pub(crate) field: ListSortField,
    pub(crate) descending: bool,
    pub(crate) after: Option<(ListSortKey, SqlUuid)>,
    pub(crate) limit: i64,
}

/// Builds the boxed list listing for backend `$db`: the member's lists (their role with
/// each), filtered, in order, seeking past the cursor. A macro for the reasons
/// `crate::listing::list_query!` gives.
macro_rules! lists_query {
    ($db:ty, $params:expr) => {{
        use diesel::prelude::*;
        use taskapi_domain::{ListSortField, ListSortKey};
        use $crate::schema::{list_members, lists};
        use $crate::sql_types::SqlTimestamp;

        let p: &$crate::lists::ListListParams = $params;
        let mut q = lists::table
            .inner_join(list_members::table)
            .filter(list_members::user_id.eq(p.member))
            .select((lists::all_columns, list_members::role))
            .into_boxed::<$db>();
        if let Some(archived) = p.archived {
            q = q.filter(lists::archived.eq(archived));
        }
        let desc = p.descending;
        macro_rules! keyset {
            ($col:expr, $value:expr) => {{
                if let (Some(value), Some((_, id))) = ($value, &p.after) {
                    let id = *id;
                    q = if desc {
                        q.filter($col.le(value.clone()))
                            .filter($col.lt(value).or(lists::id.lt(id)))
                    } else {
                        q.filter($col.ge(value.clone()))
                            .filter($col.gt(value).or(lists::id.gt(id)))
                    };
                }
                q = if desc {
                    q.order(($col.desc(), lists::id.desc()))
                } else {
                    q.order(($col.asc(), lists::id.asc()))
                };
            }};
        }
        match p.field {
            ListSortField::CreatedAt => keyset!(
                lists::created_at,
                match &p.after {
                    Some((ListSortKey::Instant(at), _)) => Some(SqlTimestamp(*at)),
                    _ => None,
                }
            ),
            ListSortField::Name => keyset!(
                lists::name_key,
                match &p.after {
                    Some((ListSortKey::Name(name), _)) => Some(name.clone()),
                    _ => None,
                }
            ),
        }
        q.limit(p.limit)
    }};
}

pub(crate) use lists_query;

/// How many members each of these lists has (one query over at most a page of ids).
pub(crate) fn member_counts(
    conn: &mut DbConnection,
    ids: Vec<SqlUuid>,
) -> QueryResult<HashMap<SqlUuid, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let query = list_members::table
        .filter(list_members::list_id.eq_any(ids))
        .group_by(list_members::list_id)
        .select((list_members::list_id, dsl::count_star()));
    let counts: Vec<(SqlUuid, i64)> = load_natively(conn, query)?;
    Ok(counts.into_iter().collect())
}

/// How many members the list has.
fn member_count(conn: &mut DbConnection, list: SqlUuid) -> QueryResult<i64> {
    list_members::table
        .filter(list_members::list_id.eq(list))
        .count()
        .get_result(conn)
}

/// The list as `member` sees it, locked (see [`crate::backend::Engine::lock_list_for_update`]).
fn locked_list(
    conn: &mut DbConnection,
    list: SqlUuid,
    member: SqlUuid,
) -> Result<Option<List>, DbError> {
    let Some((row, role)) = conn.engine().lock_list_for_update(list, member)? else {
        return Ok(None);
    };
    let count = member_count(conn, list)?;
    Ok(Some(row.into_domain(&role, count)?))
}

/// Whether `owner` already owns `max_lists` lists besides their inbox (never, for `None`),
/// counted in the write transaction with the account's row locked (PostgreSQL; SQLite has
/// one writer at a time).
fn at_quota(conn: &mut DbConnection, owner: SqlUuid, max_lists: Option<u64>) -> QueryResult<bool> {
    let Some(max_lists) = max_lists else {
        return Ok(false);
    };
    conn.engine().lock_owner(owner)?;
    let owned: i64 = list_members::table
        .inner_join(lists::table)
        .filter(list_members::user_id.eq(owner))
        .filter(list_members::role.eq(ListRole::Owner.as_str()))
        .filter(lists::inbox_of.is_null())
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(owned).unwrap_or(0) >= max_lists)
}

/// The list's member `user`, with their email.
fn member(
    conn: &mut DbConnection,
    list: SqlUuid,
    user: SqlUuid,
) -> Result<Option<Member>, DbError> {
    let row: Option<(SqlUuid, String, String, SqlTimestamp)> = list_members::table
        .inner_join(users::table)
        .filter(list_members::list_id.eq(list))
        .filter(list_members::user_id.eq(user))
        .select((
            list_members::user_id,
            users::email,
            list_members::role,
            list_members::added_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(member_of).transpose()?)
}

/// The list as `member` sees it, without locks (in a read transaction).
fn visible_list(
    conn: &mut DbConnection,
    list: SqlUuid,
    member: SqlUuid,
) -> Result<Option<List>, DbError> {
    let found: Option<(ListRow, String)> = crate::access::list_with_role(list, member)
        .first(conn)
        .optional()?;
    let Some((row, role)) = found else {
        return Ok(None);
    };
    let count = member_count(conn, list)?;
    Ok(Some(row.into_domain(&role, count)?))
}

/// The invitation rows pending at `now` that `filter` keeps, with their lists' names.
fn invitation_rows(
    conn: &mut DbConnection,
    list: Option<SqlUuid>,
    user: Option<SqlUuid>,
    now: DateTime<Utc>,
) -> Result<Vec<Invitation>, DbError> {
    let mut query = list_invitations::table
        .inner_join(lists::table)
        .filter(list_invitations::expires_at.gt(SqlTimestamp(now)))
        .select((InvitationRow::as_select(), lists::name))
        .order((list_invitations::created_at, list_invitations::id))
        .limit(MAX_INVITATIONS)
        .into_boxed();
    if let Some(list) = list {
        query = query.filter(list_invitations::list_id.eq(list));
    }
    if let Some(user) = user {
        query = query.filter(
            list_invitations::email
                .eq_any(users::table.filter(users::id.eq(user)).select(users::email)),
        );
    }
    let rows: Vec<(InvitationRow, String)> = query.load(conn)?;
    rows.into_iter()
        .map(|(row, name)| row.into_domain(&name).map_err(DbError::from))
        .collect()
}

/// Most invitations one listing returns.
const MAX_INVITATIONS: i64 = 1_000;

/// Clears `member` as the assignee of every task of `list` (an assignee is always a member
/// of the task's list), trashed ones included, bumping each task's version; each live task
/// so changed is an `upsert` for the list's members. Inside the write transaction that
/// removes the membership, which holds the list's row locked: no task write of the list
/// runs meanwhile.
fn unassign(
    conn: &mut DbConnection,
    list: SqlUuid,
    member: SqlUuid,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let changed: Vec<(SqlUuid, Option<SqlTimestamp>)> = diesel::update(
        tasks::table
            .filter(tasks::list_id.eq(list))
            .filter(tasks::assignee_id.eq(member)),
    )
    .set((
        tasks::assignee_id.eq(None::<SqlUuid>),
        tasks::version.eq(tasks::version + 1),
        tasks::updated_at.eq(stamp(now)),
    ))
    .returning((tasks::id, tasks::trashed_at))
    .get_results(conn)?;
    for (task, trashed_at) in changed {
        if trashed_at.is_none() {
            record_task_change(conn, list, task, ChangeOp::Upsert, now)?;
        }
    }
    Ok(())
}

#[async_trait]
impl ListRepository for DieselListRepository {
    async fn insert(
        &self,
        list: NewList,
        max_lists: Option<u64>,
    ) -> Result<ListInsert, StoreError> {
        let row = ListRow::new(list.id, &list.name, list.created_at);
        let owner = MemberRow {
            list_id: row.id,
            user_id: user_key(list.owner),
            role: ListRole::Owner.as_str().to_owned(),
            added_at: stamp(list.created_at),
        };
        let at = list.created_at;
        self.pool
            .write(move |conn| {
                if at_quota(conn, owner.user_id, max_lists)? {
                    return Ok::<_, DbError>(ListInsert::QuotaExceeded);
                }
                diesel::insert_into(lists::table)
                    .values(&row)
                    .execute(conn)?;
                diesel::insert_into(list_members::table)
                    .values(&owner)
                    .execute(conn)?;
                record_list_change(conn, row.id, ChangeOp::Upsert, at, &[owner.user_id])?;
                Ok(ListInsert::Inserted)
            })
            .await
            .map_err(StoreError::from)
    }

    async fn find_for_member(
        &self,
        member: UserId,
        id: ListId,
    ) -> Result<Option<List>, StoreError> {
        let (member, id) = (user_key(member), list_key(id));
        let found = self
            .pool
            .read(move |conn| {
                let found: Option<(ListRow, String)> = crate::access::list_with_role(id, member)
                    .first(conn)
                    .optional()?;
                let Some((row, role)) = found else {
                    return Ok::<_, DbError>(None);
                };
                let count = member_count(conn, id)?;
                Ok(Some((row, role, count)))
            })
            .await?;
        found
            .map(|(row, role, count)| row.into_domain(&role, count))
            .transpose()
    }

    async fn list_for_member(
        &self,
        member: UserId,
        query: ListListQuery,
        limit: u32,
    ) -> Result<Vec<List>, StoreError> {
        let params = ListListParams {
            member: user_key(member),
            archived: query.filter.archived,
            field: query.sort.field,
            descending: query.sort.descending,
            after: query.after.map(|cursor| (cursor.key, list_key(cursor.id))),
            limit: i64::from(limit),
        };
        let (rows, counts) = self
            .pool
            .read(move |conn| {
                let rows = conn.engine().list_lists(&params)?;
                let ids = rows.iter().map(|(row, _)| row.id).collect();
                let counts = member_counts(conn, ids)?;
                Ok::<_, DbError>((rows, counts))
            })
            .await?;
        rows.into_iter()
            .map(|(row, role)| {
                let count = counts.get(&row.id).copied().unwrap_or(0);
                row.into_domain(&role, count)
            })
            .collect()
    }

    async fn update_with(
        &self,
        member: UserId,
        id: ListId,
        decide: DecideListUpdate,
    ) -> Result<ListUpdateOutcome, StoreError> {
        let (member, id) = (user_key(member), list_key(id));
        self.pool
            .write(move |conn| {
                let Some(current) = locked_list(conn, id, member)? else {
                    return Ok::<_, DbError>(ListUpdateOutcome::NotFound);
                };
                let (changes, now) = match decide(&current) {
                    ListUpdateDecision::Keep => return Ok(ListUpdateOutcome::Unchanged(current)),
                    ListUpdateDecision::Refuse(refusal) => {
                        return Ok(ListUpdateOutcome::Refused(refusal));
                    }
                    ListUpdateDecision::Write(changes, now) => (changes, now),
                };
                let row: ListRow = diesel::update(lists::table.filter(lists::id.eq(id)))
                    .set((
                        lists::name.eq(changes.name.as_str()),
                        lists::name_key.eq(changes.name.sort_key()),
                        lists::archived.eq(changes.archived),
                        lists::updated_at.eq(SqlTimestamp(now)),
                        lists::version.eq(lists::version + 1),
                    ))
                    .returning(lists::all_columns)
                    .get_result(conn)?;
                let members = members_of(conn, id)?;
                record_list_change(conn, id, ChangeOp::Upsert, now, &members)?;
                Ok(ListUpdateOutcome::Updated(List {
                    name: changes.name,
                    archived: row.archived,
                    updated_at: row.updated_at.0,
                    version: row.version,
                    ..current
                }))
            })
            .await
            .map_err(StoreError::from)
    }

    async fn delete_with(
        &self,
        member: UserId,
        id: ListId,
        decide: DecideListDelete,
    ) -> Result<ListDeleteOutcome, StoreError> {
        let (member, id) = (user_key(member), list_key(id));
        self.pool
            .write(move |conn| {
                let Some(current) = locked_list(conn, id, member)? else {
                    return Ok::<_, DbError>(ListDeleteOutcome::NotFound);
                };
                if let ListDeleteDecision::Refuse(refusal) = decide(&current) {
                    return Ok(ListDeleteOutcome::Refused(refusal));
                }
                // Every member it had drops it with its tasks: one change each, no change
                // of each task. The domain gives a delete no instant: the change is stamped
                // by the clock the domain uses.
                let members = members_of(conn, id)?;
                record_list_change(conn, id, ChangeOp::Delete, SystemClock.now(), &members)?;
                // Members, invitations and tasks (with their tags) go with it (ON DELETE
                // CASCADE).
                diesel::delete(lists::table.filter(lists::id.eq(id))).execute(conn)?;
                Ok(ListDeleteOutcome::Deleted)
            })
            .await
            .map_err(StoreError::from)
    }

    async fn members(
        &self,
        member: UserId,
        list: ListId,
    ) -> Result<Option<Vec<Member>>, StoreError> {
        let (member, list) = (user_key(member), list_key(list));
        self.pool
            .read(move |conn| {
                if visible_list(conn, list, member)?.is_none() {
                    return Ok::<_, DbError>(None);
                }
                let rows: Vec<(SqlUuid, String, String, SqlTimestamp)> = list_members::table
                    .inner_join(users::table)
                    .filter(list_members::list_id.eq(list))
                    .select((
                        list_members::user_id,
                        users::email,
                        list_members::role,
                        list_members::added_at,
                    ))
                    .order((list_members::added_at, list_members::user_id))
                    .load(conn)?;
                let members = rows
                    .into_iter()
                    .map(member_of)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(members))
            })
            .await
            .map_err(StoreError::from)
    }

    async fn change_member(
        &self,
        caller: UserId,
        list: ListId,
        target: UserId,
        decide: DecideMemberChange,
    ) -> Result<MemberOutcome, StoreError> {
        let (caller_key, list, target) = (user_key(caller), list_key(list), user_key(target));
        self.pool
            .write(move |conn| {
                // The list's row first: every change of its memberships takes it, so the
                // owner count below stays true until this commits.
                let Some(current) = locked_list(conn, list, caller_key)? else {
                    return Ok::<_, DbError>(MemberOutcome::ListNotFound);
                };
                let Some(target_member) = member(conn, list, target)? else {
                    return Ok(MemberOutcome::MemberNotFound);
                };
                let owners: i64 = list_members::table
                    .filter(list_members::list_id.eq(list))
                    .filter(list_members::role.eq(ListRole::Owner.as_str()))
                    .count()
                    .get_result(conn)?;
                let change = MembershipChange {
                    list: current,
                    caller,
                    target: target_member.clone(),
                    owners,
                };
                let membership = list_members::table
                    .filter(list_members::list_id.eq(list))
                    .filter(list_members::user_id.eq(target));
                // The domain gives a membership change no instant: its changes are stamped
                // by the clock the domain uses.
                match decide(&change) {
                    MemberDecision::Refuse(refusal) => Ok(MemberOutcome::Refused(refusal)),
                    MemberDecision::Remove => {
                        diesel::delete(membership).execute(conn)?;
                        // The member who is gone drops the list and its tasks; the others'
                        // member count changed.
                        let now = SystemClock.now();
                        record_list_change(conn, list, ChangeOp::Delete, now, &[target])?;
                        let remaining = members_of(conn, list)?;
                        record_list_change(conn, list, ChangeOp::Upsert, now, &remaining)?;
                        unassign(conn, list, target, now)?;
                        Ok(MemberOutcome::Changed(None))
                    }
                    MemberDecision::SetRole(role) => {
                        if role != target_member.role {
                            diesel::update(membership)
                                .set(list_members::role.eq(role.as_str()))
                                .execute(conn)?;
                            let members = members_of(conn, list)?;
                            let now = SystemClock.now();
                            record_list_change(conn, list, ChangeOp::Upsert, now, &members)?;
                        }
                        Ok(MemberOutcome::Changed(Some(Member {
                            role,
                            ..target_member
                        })))
                    }
                }
            })
            .await
            .map_err(StoreError::from)
    }

    async fn invite(
        &self,
        caller: UserId,
        invitation: NewInvitation,
        decide: DecideInvite,
    ) -> Result<InvitationsOutcome<Invitation>, StoreError> {
        let caller = user_key(caller);
        let row = InvitationRow::from_new(&invitation);
        self.pool
            .write(move |conn| {
                let Some(current) = locked_list(conn, row.list_id, caller)? else {
                    return Ok::<_, DbError>(InvitationsOutcome::ListNotFound);
                };
                // Seats: the members, and the other invitations still pending (the one for
                // this email, if any, is replaced below). The list's row is locked, so no
                // other invitation or acceptance of the list comes in between.
                let pending: i64 = list_invitations::table
                    .filter(list_invitations::list_id.eq(row.list_id))
                    .filter(list_invitations::email.ne(&row.email))
                    .filter(list_invitations::expires_at.gt(row.created_at))
                    .count()
                    .get_result(conn)?;
                let seats = u64::try_from(current.member_count)
                    .unwrap_or(0)
                    .saturating_add(u64::try_from(pending).unwrap_or(0));
                if let Err(refusal) = decide(&current, seats) {
                    return Ok(InvitationsOutcome::Refused(refusal));
                }
                // A newer invitation of the same email replaces the pending one.
                diesel::delete(
                    list_invitations::table
                        .filter(list_invitations::list_id.eq(row.list_id))
                        .filter(list_invitations::email.eq(&row.email)),
                )
                .execute(conn)?;
                diesel::insert_into(list_invitations::table)
                    .values(&row)
                    .execute(conn)?;
                Ok(InvitationsOutcome::Done(
                    row.into_domain(current.name.as_str())?,
                ))
            })
            .await
            .map_err(StoreError::from)
    }

    async fn invitations(
        &self,
        caller: UserId,
        list: ListId,
        now: DateTime<Utc>,
        decide: DecideInvitations,
    ) -> Result<InvitationsOutcome<Vec<Invitation>>, StoreError> {
        let (caller, list) = (user_key(caller), list_key(list));
        self.pool
            .read(move |conn| {
                let Some(current) = visible_list(conn, list, caller)? else {
                    return Ok::<_, DbError>(InvitationsOutcome::ListNotFound);
                };
                if let Err(refusal) = decide(&current) {
                    return Ok(InvitationsOutcome::Refused(refusal));
                }
                Ok(InvitationsOutcome::Done(invitation_rows(
                    conn,
                    Some(list),
                    None,
                    now,
                )?))
            })
            .await
            .map_err(StoreError::from)
    }

    async fn withdraw(
        &self,
        caller: UserId,
        list: ListId,
        id: InvitationId,
        decide: DecideInvitations,
    ) -> Result<InvitationsOutcome<bool>, StoreError> {
        let (caller, list, id) = (user_key(caller), list_key(list), SqlUuid(id.as_uuid()));
        self.pool
            .write(move |conn| {
                let Some(current) = locked_list(conn, list, caller)? else {
                    return Ok::<_, DbError>(InvitationsOutcome::ListNotFound);
                };
                if let Err(refusal) = decide(&current) {
                    return Ok(InvitationsOutcome::Refused(refusal));
                }
                let deleted = diesel::delete(
                    list_invitations::table
                        .filter(list_invitations::id.eq(id))
                        .filter(list_invitations::list_id.eq(list)),
                )
                .execute(conn)?;
                Ok(InvitationsOutcome::Done(deleted > 0))
            })
            .await
            .map_err(StoreError::from)
    }

    async fn invitations_for(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Invitation>, StoreError> {
        let user = user_key(user);
        self.pool
            .read(move |conn| invitation_rows(conn, None, Some(user), now))
            .await
            .map_err(StoreError::from)
    }

    async fn accept(
        &self,
        user: UserId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<Option<List>, StoreError> {
        let (user, id) = (user_key(user), SqlUuid(id.as_uuid()));
        self.pool
            .write(move |conn| {
                let addressed = list_invitations::table
                    .filter(list_invitations::id.eq(id))
                    .filter(list_invitations::expires_at.gt(SqlTimestamp(now)))
                    .filter(
                        list_invitations::email
                            .eq_any(users::table.filter(users::id.eq(user)).select(users::email)),
                    );
                let Some(row) = addressed
                    .select(InvitationRow::as_select())
                    .first::<InvitationRow>(conn)
                    .optional()?
                else {
                    return Ok::<_, DbError>(None);
                };
                // Memberships of the list change one at a time; of concurrent accepts, the
                // first consumes the invitation and the others find it gone.
                conn.engine().lock_list(row.list_id)?;
                if diesel::delete(list_invitations::table.filter(list_invitations::id.eq(id)))
                    .execute(conn)?
                    == 0
                {
                    return Ok(None);
                }
                let offered = role_of(&row.role)?;
                let membership = list_members::table
                    .filter(list_members::list_id.eq(row.list_id))
                    .filter(list_members::user_id.eq(user));
                let existing: Option<String> = membership
                    .select(list_members::role)
                    .first(conn)
                    .optional()?;
                let joined = match existing {
                    None => {
                        diesel::insert_into(list_members::table)
                            .values(&MemberRow {
                                list_id: row.list_id,
                                user_id: user,
                                role: offered.as_str().to_owned(),
                                added_at: stamp(now),
                            })
                            .execute(conn)?;
                        true
                    }
                    Some(role) if role_of(&role)? < offered => {
                        diesel::update(membership)
                            .set(list_members::role.eq(offered.as_str()))
                            .execute(conn)?;
                        true
                    }
                    Some(_) => false,
                };
                // The new member gains the list (and reads its tasks); the others see its
                // member count (or the member's role) change.
                if joined {
                    let members = members_of(conn, row.list_id)?;
                    record_list_change(conn, row.list_id, ChangeOp::Upsert, now, &members)?;
                }
                visible_list(conn, row.list_id, user)
            })
            .await
            .map_err(StoreError::from)
    }

    async fn decline(&self, user: UserId, id: InvitationId) -> Result<bool, StoreError> {
        let (user, id) = (user_key(user), SqlUuid(id.as_uuid()));
        self.pool
            .write(move |conn| {
                let deleted =
                    diesel::delete(
                        list_invitations::table
                            .filter(list_invitations::id.eq(id))
                            .filter(list_invitations::email.eq_any(
                                users::table.filter(users::id.eq(user)).select(users::email),
                            )),
                    )
                    .execute(conn)?;
                Ok::<_, DbError>(deleted > 0)
            })
            .await
            .map_err(StoreError::from)
    }
}

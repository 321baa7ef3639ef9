//! The task listing query: filters, sort orders and keyset seeks, built once (by a macro)
//! for each backend's boxed query type, so that what runs is exactly what `EXPLAIN` sees.
//!
//! Keyset conditions repeat the sort key as a plain range (`key >= k AND (key > k OR id >
//! i)`): the range lets both engines seek the `(list_id, key, id)` index to the cursor
//! instead of reading every earlier row.
//!
//! A listing reads the tasks of one list through the `(list_id, key, id)` indexes. A caller
//! who belongs to several (unarchived) lists and names none gets the tasks of all of them:
//! no single index range holds those in order, so that query reads the matching tasks of
//! the caller's lists and sorts them (its cost follows the caller's own tasks, never the
//! table's); one who belongs to one list only (most accounts: their inbox) is served from
//! the index as for a named list.
//!
//! Tasks without `due_at` come last in either direction. No single index order gives that
//! for both directions, so a `due_at` listing runs in two phases: the dated tasks (an index
//! range), then, if the page is not full, the undated ones (an index equality on NULL,
//! ordered by id).

use diesel::prelude::*;
use taskapi_domain::{SortKey, TaskCursor, TaskFilter, TaskListQuery, TaskSortField, UserId};

use crate::backend::DbConnection;
use crate::schema::{list_members, lists};
use crate::sql_types::SqlUuid;

/// Which lists' tasks a listing reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One list (archived or not), provided the member belongs to it.
    List(SqlUuid),
    /// Every unarchived list the member belongs to.
    Memberships,
}

/// Narrows a listing of every list of the member to the one list they belong to, if they
/// belong to exactly one that is not archived, so that it is served by the list's indexes.
/// Returns `false` when there is nothing to list (no such list at all). Run in the
/// listing's read transaction, so that both see one snapshot.
pub(crate) fn narrow_scope(conn: &mut DbConnection, params: &mut ListParams) -> QueryResult<bool> {
    if params.scope != Scope::Memberships {
        return Ok(true);
    }
    let lists: Vec<SqlUuid> = list_members::table
        .inner_join(lists::table)
        .filter(list_members::user_id.eq(params.member))
        .filter(lists::archived.eq(false))
        .select(list_members::list_id)
        .limit(2)
        .load(conn)?;
    match lists.as_slice() {
        [] => Ok(false),
        [only] => {
            params.scope = Scope::List(*only);
            Ok(true)
        }
        _ => Ok(true),
    }
}

/// Which part of a `due_at` listing a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Every listing but `due_at`'s, or its dated tasks.
    Main,
    /// The undated tasks of a `due_at` listing.
    Undated,
}

/// The phases a listing needs, starting where its cursor points.
pub(crate) fn phases(query: &TaskListQuery) -> &'static [Phase] {
    let dated_only = query.filter.due_before.is_some() || query.filter.due_after.is_some();
    match (query.sort.field, query.after.as_ref().map(|c| &c.key)) {
        // A due-date filter never matches an undated task.
        (TaskSortField::DueAt, _) if dated_only => &[Phase::Main],
        (TaskSortField::DueAt, Some(SortKey::NoDueDate)) => &[Phase::Undated],
        (TaskSortField::DueAt, _) => &[Phase::Main, Phase::Undated],
        _ => &[Phase::Main],
    }
}

/// `%`, `_` and the escape character itself, escaped for `LIKE … ESCAPE '\'`.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The FTS5 query that finds the rows holding every trigram of `text` (each distinct
/// trigram once, joined by `AND`, double quotes doubled), for texts of at least three
/// characters; `None` for shorter ones, which a trigram index cannot serve (they are matched
/// by `LIKE` alone, over the listed tasks only, under the statement timeout).
///
/// A set of trigrams rather than the phrase: a phrase query must walk the positions of each
/// of its trigrams in every row that holds them all, so a pattern such as 199 × `a` then
/// `b` against texts of 10 000 × `a` costs the texts' length (about 0.1 s over 500 such
/// rows) even though nothing matches; the set intersection costs the rarest trigram's
/// rows (here none: 0.5 ms). Every row holding the substring holds all its trigrams, and
/// the `LIKE` that follows keeps exactly the rows that hold the substring itself.
pub(crate) fn trigram_query(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let mut seen = std::collections::HashSet::new();
    let terms: Vec<String> = chars
        .windows(3)
        .filter_map(|w| {
            let trigram: String = w.iter().collect();
            seen.insert(trigram.clone())
                .then(|| format!("\"{}\"", trigram.replace('"', "\"\"")))
        })
        .collect();
    Some(terms.join(" AND "))
}

/// Everything a listing query binds, converted once.
pub(crate) struct ListParams {
    /// The member whose lists' tasks are listed.
    pub(crate) member: SqlUuid,
    /// Which of their lists.
    pub(crate) scope: Scope,
    pub(crate) filter: TaskFilter,
    pub(crate) q: Option<String>,
    /// `q` as an FTS5 query of its trigrams, when it is long enough (SQLite's search index).
    pub(crate) q_trigrams: Option<String>,
    pub(crate) field: TaskSortField,
    pub(crate) descending: bool,
    pub(crate) after: Option<TaskCursor>,
    pub(crate) limit: i64,
}

impl ListParams {
    pub(crate) fn new(member: UserId, query: TaskListQuery, limit: u32) -> Self {
        Self {
            member: SqlUuid(member.as_uuid()),
            scope: query.filter.list_id.map_or(Scope::Memberships, |list| {
                Scope::List(SqlUuid(list.as_uuid()))
            }),
            q: query.filter.q.as_ref().map(|q| like_pattern(q.as_str())),
            q_trigrams: query
                .filter
                .q
                .as_ref()
                .and_then(|q| trigram_query(q.as_str())),
            filter: query.filter,
            field: query.sort.field,
            descending: query.sort.descending,
            after: query.after,
            limit: i64::from(limit),
        }
    }
}

/// Builds the boxed query of one phase for backend `$db` (`Sqlite` or `Pg`); `$fts5` says
/// which search index `q` uses: SQLite's FTS5 table (`true`) or PostgreSQL's pg_trgm index
/// (`false`).
///
/// On SQLite a `q` of three or more characters is first looked up in the FTS5 trigram table
/// `task_search`: only the rows it finds are then matched with `LIKE`.
/// The lookup is written `+tasks.rowid IN (…)` and comes before the `LIKE`: the unary `+`
/// keeps SQLite reading the list's index in the listing's order (the lookup runs once, as a
/// list the rows are checked against), and SQLite checks the conditions in the order they
/// are written, so the `LIKE` only reads the texts the index found. On PostgreSQL the
/// planner chooses the pg_trgm index for `LIKE` by itself; the `LIKE` is repeated through
/// `task_search_matches` (the same test, in a function whose declared cost is what matching
/// a long text costs; see its migration), so that the planner does not take reading every
/// row of the list for cheap.
///
/// A macro, not a function generic over the backend: diesel implements `QueryFragment` for
/// columns and operators only for backends of its sealed `DieselReserveSpecialization`
/// trait, which generic code cannot name, so such a function would need one `where` bound
/// per expression type below (several dozen). The macro instantiates one builder for each
/// concrete backend's boxed query type instead.
macro_rules! list_query {
    ($db:ty, $params:expr, $phase:expr, $fts5:expr) => {{
        use diesel::prelude::*;
        use taskapi_domain::{SortKey, TaskSortField};
        use $crate::listing::{Phase, Scope};
        use $crate::schema::{list_members, lists, task_tags, tasks};
        use $crate::sql_types::{SqlTimestamp, SqlUuid};

        let p: &$crate::listing::ListParams = $params;
        let phase: Phase = $phase;
        // Trashed tasks are never listed (`GET /trash` has its own query).
        let mut q = tasks::table
            .select($crate::rows::TaskRow::as_select())
            .filter(tasks::trashed_at.is_null())
            .into_boxed::<$db>();
        // The membership is part of the statement: one list's tasks only while the member
        // belongs to it (an uncorrelated EXISTS, evaluated once), or the tasks of the lists
        // they belong to.
        q = match p.scope {
            Scope::List(list) => q
                .filter(tasks::list_id.eq(list))
                .filter(diesel::dsl::exists(
                    list_members::table
                        .filter(list_members::list_id.eq(list))
                        .filter(list_members::user_id.eq(p.member)),
                )),
            Scope::Memberships => q.filter(
                tasks::list_id.eq_any(
                    list_members::table
                        .inner_join(lists::table)
                        .filter(list_members::user_id.eq(p.member))
                        .filter(lists::archived.eq(false))
                        .select(list_members::list_id),
                ),
            ),
        };

        match p.filter.parent {
            Some(Some(parent)) => {
                q = q.filter(tasks::parent_id.eq(SqlUuid(parent.as_uuid())));
            }
            Some(None) => q = q.filter(tasks::parent_id.is_null()),
            None => {}
        }
        match p.filter.assignee {
            Some(Some(assignee)) => {
                q = q.filter(tasks::assignee_id.eq(SqlUuid(assignee.as_uuid())));
            }
            Some(None) => q = q.filter(tasks::assignee_id.is_null()),
            None => {}
        }
        if let Some(is_done) = p.filter.is_done {
            q = q.filter(tasks::is_done.eq(is_done));
        }
        if let Some(priority) = p.filter.priority {
            q = q.filter(tasks::priority.eq(priority.rank()));
        }
        if let Some(tag) = &p.filter.tag {
            q = q.filter(diesel::dsl::exists(
                task_tags::table
                    .filter(task_tags::task_id.eq(tasks::id))
                    .filter(task_tags::tag.eq(tag.as_str().to_owned())),
            ));
        }
        let fts5: bool = $fts5;
        if let (true, Some(trigrams)) = (fts5, &p.q_trigrams) {
            q = q.filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "+tasks.rowid IN (SELECT rowid FROM task_search WHERE task_search MATCH ",
                )
                .bind::<diesel::sql_types::Text, _>(trigrams.clone())
                .sql(")"),
            );
        }
        if let Some(pattern) = &p.q {
            q = q.filter(tasks::search_key.like(pattern.clone()).escape('\\'));
            if !fts5 {
                q = q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "task_search_matches(tasks.search_key, ",
                    )
                    .bind::<diesel::sql_types::Text, _>(pattern.clone())
                    .sql(")"),
                );
            }
        }
        if let Some(before) = p.filter.due_before {
            q = q.filter(tasks::due_at.lt(SqlTimestamp(before)));
        }
        if let Some(after) = p.filter.due_after {
            q = q.filter(tasks::due_at.gt(SqlTimestamp(after)));
        }

        let after_id = p.after.as_ref().map(|c| SqlUuid(c.id.as_uuid()));
        let key = p.after.as_ref().map(|c| c.key.clone());
        let desc = p.descending;

        // Seeks `(column, id)` past the cursor and orders by them, in the sort's direction.
        // A macro for the same reason as `list_query!`, and because the five sort columns
        // have five SQL types (one nullable): a function would need bounds per column.
        macro_rules! keyset {
            ($col:expr, $value:expr) => {{
                if let (Some(value), Some(id)) = ($value, after_id) {
                    q = if desc {
                        q.filter($col.le(value.clone()))
                            .filter($col.lt(value).or(tasks::id.lt(id)))
                    } else {
                        q.filter($col.ge(value.clone()))
                            .filter($col.gt(value).or(tasks::id.gt(id)))
                    };
                }
                q = if desc {
                    q.order(($col.desc(), tasks::id.desc()))
                } else {
                    q.order(($col.asc(), tasks::id.asc()))
                };
            }};
        }

        match (p.field, phase) {
            (TaskSortField::CreatedAt, _) => keyset!(
                tasks::created_at,
                match key {
                    Some(SortKey::Instant(at)) => Some(SqlTimestamp(at)),
                    _ => None,
                }
            ),
            (TaskSortField::UpdatedAt, _) => keyset!(
                tasks::updated_at,
                match key {
                    Some(SortKey::Instant(at)) => Some(SqlTimestamp(at)),
                    _ => None,
                }
            ),
            (TaskSortField::Priority, _) => keyset!(
                tasks::priority,
                match key {
                    Some(SortKey::Priority(rank)) => Some(rank),
                    _ => None,
                }
            ),
            (TaskSortField::Title, _) => keyset!(
                tasks::title_key,
                match key {
                    Some(SortKey::Title(title)) => Some(title),
                    _ => None,
                }
            ),
            (TaskSortField::Position, _) => keyset!(
                tasks::position,
                match key {
                    Some(SortKey::Position(position)) => Some(position),
                    _ => None,
                }
            ),
            (TaskSortField::DueAt, Phase::Main) => {
                q = q.filter(tasks::due_at.is_not_null());
                keyset!(
                    tasks::due_at,
                    match key {
                        Some(SortKey::Instant(at)) => Some(Some(SqlTimestamp(at))),
                        _ => None,
                    }
                )
            }
            (TaskSortField::DueAt, Phase::Undated) => {
                q = q.filter(tasks::due_at.is_null());
                if let (Some(SortKey::NoDueDate), Some(id)) = (&key, after_id) {
                    q = if desc {
                        q.filter(tasks::id.lt(id))
                    } else {
                        q.filter(tasks::id.gt(id))
                    };
                }
                // Ordering by `(due_at, id)` rather than `id` alone changes nothing (due_at is
                // NULL throughout) but lets PostgreSQL read the `(list_id, due_at, id)` index
                // in order instead of walking the primary key of every list's tasks.
                q = if desc {
                    q.order((tasks::due_at.desc(), tasks::id.desc()))
                } else {
                    q.order((tasks::due_at.asc(), tasks::id.asc()))
                };
            }
        }
        q.limit(p.limit)
    }};
}

pub(crate) use list_query;

#[cfg(test)]
mod tests {
    use super::trigram_query;

    #[test]
    fn a_search_is_looked_up_by_its_distinct_trigrams() {
        assert_eq!(trigram_query("ab"), None);
        assert_eq!(trigram_query("abc").as_deref(), Some("\"abc\""));
        // Repeated trigrams are asked for once: 199 × `a` then `b` is two terms.
        let bomb = format!("{}b", "a".repeat(199));
        assert_eq!(trigram_query(&bomb).as_deref(), Some("\"aaa\" AND \"aab\""));
        // Quotes are doubled; characters are counted as code points.
        assert_eq!(trigram_query("é\"x").as_deref(), Some("\"é\"\"x\""));
    }
}

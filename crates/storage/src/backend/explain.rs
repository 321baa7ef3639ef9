//! `EXPLAIN` around a diesel query, for the engines' `explain_list_tasks` (test support).

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::SqlType;
use diesel::{QueryResult, RunQueryDsl};

/// `query` preceded by `prefix` (`EXPLAIN …`), returning rows of `ST`: the plan of exactly
/// the statement `query` is, binds included.
pub(crate) struct Explain<Q, ST> {
    prefix: &'static str,
    query: Q,
    rows: PhantomData<ST>,
}

impl<Q, ST> Explain<Q, ST> {
    /// `prefix` (ending in a space) followed by `query`.
    pub(crate) fn new(prefix: &'static str, query: Q) -> Self {
        Self {
            prefix,
            query,
            rows: PhantomData,
        }
    }
}

impl<Q, ST, DB> QueryFragment<DB> for Explain<Q, ST>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.prefix);
        self.query.walk_ast(out.reborrow())
    }
}

impl<Q, ST> QueryId for Explain<Q, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, ST> Query for Explain<Q, ST>
where
    ST: SqlType,
{
    type SqlType = ST;
}

impl<Q, ST, Conn> RunQueryDsl<Conn> for Explain<Q, ST> {}

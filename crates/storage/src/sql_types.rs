//! Column types that differ per backend but read and write the same Rust values.
//!
//! PostgreSQL stores ids as native `uuid` and instants as `timestamptz`; SQLite has neither,
//! so it stores them as text (see [`crate::codec`] for the exact, order-preserving form).
//! The schema names the custom SQL types below, and the `ToSql`/`FromSql` impls here pick
//! each backend's representation, so the repositories are written once for both.

use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{self, HasSqlType, SqlType};
use diesel::sqlite::Sqlite;
use uuid::Uuid;

use crate::backend::MultiBackend;
use crate::codec::{timestamp_from_text, timestamp_to_text, uuid_from_text, uuid_to_text};

/// A UUID column: `uuid` on PostgreSQL, hyphenated lower-case `TEXT` on SQLite.
#[derive(Debug, Clone, Copy, Default, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 2950, array_oid = 2951))]
#[diesel(sqlite_type(name = "Text"))]
pub struct DbUuid;

/// An instant column: `timestamptz` on PostgreSQL, fixed-width RFC 3339 `TEXT` on SQLite.
#[derive(Debug, Clone, Copy, Default, SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(oid = 1184, array_oid = 1185))]
#[diesel(sqlite_type(name = "Text"))]
pub struct DbTimestamp;

/// A UUID as a column value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = DbUuid)]
pub(crate) struct SqlUuid(pub(crate) Uuid);

/// An instant as a column value (microsecond precision on every backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = DbTimestamp)]
pub(crate) struct SqlTimestamp(pub(crate) DateTime<Utc>);

fn internal(e: taskapi_domain::StoreError) -> Box<dyn std::error::Error + Send + Sync> {
    e.to_string().into()
}

// --- PostgreSQL: delegate to diesel's own uuid and chrono support -------------------------

impl ToSql<DbUuid, Pg> for SqlUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <Uuid as ToSql<sql_types::Uuid, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<DbUuid, Pg> for SqlUuid {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <Uuid as FromSql<sql_types::Uuid, Pg>>::from_sql(bytes).map(SqlUuid)
    }
}

impl ToSql<DbTimestamp, Pg> for SqlTimestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <DateTime<Utc> as ToSql<sql_types::Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<DbTimestamp, Pg> for SqlTimestamp {
    fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <DateTime<Utc> as FromSql<sql_types::Timestamptz, Pg>>::from_sql(bytes).map(SqlTimestamp)
    }
}

// --- SQLite: text in the forms of `codec` --------------------------------------------------

impl ToSql<DbUuid, Sqlite> for SqlUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(uuid_to_text(self.0));
        Ok(IsNull::No)
    }
}

impl FromSql<DbUuid, Sqlite> for SqlUuid {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<sql_types::Text, Sqlite>>::from_sql(bytes)?;
        uuid_from_text(&text).map(SqlUuid).map_err(internal)
    }
}

impl ToSql<DbTimestamp, Sqlite> for SqlTimestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(timestamp_to_text(self.0).map_err(internal)?);
        Ok(IsNull::No)
    }
}

impl FromSql<DbTimestamp, Sqlite> for SqlTimestamp {
    fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<sql_types::Text, Sqlite>>::from_sql(bytes)?;
        timestamp_from_text(&text)
            .map(SqlTimestamp)
            .map_err(internal)
    }
}

// --- The multi-backend connection: dispatch to the above ----------------------------------

impl HasSqlType<DbUuid> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<DbUuid>(lookup)
    }
}

impl HasSqlType<DbTimestamp> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<DbTimestamp>(lookup)
    }
}

impl ToSql<DbUuid, MultiBackend> for SqlUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((DbUuid, self));
        Ok(IsNull::No)
    }
}

impl FromSql<DbUuid, MultiBackend> for SqlUuid {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<SqlUuid, DbUuid>()
    }
}

impl ToSql<DbTimestamp, MultiBackend> for SqlTimestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((DbTimestamp, self));
        Ok(IsNull::No)
    }
}

impl FromSql<DbTimestamp, MultiBackend> for SqlTimestamp {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<SqlTimestamp, DbTimestamp>()
    }
}

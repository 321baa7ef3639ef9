//! Membership in the statements that read and write lists and tasks: the conditions and
//! queries every repository and both engines share.

use diesel::dsl;
use diesel::prelude::*;

use crate::schema::{list_members, lists, tasks};
use crate::sql_types::SqlUuid;

/// `EXISTS (member's membership of the task's list)`: the condition every task read and
/// write carries, so that the membership is checked in the statement itself.
#[dsl::auto_type]
pub(crate) fn is_member_of_tasks_list(member: SqlUuid) -> _ {
    dsl::exists(
        list_members::table
            .filter(list_members::list_id.eq(tasks::list_id))
            .filter(list_members::user_id.eq(member)),
    )
}

/// `member`'s role in `list` and whether the list is archived.
#[dsl::auto_type(no_type_alias)]
pub(crate) fn access_query(list: SqlUuid, member: SqlUuid) -> _ {
    list_members::table
        .inner_join(lists::table)
        .filter(list_members::list_id.eq(list))
        .filter(list_members::user_id.eq(member))
        .select((list_members::role, lists::archived))
}

/// The list with `member`'s role in it.
#[dsl::auto_type(no_type_alias)]
pub(crate) fn list_with_role(list: SqlUuid, member: SqlUuid) -> _ {
    let columns: <lists::table as Table>::AllColumns = lists::all_columns;
    lists::table
        .inner_join(list_members::table)
        .filter(lists::id.eq(list))
        .filter(list_members::user_id.eq(member))
        .select((columns, list_members::role))
}

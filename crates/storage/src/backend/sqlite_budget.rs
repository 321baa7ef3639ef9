//! SQLite's statement time budget (`database.statement_timeout`): a statement that runs for
//! longer is interrupted inside SQLite, fails with "interrupted" and leaves its connection
//! free for the next call.
//!
//! SQLite offers this through its C API only: a progress handler, called every
//! [`PROGRESS_STEPS`] virtual-machine instructions, that aborts the running statement when
//! it returns non-zero, and a trace hook that reports when each statement starts. diesel's
//! `SqliteConnection` does not hand out its `sqlite3` handle, so the handle is caught as the
//! connection opens: an auto-extension (run by `sqlite3_open_v2` for every new connection, on
//! the opening thread) notes it in a thread-local, which [`establish`] reads right after
//! diesel's `establish` returns on the same thread.
//!
//! This is the one module of the workspace with `unsafe` code: the FFI calls and the
//! callbacks that read the [`Budget`] they were registered with.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_uint, c_void};
use std::ptr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use diesel::{Connection, ConnectionError, ConnectionResult, SqliteConnection};
use libsqlite3_sys as ffi;

/// How many virtual-machine instructions run between two looks at the clock: about a
/// microsecond of work, so that a look (one `Instant::now()`) costs well under 1 %.
const PROGRESS_STEPS: c_int = 1_000;

/// One connection's budget: how long a statement may run, and when the running one began.
/// Boxed, and kept (in [`super::ManagedConnection`]) until after the connection is closed,
/// since SQLite's callbacks hold a pointer to it.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: Duration,
    started: Cell<Option<Instant>>,
}

impl Budget {
    /// Whether the running statement has used up its time.
    fn exceeded(&self) -> bool {
        self.started
            .get()
            .is_some_and(|started| started.elapsed() > self.limit)
    }
}

thread_local! {
    /// The handle of the connection this thread opened last (see the module's docs).
    static OPENED: Cell<*mut ffi::sqlite3> = const { Cell::new(ptr::null_mut()) };
}

/// The auto-extension: notes the new connection's handle.
unsafe extern "C" fn note_opened(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    OPENED.with(|opened| opened.set(db));
    ffi::SQLITE_OK
}

/// The progress handler: non-zero interrupts the running statement.
unsafe extern "C" fn over_budget(budget: *mut c_void) -> c_int {
    // SAFETY: `budget` is the `Budget` registered with this connection, which outlives it
    // (see `Budget`); SQLite calls this on the thread that runs the statement, the only one
    // using the connection (and so the `Cell`) at that moment.
    let budget = unsafe { &*budget.cast::<Budget>() };
    c_int::from(budget.exceeded())
}

/// The trace hook (`SQLITE_TRACE_STMT`): a statement begins; its time starts now.
unsafe extern "C" fn statement_starts(
    _event: c_uint,
    budget: *mut c_void,
    _statement: *mut c_void,
    sql: *mut c_void,
) -> c_int {
    // SAFETY: as in `over_budget`; `sql` is null or SQLite's NUL-terminated text of the
    // statement, which for a trigger's program starts with "--" (part of the statement
    // that fired it, whose clock keeps running).
    let budget = unsafe { &*budget.cast::<Budget>() };
    let sql = sql.cast::<c_char>();
    let trigger =
        !sql.is_null() && unsafe { *sql == b'-' as c_char && *sql.add(1) == b'-' as c_char };
    if !trigger {
        budget.started.set(Some(Instant::now()));
    }
    0
}

/// Opens the database file at `path` with every statement limited to `limit`; `None`
/// opens it without a limit (for migrations). The returned budget must be kept until the
/// connection is closed.
///
/// # Errors
/// diesel's, when the file cannot be opened; `BadConnection` when the budget cannot be
/// installed.
pub(crate) fn establish(
    path: &str,
    limit: Option<Duration>,
) -> ConnectionResult<(SqliteConnection, Option<Box<Budget>>)> {
    let Some(limit) = limit else {
        return SqliteConnection::establish(path).map(|conn| (conn, None));
    };
    static REGISTERED: OnceLock<c_int> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        // SAFETY: registers a function with the signature SQLite expects, valid for the
        // life of the process.
        unsafe { ffi::sqlite3_auto_extension(Some(note_opened)) }
    });
    if registered != ffi::SQLITE_OK {
        return Err(ConnectionError::BadConnection(format!(
            "cannot install the statement timeout (sqlite3_auto_extension: {registered})"
        )));
    }
    OPENED.with(|opened| opened.set(ptr::null_mut()));
    let conn = SqliteConnection::establish(path)?;
    let db = OPENED.with(|opened| opened.replace(ptr::null_mut()));
    if db.is_null() {
        return Err(ConnectionError::BadConnection(
            "cannot install the statement timeout: the connection's handle was not seen".into(),
        ));
    }
    let budget = Box::new(Budget {
        limit,
        started: Cell::new(None),
    });
    let arg = ptr::from_ref::<Budget>(&budget).cast_mut().cast::<c_void>();
    // SAFETY: `db` is the open connection `conn` owns (opened just now on this thread);
    // `arg` points to the boxed budget, which the caller keeps until `conn` is closed.
    unsafe {
        ffi::sqlite3_progress_handler(db, PROGRESS_STEPS, Some(over_budget), arg);
        ffi::sqlite3_trace_v2(
            db,
            ffi::SQLITE_TRACE_STMT as c_uint,
            Some(statement_starts),
            arg,
        );
    }
    Ok((conn, Some(budget)))
}

//! The process's open-file limit (`RLIMIT_NOFILE`), raised at start-up so that
//! `server.max_connections` connections fit in it.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Open files the process needs besides client connections and pooled database
/// connections: listeners, the SQLite files, logs, and the runtime's own descriptors.
pub(crate) const RESERVE: u64 = 256;

/// Raises the soft limit to `wanted` (`None`: as far as it goes), never past the hard
/// limit, and returns the soft limit now in force (`None`: unlimited).
pub(crate) fn raise_soft_limit(wanted: Option<u64>) -> Option<u64> {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let target = match (wanted, maximum) {
        (Some(wanted), Some(hard)) => Some(wanted.min(hard)),
        (Some(wanted), None) => Some(wanted),
        (None, hard) => hard,
    };
    let raise = match (current, target) {
        (Some(soft), Some(target)) => target > soft,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !raise {
        return current;
    }
    match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: target,
            maximum,
        },
    ) {
        Ok(()) => target,
        Err(e) => {
            log::warn!("cannot raise the open-file limit: {e}");
            current
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_and_never_past_the_hard_limit() {
        let before = getrlimit(Resource::Nofile);
        let soft = raise_soft_limit(before.current.map(|soft| soft.saturating_add(1)));
        let after = getrlimit(Resource::Nofile);
        assert_eq!(soft, after.current);
        assert_eq!(after.maximum, before.maximum);
        match (before.current, before.maximum) {
            (Some(old), Some(hard)) => assert_eq!(after.current, Some((old + 1).min(hard))),
            (Some(old), None) => assert_eq!(after.current, Some(old + 1)),
            (None, _) => assert_eq!(after.current, None),
        }
        // Asking for less never lowers it.
        assert_eq!(raise_soft_limit(Some(1)), after.current);
    }
}

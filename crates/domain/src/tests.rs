//! Unit tests of the shared modules.

use crate::*;

#[test]
fn page_sizes_are_1_to_100() {
    assert_eq!(PageSize::default().get(), 50);
    assert!(PageSize::new(1).is_ok() && PageSize::new(100).is_ok());
    for bad in [0, -1, 101, i64::MAX] {
        assert!(PageSize::new(bad).is_err(), "{bad}");
    }
}

use std::collections::HashSet;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use uuid::Uuid;

use super::DIGITS;
use crate::{
    MAX_TASK_DEPTH, Position, PositionError, TaskId, TreeError, check_depth, check_move,
    check_no_cycle,
};

fn pos(raw: &str) -> Position {
    Position::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
}

fn between(before: Option<&Position>, after: Option<&Position>) -> Position {
    Position::between(before, after)
        .unwrap_or_else(|e| panic!("between {before:?} and {after:?}: {e}"))
}

/// `A` and twenty-six `0`s.
fn smallest_integer() -> String {
    format!("A{}", "0".repeat(26))
}

/// `z` and twenty-six `z`s.
fn greatest_integer() -> String {
    "z".repeat(27)
}

fn id(n: u128) -> TaskId {
    TaskId::from_uuid(Uuid::from_u128(n))
}

const TOO_DEEP: TreeError = TreeError::TooDeep {
    max: MAX_TASK_DEPTH,
};

// --- the format ---

#[test]
fn digits_are_62_characters_in_ascii_order() {
    assert_eq!(DIGITS.len(), 62);
    assert!(DIGITS.windows(2).all(|w| w[0] < w[1]));
    assert!(DIGITS.iter().all(u8::is_ascii_alphanumeric));
}

#[test]
fn the_first_position_is_valid_and_in_the_middle() {
    let first = Position::first();
    assert_eq!(first.as_str(), "a0");
    assert_eq!(Position::parse(first.as_str()), Ok(first.clone()));
    assert!(pos("Zz") < first && first < pos("a1"));
}

#[test]
fn parse_accepts_well_formed_keys() {
    let long = format!("a0{}", "V".repeat(Position::MAX_LEN - 2));
    for raw in [
        "a0",
        "az",
        "b00",
        "bzz",
        "Zz",
        "Z0",
        "Yzz",
        "a0V",
        "a01",
        "Zz0001",
        &greatest_integer(),
        &format!("{}1", smallest_integer()),
        &format!("B{}", "0".repeat(25)),
        &long,
    ] {
        let parsed = pos(raw);
        assert_eq!(parsed.as_str(), raw);
        assert_eq!(parsed.to_string(), raw);
    }
}

#[test]
fn parse_rejects_what_is_not_a_key() {
    let too_long = format!("a0{}", "V".repeat(Position::MAX_LEN - 1));
    let cases: &[(&str, PositionError)] = &[
        ("", PositionError::Empty),
        (&too_long, PositionError::TooLong { max: 255 }),
        ("a0-", PositionError::InvalidCharacter),
        ("a0 ", PositionError::InvalidCharacter),
        (" a0", PositionError::InvalidCharacter),
        ("a0é", PositionError::InvalidCharacter),
        ("a0_", PositionError::InvalidCharacter),
        // A digit is no head.
        ("0a", PositionError::Malformed),
        ("5", PositionError::Malformed),
        // Fewer digits than the head says.
        ("a", PositionError::Malformed),
        ("b0", PositionError::Malformed),
        ("Y0", PositionError::Malformed),
        ("z", PositionError::Malformed),
        // A fraction ending in `0` has an equal shorter spelling.
        ("a00", PositionError::Malformed),
        ("a0V0", PositionError::Malformed),
        // Nothing could come before the smallest integer alone.
        (&smallest_integer(), PositionError::Malformed),
    ];
    for (raw, expected) in cases {
        assert_eq!(Position::parse(raw), Err(*expected), "{raw:?}");
    }
}

#[test]
fn the_length_bound_is_in_bytes_and_inclusive() {
    let at_bound = format!("a0{}", "1".repeat(Position::MAX_LEN - 2));
    assert_eq!(at_bound.len(), 255);
    assert!(Position::parse(&at_bound).is_ok());
    assert_eq!(
        Position::parse(&format!("{at_bound}1")),
        Err(PositionError::TooLong { max: 255 })
    );
}

#[test]
fn positions_order_by_their_bytes() {
    let keys = [
        format!("{}1", smallest_integer()),
        "Yzz".to_owned(),
        "Z0".to_owned(),
        "Zz".to_owned(),
        "Zzz".to_owned(),
        "a0".to_owned(),
        "a01".to_owned(),
        "a0V".to_owned(),
        "a1".to_owned(),
        "az".to_owned(),
        "b00".to_owned(),
        greatest_integer(),
    ];
    let positions: Vec<Position> = keys.iter().map(|k| pos(k)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    assert!(keys.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
}

// --- between ---

#[test]
fn between_two_open_ends_is_the_first_position() {
    assert_eq!(between(None, None), Position::first());
}

#[test]
fn after_last_steps_the_integer_and_lengthens_it_only_when_a_head_is_used_up() {
    let cases = [
        ("a0", "a1"),
        ("a9", "aA"),
        ("aZ", "aa"),
        ("ay", "az"),
        ("az", "b00"),
        ("b0z", "b10"),
        ("bzz", "c000"),
        ("Zy", "Zz"),
        ("Zz", "a0"),
        ("Yzz", "Z0"),
        // The fraction is dropped: the next integer is after any fraction.
        ("a0V", "a1"),
        ("azzz", "b00"),
    ];
    for (last, expected) in cases {
        assert_eq!(
            Position::after_last(&pos(last)),
            Ok(pos(expected)),
            "after {last}"
        );
    }
}

#[test]
fn a_unique_append_is_after_last_valid_and_spells_the_id() {
    let first = Position::append_unique(None, id(1)).unwrap_or_else(|e| panic!("{e}"));
    // The first integer, then the id's base-62 digits without their trailing zeros.
    assert_eq!(first.as_str(), format!("a0{}1", "0".repeat(21)));
    assert_eq!(Position::parse(first.as_str()), Ok(first.clone()));
    for last in [
        "a0",
        "b12",
        "Zzz",
        "a5V",
        "z0190a1b2c3d4e5f60718293a4b5c6d7e1",
    ] {
        let last = pos(last);
        let key = Position::append_unique(Some(&last), id(u128::MAX - 7))
            .unwrap_or_else(|e| panic!("after {last:?}: {e}"));
        assert!(key > last, "{key:?} after {last:?}");
        assert!(
            key.as_str()
                .starts_with(between(Some(&last), None).as_str())
        );
        assert_eq!(Position::parse(key.as_str()), Ok(key.clone()));
    }
    // The greatest id spells 22 digits; an id ending in base-62 zeros spells fewer.
    let greatest =
        Position::append_unique(Some(&pos("a0")), id(u128::MAX)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(greatest.as_str().len(), 2 + 22);
    let round = Position::append_unique(Some(&pos("a0")), id(62 * 62 * 5))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(round.as_str(), format!("a1{}5", "0".repeat(19)));
    // Only the nil id spells nothing.
    let nil = Position::append_unique(Some(&pos("a0")), id(0)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(nil.as_str(), "a11");
}

#[test]
fn concurrent_unique_appends_differ_and_follow_their_ids() {
    // A thousand creations that all read the same last sibling: as many keys, all after it,
    // in the order of the (time-ordered) ids.
    // (`b3F` and the fraction `z`: the next integer is `b3G`.)
    let last = pos("b3Fz");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
    let mut ids: Vec<u128> = (0..1_000).map(|_| rng.random::<u128>()).collect();
    ids.sort_unstable();
    ids.dedup();
    let keys: Vec<Position> = ids
        .iter()
        .map(|&n| Position::append_unique(Some(&last), id(n)).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(keys.iter().all(|k| *k > last));
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys follow the ids");
    // A writer placing a task after one of them (holding the siblings' order) gets a key of
    // its own, and the next append after them all is short again: the next integer.
    let greatest = keys.last().unwrap_or_else(|| panic!("no keys"));
    let next = Position::after_last(greatest).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next, pos("b3H"));
    let between_two = between(Some(&keys[0]), Some(&keys[1]));
    assert!(!keys.contains(&between_two));
}

#[test]
fn unique_appends_after_a_very_long_key_report_no_room() {
    let long = pos(&format!(
        "{}{}",
        greatest_integer(),
        "z".repeat(Position::MAX_LEN - 27 - 1)
    ));
    assert_eq!(
        Position::append_unique(Some(&long), id(42)),
        Err(PositionError::NoRoom {
            max: Position::MAX_LEN
        })
    );
}

#[test]
fn before_first_steps_the_integer_or_drops_the_fraction() {
    let cases = [
        ("a1", "a0"),
        ("a0", "Zz"),
        ("Z1", "Z0"),
        ("Z0", "Yzz"),
        ("b00", "az"),
        ("c000", "bzz"),
        ("a0V", "a0"),
        ("b00V", "b00"),
    ];
    for (first, expected) in cases {
        assert_eq!(
            Position::before_first(&pos(first)),
            Ok(pos(expected)),
            "before {first}"
        );
    }
}

#[test]
fn after_the_greatest_integer_the_room_is_in_the_fraction() {
    let greatest = pos(&greatest_integer());
    let next = Position::after_last(&greatest).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next.as_str(), format!("{}V", greatest_integer()));
    let after_z = pos(&format!("{}z", greatest_integer()));
    let next = Position::after_last(&after_z).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next.as_str(), format!("{}zV", greatest_integer()));
    assert!(after_z < next);
}

#[test]
fn below_the_smallest_integer_the_room_is_in_the_fraction() {
    let smallest = smallest_integer();
    // The integer just above the smallest: its predecessor would be the bare smallest.
    let above = pos(&format!("A{}1", "0".repeat(25)));
    let below = Position::before_first(&above).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(below.as_str(), format!("{smallest}V"));
    let below_that = Position::before_first(&below).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(below_that.as_str(), format!("{smallest}F"));
    let at_one = pos(&format!("{smallest}1"));
    let below_one = Position::before_first(&at_one).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(below_one.as_str(), format!("{smallest}0V"));
    assert!(below_one < at_one);
}

#[test]
fn between_keys_of_one_integer_splits_their_fractions() {
    let cases = [
        // (before, after, expected)
        ("a0", "a0V", "a0F"),
        ("a0V", "a0W", "a0VV"),
        ("a0V", "a0W1", "a0W"),
        ("a0V", "a0X", "a0W"),
        ("a0", "a01", "a00V"),
        ("a0", "a001", "a000V"),
        ("a0VVV", "a0VVW", "a0VVVV"),
        ("a0z", "a0zV", "a0zF"),
        ("a0y", "a0z", "a0yV"),
        ("a0yz", "a0z", "a0yzV"),
        // A shorter `before` reads as `0`s past its end.
        ("a0", "a00F", "a007"),
    ];
    for (before, after, expected) in cases {
        assert_eq!(
            Position::between(Some(&pos(before)), Some(&pos(after))),
            Ok(pos(expected)),
            "between {before} and {after}"
        );
    }
}

#[test]
fn between_keys_of_different_integers_prefers_the_next_integer() {
    let cases = [
        ("a0", "a5", "a1"),
        ("a0", "b00", "a1"),
        ("az", "c000", "b00"),
        ("Zz", "a1", "a0"),
        ("a0V", "a2", "a1"),
        // The next integer is `after`'s own integer but below it.
        ("a0", "a1V", "a1"),
        // The next integer is `after` itself: the room is above `before`'s fraction.
        ("a0", "a1", "a0V"),
        ("a0V", "a1", "a0k"),
        ("a0z", "a1", "a0zV"),
        ("az", "b00", "azV"),
        ("Zz", "a0", "ZzV"),
    ];
    for (before, after, expected) in cases {
        assert_eq!(
            Position::between(Some(&pos(before)), Some(&pos(after))),
            Ok(pos(expected)),
            "between {before} and {after}"
        );
    }
}

#[test]
fn between_refuses_neighbours_out_of_order() {
    let a = pos("a0");
    let b = pos("a1");
    assert_eq!(
        Position::between(Some(&a), Some(&a)),
        Err(PositionError::NotOrdered)
    );
    assert_eq!(
        Position::between(Some(&b), Some(&a)),
        Err(PositionError::NotOrdered)
    );
}

#[test]
fn between_reports_no_room_past_the_length_bound() {
    // Two keys of 255 bytes whose fractions differ by one in their last digit: every key
    // between them needs two more digits.
    let stem = format!("a0{}", "0".repeat(Position::MAX_LEN - 3));
    let before = pos(&format!("{stem}1"));
    let after = pos(&format!("{stem}2"));
    assert_eq!(
        Position::between(Some(&before), Some(&after)),
        Err(PositionError::NoRoom { max: 255 })
    );
    // Open ends still have room: the next and previous integers are short.
    assert_eq!(Position::after_last(&after), Ok(pos("a1")));
    assert_eq!(Position::before_first(&before), Ok(pos("a0")));
}

#[test]
fn inserting_into_one_gap_again_and_again_grows_slowly_until_no_room() {
    // Each new task goes right after the same task: always the gap just above `low`.
    let low = Position::first();
    let mut high = Position::after_last(&low).unwrap_or_else(|e| panic!("{e}"));
    let mut inserted = 0_usize;
    let error = loop {
        match Position::between(Some(&low), Some(&high)) {
            Ok(key) => {
                assert!(low < key && key < high, "{low} < {key} < {high}");
                assert!(key.as_str().len() <= Position::MAX_LEN);
                assert_eq!(Position::parse(key.as_str()), Ok(key.clone()));
                // At most one more character per five insertions (log2 62 ≈ 5.95 halvings).
                assert!(key.as_str().len() <= 3 + inserted / 5, "{inserted}: {key}");
                high = key;
                inserted += 1;
            }
            Err(e) => break e,
        }
    };
    assert_eq!(error, PositionError::NoRoom { max: 255 });
    assert!(inserted >= 5 * (Position::MAX_LEN - 3), "only {inserted}");
}

#[test]
fn inserting_before_one_task_again_and_again_also_grows_slowly() {
    // Each new task goes right before the same task: always the gap just below `high`.
    let high = pos("a1");
    let mut low = Position::first();
    for inserted in 0..1_000_usize {
        let key = between(Some(&low), Some(&high));
        assert!(low < key && key < high);
        assert!(key.as_str().len() <= 3 + inserted / 5, "{inserted}: {key}");
        low = key;
    }
}

#[test]
fn ten_thousand_appends_keep_keys_at_most_four_characters() {
    let mut keys = vec![Position::first()];
    for _ in 1..10_000 {
        let last = keys.last().unwrap_or_else(|| unreachable!());
        keys.push(Position::after_last(last).unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    let lengths: Vec<usize> = keys.iter().map(|k| k.as_str().len()).collect();
    // `a0`–`az`, then `b00`–`bzz`, then `c000`…: one more character per head used up.
    assert!(lengths[..62].iter().all(|&n| n == 2));
    assert!(lengths[62..62 + 3_844].iter().all(|&n| n == 3));
    assert!(lengths[62 + 3_844..].iter().all(|&n| n == 4));
}

#[test]
fn ten_thousand_prepends_keep_keys_at_most_four_characters() {
    let mut keys = vec![Position::first()];
    for _ in 1..10_000 {
        let first = keys.last().unwrap_or_else(|| unreachable!());
        keys.push(Position::before_first(first).unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(keys.windows(2).all(|w| w[0] > w[1]));
    let longest = keys.iter().map(|k| k.as_str().len()).max();
    assert_eq!(longest, Some(4));
}

// --- model-based: random insertions against a Vec that knows the order ---

/// Where the next insertion goes.
#[derive(Debug, Clone, Copy)]
enum Insert {
    Front,
    Back,
    /// Into a random gap, uniformly.
    Anywhere,
    /// Into one of the first few gaps: a hot spot, the worst case for key length.
    NearFront,
}

fn run_model(seed: u64, operations: usize, mix: &[Insert]) -> Vec<Position> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut model: Vec<Position> = Vec::with_capacity(operations);
    for step in 0..operations {
        let slot = match mix[rng.random_range(0..mix.len())] {
            Insert::Front => 0,
            Insert::Back => model.len(),
            Insert::Anywhere => rng.random_range(0..=model.len()),
            Insert::NearFront => rng.random_range(0..=model.len().min(3)),
        };
        let before = slot.checked_sub(1).and_then(|i| model.get(i));
        let after = model.get(slot);
        let key = Position::between(before, after)
            .unwrap_or_else(|e| panic!("seed {seed}, step {step}, slot {slot}: {e}"));
        assert!(before.is_none_or(|b| *b < key), "seed {seed}, step {step}");
        assert!(after.is_none_or(|a| key < *a), "seed {seed}, step {step}");
        assert!(key.as_str().len() <= Position::MAX_LEN);
        model.insert(slot, key);
    }
    // The keys, sorted as storage sorts them (bytewise), are the model's order, unique,
    // and every one reads back as itself.
    let mut sorted: Vec<&str> = model.iter().map(Position::as_str).collect();
    sorted.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert!(
        sorted
            .iter()
            .copied()
            .eq(model.iter().map(Position::as_str))
    );
    let unique: HashSet<&str> = sorted.iter().copied().collect();
    assert_eq!(unique.len(), model.len());
    for key in &model {
        assert_eq!(Position::parse(key.as_str()).as_ref(), Ok(key));
    }
    model
}

fn longest(keys: &[Position]) -> usize {
    keys.iter().map(|k| k.as_str().len()).max().unwrap_or(0)
}

fn total_length(keys: &[Position]) -> usize {
    keys.iter().map(|k| k.as_str().len()).sum()
}

#[test]
fn random_insertions_keep_the_models_order_with_short_keys() {
    let mix = [Insert::Front, Insert::Back, Insert::Anywhere];
    for seed in [1, 2, 3, 0x5eed] {
        let keys = run_model(seed, 10_000, &mix);
        // Measured: at most 5 characters, 3.3 on average.
        let longest = longest(&keys);
        assert!(longest <= 6, "seed {seed}: a key of {longest} characters");
        let total = total_length(&keys);
        assert!(
            total <= 4 * keys.len(),
            "seed {seed}: {total} characters in all"
        );
    }
}

#[test]
fn random_insertions_into_any_gap_keep_the_models_order() {
    for seed in [7, 8] {
        let keys = run_model(seed, 10_000, &[Insert::Anywhere]);
        // Measured: at most 8 characters, 4.8 on average.
        let longest = longest(&keys);
        assert!(longest <= 10, "seed {seed}: a key of {longest} characters");
        let total = total_length(&keys);
        assert!(
            total <= 6 * keys.len(),
            "seed {seed}: {total} characters in all"
        );
    }
}

#[test]
fn a_hot_spot_of_insertions_stays_under_the_bound() {
    for seed in [11, 12] {
        let keys = run_model(seed, 3_000, &[Insert::NearFront, Insert::Back]);
        // Measured: at most 6 characters.
        let longest = longest(&keys);
        assert!(longest <= 8, "seed {seed}: a key of {longest} characters");
    }
}

// --- the task tree ---

#[test]
fn depth_allows_four_levels_in_all() {
    for parent_depth in 0..=6 {
        for height in 1..=6 {
            let expected = if parent_depth + height <= 4 {
                Ok(())
            } else {
                Err(TOO_DEEP)
            };
            assert_eq!(
                check_depth(parent_depth, height),
                expected,
                "a subtree of {height} levels under a parent at depth {parent_depth}"
            );
        }
    }
}

#[test]
fn depth_edges() {
    // A new top-level task, a subtask of a top-level task, the deepest subtask.
    assert_eq!(check_depth(0, 1), Ok(()));
    assert_eq!(check_depth(1, 1), Ok(()));
    assert_eq!(check_depth(3, 1), Ok(()));
    // Nothing goes under a task at the deepest level.
    assert_eq!(check_depth(4, 1), Err(TOO_DEEP));
    // A full four-level tree may move to the top level only.
    assert_eq!(check_depth(0, 4), Ok(()));
    assert_eq!(check_depth(1, 4), Err(TOO_DEEP));
    assert_eq!(check_depth(0, 5), Err(TOO_DEEP));
    // A height of 0 counts as a leaf.
    assert_eq!(check_depth(3, 0), Ok(()));
    assert_eq!(check_depth(4, 0), Err(TOO_DEEP));
    // No overflow.
    assert_eq!(check_depth(u32::MAX, u32::MAX), Err(TOO_DEEP));
    assert_eq!(check_depth(u32::MAX, 0), Err(TOO_DEEP));
    assert_eq!(MAX_TASK_DEPTH, 4);
}

#[test]
fn no_cycle_when_the_moved_task_is_not_above_the_target() {
    assert_eq!(check_no_cycle(id(1), &[]), Ok(()));
    assert_eq!(check_no_cycle(id(1), &[id(2)]), Ok(()));
    assert_eq!(check_no_cycle(id(1), &[id(4), id(3), id(2)]), Ok(()));
}

#[test]
fn a_cycle_when_the_target_is_the_moved_task_or_below_it() {
    // Under itself.
    assert_eq!(check_no_cycle(id(1), &[id(1)]), Err(TreeError::Cycle));
    // Under its child, under its grandchild (the moved task is up the chain).
    assert_eq!(
        check_no_cycle(id(1), &[id(2), id(1)]),
        Err(TreeError::Cycle)
    );
    assert_eq!(
        check_no_cycle(id(1), &[id(3), id(2), id(1)]),
        Err(TreeError::Cycle)
    );
    // In the middle of the chain, as when a mid-level task goes under its own child.
    assert_eq!(
        check_no_cycle(id(2), &[id(3), id(2), id(1)]),
        Err(TreeError::Cycle)
    );
}

#[test]
fn a_move_checks_the_cycle_then_the_depth_of_the_chain() {
    // To the top level.
    assert_eq!(check_move(id(1), 4, &[]), Ok(()));
    // Under a task at depth 2 (chain of two): room for two levels.
    assert_eq!(check_move(id(9), 2, &[id(2), id(1)]), Ok(()));
    assert_eq!(check_move(id(9), 3, &[id(2), id(1)]), Err(TOO_DEEP));
    // Under a task at the deepest level.
    assert_eq!(
        check_move(id(9), 1, &[id(4), id(3), id(2), id(1)]),
        Err(TOO_DEEP)
    );
    // A cycle is a cycle even when the depth would also be exceeded.
    assert_eq!(
        check_move(id(2), 3, &[id(4), id(3), id(2), id(1)]),
        Err(TreeError::Cycle)
    );
    assert_eq!(check_move(id(1), 1, &[id(1)]), Err(TreeError::Cycle));
}

#[test]
fn errors_say_what_went_wrong() {
    assert_eq!(
        TOO_DEEP.to_string(),
        "subtasks may nest at most 4 levels deep"
    );
    assert_eq!(
        PositionError::NoRoom { max: 255 }.to_string(),
        "no position between these neighbours fits in 255 characters"
    );
}

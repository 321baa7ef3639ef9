//! The configuration reference stays true: every key of `config/default.toml` (commented-out
//! optional keys included) is documented in `docs/configuration.md`, and every key the
//! reference documents exists in `config/default.toml`.

use std::collections::BTreeSet;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `section.key` for every `key = …` line, and every `# key = …` line (an optional key shown
/// commented out), under its `[section]`.
fn keys_of_default_toml(text: &str) -> BTreeSet<String> {
    let mut section = String::new();
    let mut keys = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let candidate = line.strip_prefix('#').map_or(line, str::trim);
        let Some((key, _)) = candidate.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let is_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if is_key && !section.is_empty() {
            keys.insert(format!("{section}.{key}"));
        }
    }
    keys
}

/// Every `` `section.key` `` in the first column of a table row.
fn keys_of_reference(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|key| key.contains('.') && !key.contains(' '))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_configuration_key_is_documented_and_every_documented_key_exists() {
    let defaults = keys_of_default_toml(&read("config/default.toml"));
    let documented = keys_of_reference(&read("docs/configuration.md"));
    assert!(
        defaults.len() >= 10,
        "found too few keys in config/default.toml: {defaults:?}"
    );
    let undocumented: Vec<_> = defaults.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&defaults).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "config/default.toml and docs/configuration.md disagree.\n\
         In config/default.toml but not documented: {undocumented:?}\n\
         Documented but not in config/default.toml: {unknown:?}"
    );
}

#[test]
fn the_key_readers_find_what_they_should() {
    let toml = "[a]\n# prose, not a key: x = y\nkey_one = 1\n# key_two = \"x\"\n[b]\nthree = []\n";
    let found = keys_of_default_toml(toml);
    assert_eq!(
        found,
        ["a.key_one", "a.key_two", "b.three"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>()
    );
    let md = "| key | default |\n|---|---|\n| `a.key_one` | 1 |\n| `not a key` | x |\n";
    assert_eq!(
        keys_of_reference(md),
        ["a.key_one".to_owned()]
            .into_iter()
            .collect::<BTreeSet<_>>()
    );
}

/// The image sets `TASKAPI__DATABASE__URL` (SQLite in /data), which wins over
/// `DATABASE_URL`: the compose file must point the service at its PostgreSQL through the
/// same variable, or the stack silently runs on SQLite.
#[test]
fn compose_points_the_api_at_its_postgresql_through_the_variable_the_image_sets() {
    let dockerfile = read("docker/Dockerfile");
    let compose = read("docker/compose.yaml");
    assert!(dockerfile.contains("TASKAPI__DATABASE__URL=sqlite:"));
    let setting = compose
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("TASKAPI__DATABASE__URL:"))
        .unwrap_or_else(|| panic!("compose.yaml does not set TASKAPI__DATABASE__URL"));
    assert!(
        setting.contains("postgres://") && setting.contains("@db:"),
        "{setting}"
    );
    assert!(
        !compose
            .lines()
            .any(|l| l.trim_start().starts_with("DATABASE_URL:")),
        "DATABASE_URL would be overridden by the image's TASKAPI__DATABASE__URL"
    );
}

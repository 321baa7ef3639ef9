//! Rebuilds the crate when a migration is added or changed: `embed_migrations!` reads the
//! folder at compile time, and cargo does not otherwise notice a new migration folder.

fn main() {
    println!("cargo::rerun-if-changed=../../migrations/sqlite");
    println!("cargo::rerun-if-changed=../../migrations/postgres");
}

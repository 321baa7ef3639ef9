//! The reference web client's files (`web/` in the repository), compiled into the binary so
//! that it serves them at `/app/` without reading anything at run time. Everything in
//! `web/` is the client except its tests and their Node packages (see [`NOT_SERVED`]); a
//! test checks that every other file is listed here, byte for byte.

use taskapi_http::WebAsset;

/// Paths under `web/` that are not part of the client: its browser test and what that
/// needs from npm.
pub const NOT_SERVED: &[&str] = &[
    "tests/",
    "node_modules/",
    "package.json",
    "package-lock.json",
];

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../web/", $path)))),*]
    };
}

/// The client's files: the path under `/app/` and the contents.
pub const ASSETS: &[WebAsset] = assets![
    "index.html",
    "style.css",
    "icon.svg",
    "js/main.js",
    "js/config.js",
    "js/http.js",
    "js/session.js",
    "js/tasks.js",
    "js/lists.js",
    "js/events.js",
    "js/ui/dom.js",
    "js/ui/tasks-view.js",
    "js/ui/lists-view.js",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    fn files_under(root: &Path, dir: &Path, found: &mut BTreeMap<String, Vec<u8>>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let relative = path
                .strip_prefix(root)
                .unwrap_or_else(|e| panic!("{e}"))
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                if !NOT_SERVED.contains(&format!("{relative}/").as_str()) {
                    files_under(root, &path, found);
                }
            } else if !NOT_SERVED.contains(&relative.as_str()) {
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
                found.insert(relative, bytes);
            }
        }
    }

    #[test]
    fn every_file_of_the_web_client_is_embedded_as_it_is() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut on_disk = BTreeMap::new();
        files_under(&root, &root, &mut on_disk);
        let embedded: BTreeMap<String, Vec<u8>> = ASSETS
            .iter()
            .map(|(path, body)| ((*path).to_owned(), body.to_vec()))
            .collect();
        let missing: Vec<_> = on_disk
            .keys()
            .filter(|p| !embedded.contains_key(*p))
            .collect();
        let stale: Vec<_> = embedded
            .keys()
            .filter(|p| !on_disk.contains_key(*p))
            .collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "web/ and src/web.rs disagree: add {missing:?} to ASSETS, remove {stale:?}"
        );
        assert!(on_disk.contains_key("index.html") && on_disk.len() >= 5);
        for (path, bytes) in &on_disk {
            assert!(embedded[path] == *bytes, "{path} is embedded as it is");
        }
    }

    #[test]
    fn the_embedded_client_can_be_served() {
        taskapi_http::WebClient::new(ASSETS, "")
            .unwrap_or_else(|e| panic!("the client cannot be served: {e}"));
    }
}

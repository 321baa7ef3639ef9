//! The development JWT secret kept in `data/jwt-secret` when none is configured: written
//! whole and private to the service's user, and not trusted once others could read it.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use taskapi::{Settings, jwt_secret};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Development settings from the compiled-in defaults alone: no secret configured.
fn development() -> Result<Settings, Box<dyn std::error::Error>> {
    let vars = [("TASKAPI_ENV".to_owned(), "development".to_owned())];
    let settings = Settings::load_from(Path::new("/nonexistent-config-dir"), &vars)?;
    assert!(settings.auth.jwt_secret.is_none());
    Ok(settings)
}

fn mode(path: &Path) -> std::io::Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

#[test]
fn a_generated_secret_is_kept_private_and_reused() -> TestResult {
    let settings = development()?;
    let root = tempfile::tempdir()?;
    let data = root.path().join("data");
    let first = jwt_secret(&settings, &data)?;
    assert!(first.expose().len() >= 32);
    assert_eq!(mode(&data)?, 0o700, "the folder it made");
    let file = data.join("jwt-secret");
    assert_eq!(mode(&file)?, 0o600);
    assert_eq!(std::fs::read_to_string(&file)?, first.expose());
    // Nothing but the file is left in the folder (no temporary file).
    assert_eq!(std::fs::read_dir(&data)?.count(), 1);
    let again = jwt_secret(&settings, &data)?;
    assert_eq!(again.expose(), first.expose(), "kept across restarts");
    Ok(())
}

#[test]
fn a_kept_secret_others_could_read_is_replaced() -> TestResult {
    let settings = development()?;
    let root = tempfile::tempdir()?;
    let file = root.path().join("jwt-secret");
    let exposed = "e".repeat(64);
    std::fs::write(&file, &exposed)?;
    for loose in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(loose))?;
        let secret = jwt_secret(&settings, root.path())?;
        assert_ne!(secret.expose(), exposed, "mode {loose:o}");
        assert_eq!(mode(&file)?, 0o600, "mode {loose:o}");
        assert_eq!(std::fs::read_to_string(&file)?, secret.expose());
        // Loosen it again for the next round, with the exposed secret back in it.
        std::fs::write(&file, &exposed)?;
    }
    Ok(())
}

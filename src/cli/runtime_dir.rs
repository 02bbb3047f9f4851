//! Mesa's Vulkan drivers (lavapipe among them) print `error: XDG_RUNTIME_DIR is invalid or
//! not set` when the variable is missing, then work anyway. Where it is unset (or names no
//! folder), the process gets a private one before any GPU instance is opened, so GPU
//! commands print only what they mean.

use std::path::PathBuf;

/// Sets XDG_RUNTIME_DIR to a private folder (mode 0700) under the temp dir when it is
/// unset or not a folder. Called first thing in `main`, before any thread starts.
pub fn ensure_runtime_dir() {
    let current = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    if current.as_ref().is_some_and(|d| d.is_dir()) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("autoenc-runtime-{}", user_id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return; // Mesa will only warn: nothing is lost by leaving it unset.
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    }
    // Sound only while no other thread reads the environment: main calls this first.
    std::env::set_var("XDG_RUNTIME_DIR", &dir);
}

/// The user's id where the platform tells it (a shared temp dir holds one folder per user).
fn user_id() -> String {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        // /proc/self belongs to the process's own user.
        if let Ok(m) = std::fs::metadata("/proc/self") {
            return m.uid().to_string();
        }
    }
    std::env::var("USER").unwrap_or_else(|_| "user".into())
}

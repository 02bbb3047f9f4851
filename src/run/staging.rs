//! How a run directory changes atomically. A writer holds an exclusive lock
//! (`.NAME.lock` beside the directory), keeps the complete current state of the run in a
//! staging directory (`.NAME.staging-PID`) and, at each checkpoint, swaps it with the live
//! directory in one `renameat2(RENAME_EXCHANGE)`: a reader, or a SIGKILL at any instant,
//! sees the previous complete run or the new one, never a mix. Leftovers of dead writers
//! (staging and old copies, `*.tmp` files) are removed by the next writer.

use crate::error::{Error, Result};
use crate::io::checkpoint::write_atomic;
use std::fs::File;
use std::path::{Path, PathBuf};

pub struct Staging {
    /// `live` held a finished run when this writer began: it is replaced only by
    /// [`publish_final`](Self::publish_final), so a new run that fails or is killed
    /// leaves the old one whole.
    pub replaces_run: bool,
    live: PathBuf,
    staging: PathBuf,
    /// Held for the writer's lifetime: the flock is released when the file closes.
    _lock: File,
}

impl Staging {
    /// Locks `live` and starts an empty staging directory (a new run).
    pub fn begin(live: &Path) -> Result<Self> {
        let mut s = Self::lock(live)?;
        if live.exists() && !live.is_dir() {
            return Err(Error::Config(format!("{} exists and is not a directory", live.display())));
        }
        if live.is_dir() && !is_empty(live)? && !live.join(super::CONFIG_FILE).is_file() {
            return Err(Error::Config(format!(
                "{} exists and is not a run directory (no {}); refusing to replace it",
                live.display(),
                super::CONFIG_FILE
            )));
        }
        s.replaces_run = live.join(super::CONFIG_FILE).is_file();
        std::fs::create_dir(&s.staging).map_err(|e| Error::io(&s.staging, e))?;
        Ok(s)
    }

    /// Locks the existing run `live` and stages a copy of it (files hard-linked: they are
    /// only ever replaced, never modified in place).
    pub fn amend(live: &Path) -> Result<Self> {
        let s = Self::lock(live)?;
        s.copy_live()?;
        Ok(s)
    }

    fn lock(live: &Path) -> Result<Self> {
        let name = live
            .file_name()
            .ok_or_else(|| Error::Config(format!("{}: a run directory needs a name", live.display())))?
            .to_string_lossy()
            .into_owned();
        let parent = match live.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let lock_path = parent.join(format!(".{name}.lock"));
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Config(format!(
                    "{} is being written by another autoenc process (lock {} is held); \
                     wait for it or choose another --out",
                    live.display(),
                    lock_path.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }
        remove_leftovers(&parent, &name, live);
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        Ok(Staging { replaces_run: false, live: live.to_path_buf(), staging, _lock: lock })
    }

    /// Writes one file into the staged state.
    pub fn put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.staging.join(name), bytes)
    }

    /// A checkpoint: publishes the staged state, unless this writer replaces a finished
    /// run (then the old run stays until [`publish_final`](Self::publish_final)).
    pub fn publish(&self) -> Result<()> {
        if self.replaces_run {
            return Ok(());
        }
        self.publish_final()
    }

    /// Makes the staged state the live run in one atomic swap, then stages a fresh copy
    /// of it for the next checkpoint.
    pub fn publish_final(&self) -> Result<()> {
        sync_dir(&self.staging);
        let old = self.staging.with_file_name(format!(
            "{}.old",
            self.staging.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
        if self.live.exists() {
            exchange(&self.staging, &self.live)?;
            std::fs::rename(&self.staging, &old).map_err(|e| Error::io(&old, e))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&self.staging, &self.live).map_err(|e| Error::io(&self.live, e))?;
        }
        if let Some(parent) = self.live.parent() {
            sync_dir(if parent.as_os_str().is_empty() { Path::new(".") } else { parent });
        }
        self.copy_live()?;
        kill_after_checkpoint_if_asked();
        Ok(())
    }

    fn copy_live(&self) -> Result<()> {
        std::fs::create_dir(&self.staging).map_err(|e| Error::io(&self.staging, e))?;
        let entries = std::fs::read_dir(&self.live).map_err(|e| Error::io(&self.live, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.live, e))?;
            let name = entry.file_name();
            if !entry.path().is_file() || name.to_string_lossy().ends_with(".tmp") {
                continue;
            }
            let to = self.staging.join(&name);
            std::fs::hard_link(entry.path(), &to)
                .or_else(|_| std::fs::copy(entry.path(), &to).map(|_| ()))
                .map_err(|e| Error::io(&to, e))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    /// A writer that stops (finished or failed) leaves the live run as last published.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// Fault injection for tests/reliability.rs: with `AUTOENC_TEST_KILL_AFTER_CHECKPOINT=N`
/// the process SIGKILLs itself just after publishing its Nth checkpoint, leaving the run
/// directory (and a staging copy) exactly as a SIGKILL at any instant before the next
/// checkpoint would: a kill at a chosen phase, without racing the run's timing.
fn kill_after_checkpoint_if_asked() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PUBLISHED: AtomicUsize = AtomicUsize::new(0);
    let Some(n) = std::env::var("AUTOENC_TEST_KILL_AFTER_CHECKPOINT").ok().and_then(|v| v.parse::<usize>().ok()) else {
        return;
    };
    if PUBLISHED.fetch_add(1, Ordering::SeqCst) + 1 == n {
        // SAFETY: kill(2) on our own pid; no memory is involved.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// Staging and old copies of `name` left by dead writers (we hold the lock, so no live
/// writer owns them), and `*.tmp` files in the live run.
fn remove_leftovers(parent: &Path, name: &str, live: &Path) {
    let prefix = format!(".{name}.staging-");
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(live) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn is_empty(dir: &Path) -> Result<bool> {
    Ok(std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_none())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Swaps two paths atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let cstr = |p: &Path| {
        CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::Config(format!("{}: NUL in path", p.display())))
    };
    let (ca, cb) = (cstr(a)?, cstr(b)?);
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc != 0 {
        return Err(Error::io(b, std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Without an atomic exchange: move the live run aside, then the staged one in (a crash
/// in between leaves the run under `.NAME.staging-PID.old`).
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> Result<()> {
    let aside = a.with_extension("swap");
    std::fs::rename(b, &aside).map_err(|e| Error::io(b, e))?;
    std::fs::rename(a, b).map_err(|e| Error::io(b, e))?;
    std::fs::rename(&aside, a).map_err(|e| Error::io(a, e))
}

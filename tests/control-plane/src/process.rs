//! A child process the harness owns: its output goes to a log file, and it
//! is killed when the owner is dropped.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
};

use crate::Error;

/// A process killed on drop, with its log kept for error messages.
pub(crate) struct Supervised {
    child: Mutex<Child>,
    log: PathBuf,
}

impl Supervised {
    /// Starts `binary` with `args`, logging to `<dir>/<name>.log`.
    pub(crate) fn spawn(
        name: &'static str,
        binary: &Path,
        args: &[String],
        dir: &Path,
    ) -> Result<Self, Error> {
        let log = dir.join(format!("{name}.log"));
        let io = |source| Error::Io {
            what: format!("creating {}", log.display()),
            source,
        };
        let out = File::create(&log).map_err(io)?;
        let err = out.try_clone().map_err(io)?;
        let child = Command::new(binary)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| Error::Start {
                name,
                path: binary.display().to_string(),
                source,
            })?;
        Ok(Self {
            child: Mutex::new(child),
            log,
        })
    }

    /// The exit status, if the process has ended.
    pub(crate) fn exited(&self) -> Option<String> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown: {e}")),
        }
    }

    /// The process id, for tests that pause it (`SIGSTOP`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.lock().unwrap_or_else(|p| p.into_inner()).id()
    }

    /// The last 40 lines of the log.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        // Already gone is fine; anything else cannot be reported from drop.
        let _ = child.kill();
        let _ = child.wait();
    }
}

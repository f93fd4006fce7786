//! Where the etcd and kube-apiserver binaries come from.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The folder holding `etcd` and `kube-apiserver`: `KUBEBUILDER_ASSETS` when
/// set, otherwise what the install script prints (it builds once, then
/// answers from its cache).
pub(crate) fn locate() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("KUBEBUILDER_ASSETS") {
        let dir = PathBuf::from(dir);
        check(&dir)?;
        return Ok(dir);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| Error::Assets(format!("running {}: {e}", script.display())))?;
    if !output.status.success() {
        return Err(Error::Assets(format!(
            "{} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    check(&dir)?;
    Ok(dir)
}

fn check(dir: &Path) -> Result<(), Error> {
    for bin in ["etcd", "kube-apiserver"] {
        if !dir.join(bin).is_file() {
            return Err(Error::Assets(format!("{} has no {bin}", dir.display())));
        }
    }
    Ok(())
}

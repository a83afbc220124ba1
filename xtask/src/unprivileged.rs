//! Runs the test binaries again as an unprivileged user.
//!
//! sandlock must work for ordinary users, and root hides mistakes (root may read anything,
//! ptrace anything, bind low ports). When `cargo xtask ci` runs as root, every test binary runs
//! a second time under `setpriv` as `nobody` (uid and gid 65534, no supplementary groups).

use std::path::Path;
use std::process::Command;

use crate::{TaskResult, cargo_command, workspace_root};

const NOBODY: &str = "65534";

/// One test executable and the package directory cargo would run it in.
struct TestBinary {
    executable: String,
    package_dir: String,
}

pub(crate) fn run_tests() -> TaskResult {
    if !is_root()? {
        eprintln!("xtask: not root, so the suite already ran unprivileged");
        return Ok(());
    }
    check_traversable(&workspace_root())?;
    let binaries = test_binaries()?;
    let mut failed = Vec::new();
    for bin in &binaries {
        eprintln!(
            "$ setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups {}",
            bin.executable
        );
        let status = Command::new("setpriv")
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
            ])
            .arg("--")
            .arg(&bin.executable)
            .env("HOME", "/tmp")
            .current_dir(&bin.package_dir)
            .status()
            .map_err(|e| format!("cannot run setpriv: {e}"))?;
        if !status.success() {
            failed.push(bin.executable.clone());
        }
    }
    if failed.is_empty() {
        eprintln!(
            "xtask: {} test binaries passed as uid {NOBODY}",
            binaries.len()
        );
        Ok(())
    } else {
        Err(format!("failed as uid {NOBODY}: {}", failed.join(", ")))
    }
}

fn is_root() -> Result<bool, String> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The unprivileged user must be able to reach the build directory and the sources.
fn check_traversable(dir: &Path) -> TaskResult {
    use std::os::unix::fs::PermissionsExt;
    for ancestor in dir.ancestors() {
        let mode =
            std::fs::metadata(ancestor).map_err(|e| format!("{}: {e}", ancestor.display()))?;
        if mode.permissions().mode() & 0o001 == 0 {
            return Err(format!(
                "{} is not searchable by other users, so the tests cannot run as uid {NOBODY}; \
                 check out the workspace under a world-searchable directory",
                ancestor.display()
            ));
        }
    }
    Ok(())
}

/// Builds the tests and lists their executables from cargo's JSON messages.
fn test_binaries() -> Result<Vec<TestBinary>, String> {
    let out = cargo_command()
        .args(["test", "--workspace", "--no-run", "--message-format=json"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err("building the tests failed".to_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut binaries = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\""))
    {
        let (Some(executable), Some(manifest)) = (
            json_string(line, "executable"),
            json_string(line, "manifest_path"),
        ) else {
            continue;
        };
        if !line.contains("\"test\":true") {
            continue;
        }
        let package_dir = Path::new(&manifest)
            .parent()
            .map(|p| p.display().to_string());
        binaries.push(TestBinary {
            executable,
            package_dir: package_dir.unwrap_or_default(),
        });
    }
    Ok(binaries)
}

/// The string value of `"key":"…"` in one line of cargo's JSON (paths hold no escapes here).
fn json_string(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = line[start..].find('"')?;
    Some(line[start..start + end].to_owned())
}

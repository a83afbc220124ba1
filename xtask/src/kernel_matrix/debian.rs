//! Debian kernels: resolving, locking, downloading and extracting them.
//!
//! Every apt call goes through a private apt state under `target/kernel-matrix/apt` (its own
//! sources.list, lists and cache), so the host's `/etc/apt` is never read for sources nor
//! changed, and nothing is installed. Superseded kernel versions vanish from the archive, so
//! each kernel is resolved once to an exact package version and SHA-256, recorded in
//! `xtask/kernels.lock`; later runs download exactly that file, and a run whose `vmlinuz` is
//! already extracted makes no network call at all.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::workspace_root;

/// Where a kernel comes from: a suite and the meta package that tracks its newest build.
pub(crate) struct KernelSource {
    /// The key in the lock file and in `--kernels`.
    pub(crate) key: &'static str,
    /// Suites to resolve in, first match wins (security updates before the point release).
    suites: &'static [&'static str],
    meta: &'static str,
}

/// The kernels the matrix can boot. Always `cloud-amd64`: LZ4/ZSTD images that decompress fast
/// under TCG and need no modules for a serial console and an initramfs.
pub(crate) const SOURCES: &[KernelSource] = &[
    KernelSource {
        key: "5.10",
        suites: &["bullseye"],
        meta: "linux-image-cloud-amd64",
    },
    KernelSource {
        key: "6.1",
        suites: &["bookworm-security", "bookworm"],
        meta: "linux-image-cloud-amd64",
    },
    KernelSource {
        key: "6.12",
        suites: &["bookworm-security"],
        meta: "linux-image-6.12-cloud-amd64",
    },
    KernelSource {
        key: "newest",
        suites: &["trixie-backports"],
        meta: "linux-image-cloud-amd64",
    },
];

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const APT_SOURCES: &[(&str, &str)] = &[
    ("http://deb.debian.org/debian", "bullseye"),
    ("http://deb.debian.org/debian", "bookworm"),
    (
        "http://security.debian.org/debian-security",
        "bookworm-security",
    ),
    ("http://deb.debian.org/debian", "trixie-backports"),
];

/// One locked kernel package: the one that holds the `vmlinuz`.
#[derive(Clone)]
pub(crate) struct Locked {
    pub(crate) key: String,
    pub(crate) package: String,
    pub(crate) version: String,
    sha256: String,
    file: String,
}

pub(crate) fn lock_path() -> PathBuf {
    workspace_root().join("xtask/kernels.lock")
}

pub(crate) fn cache_dir() -> PathBuf {
    crate::kernel_matrix::target_dir().join("kernel-matrix")
}

/// Reads the lock file (empty when it does not exist yet).
pub(crate) fn read_lock() -> Result<Vec<Locked>, String> {
    let path = lock_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let [key, package, version, sha256, file] = f[..] else {
            return Err(format!("{}:{}: expected 5 fields", path.display(), n + 1));
        };
        out.push(Locked {
            key: key.to_owned(),
            package: package.to_owned(),
            version: version.to_owned(),
            sha256: sha256.to_owned(),
            file: file.to_owned(),
        });
    }
    Ok(out)
}

fn write_lock(locked: &[Locked]) -> Result<(), String> {
    let mut text = String::from(
        "# The Debian kernel packages `cargo xtask kernel-matrix` boots, one per kernel key.\n\
         # Written by `cargo xtask kernel-matrix --update-lock`; the package named is the one\n\
         # that holds the vmlinuz (for 7.x the linux-binary-* package).\n\
         # key  package  version  sha256  file\n",
    );
    for l in locked {
        let _ = writeln!(
            text,
            "{} {} {} {} {}",
            l.key, l.package, l.version, l.sha256, l.file
        );
    }
    std::fs::write(lock_path(), text).map_err(|e| format!("{}: {e}", lock_path().display()))
}

/// The private apt state; `update` refreshes its package lists.
struct Apt {
    dir: PathBuf,
}

impl Apt {
    fn new() -> Result<Apt, String> {
        let dir = cache_dir().join("apt");
        for sub in ["lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut list = String::new();
        for (url, suite) in APT_SOURCES {
            let _ = writeln!(list, "deb [signed-by={KEYRING}] {url} {suite} main");
        }
        std::fs::write(dir.join("sources.list"), list).map_err(|e| e.to_string())?;
        Ok(Apt { dir })
    }

    fn options(&self) -> Vec<String> {
        let d = self.dir.display();
        [
            format!("Dir::Etc::SourceList={d}/sources.list"),
            "Dir::Etc::SourceParts=/dev/null".to_owned(),
            format!("Dir::State::Lists={d}/lists"),
            format!("Dir::Cache={d}/cache"),
            "Debug::NoLocking=1".to_owned(),
            "Acquire::Languages=none".to_owned(),
            "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".to_owned(),
            "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".to_owned(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_owned(), o])
        .collect()
    }

    fn command(&self, tool: &str) -> Command {
        let mut c = Command::new(tool);
        c.args(self.options());
        c
    }

    fn has_lists(&self) -> bool {
        std::fs::read_dir(self.dir.join("lists"))
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
            })
            .unwrap_or(false)
    }

    fn update(&self) -> Result<(), String> {
        eprintln!(
            "kernel-matrix: apt-get update (private state in {})",
            self.dir.display()
        );
        let status = self
            .command("apt-get")
            .args(["-qq", "update"])
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("apt-get update failed: {status}"))
        }
    }

    /// The fields of `apt-cache show --no-all-versions SPEC` (SPEC is `pkg/suite` or
    /// `pkg=version`), or `None` when apt knows no such package.
    fn show(&self, spec: &str) -> Result<Option<Vec<(String, String)>>, String> {
        let out = self
            .command("apt-cache")
            .args(["show", "--no-all-versions", spec])
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run apt-cache: {e}"))?;
        if !out.status.success() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let fields = text
            .lines()
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Some(fields))
    }

    fn download(&self, l: &Locked, into: &Path) -> Result<(), String> {
        eprintln!("kernel-matrix: downloading {} {}", l.package, l.version);
        let status = self
            .command("apt-get")
            .args(["-qq", "download", &format!("{}={}", l.package, l.version)])
            .current_dir(into)
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "apt-get download {}={} failed: {status} (a superseded version leaves the \
                 archive; run with --update-lock to move to the current one)",
                l.package, l.version
            ))
        }
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The package names in a `Depends` value (alternatives and version constraints dropped).
fn depends(fields: &[(String, String)]) -> Vec<String> {
    field(fields, "Depends")
        .unwrap_or("")
        .split(',')
        .filter_map(|d| d.split('|').next())
        .filter_map(|d| d.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Follows the meta package of `src` to the package that holds the vmlinuz.
fn resolve(apt: &Apt, src: &KernelSource) -> Result<Locked, String> {
    let mut found = None;
    for suite in src.suites {
        if let Some(f) = apt.show(&format!("{}/{suite}", src.meta))? {
            found = Some(f);
            break;
        }
    }
    let mut fields = found.ok_or_else(|| format!("{} is in none of {:?}", src.meta, src.suites))?;
    // meta -> linux-image-<abi>-cloud-amd64 -> (7.x) linux-binary-<abi>-cloud-amd64
    for _ in 0..3 {
        let name = field(&fields, "Package").unwrap_or_default().to_owned();
        let version = field(&fields, "Version").unwrap_or_default().to_owned();
        let deps = depends(&fields);
        let next = deps
            .iter()
            .find(|d| d.starts_with("linux-binary-"))
            .or_else(|| {
                // A meta package names no full kernel version: `linux-image-cloud-amd64`,
                // `linux-image-6.12-cloud-amd64`, against `linux-image-6.1.0-56-cloud-amd64`.
                let version_part = name
                    .trim_start_matches("linux-image-")
                    .split("-cloud")
                    .next()
                    .unwrap_or_default();
                let is_meta = version_part.matches('.').count() < 2;
                if is_meta {
                    deps.iter().find(|d| d.starts_with("linux-image-"))
                } else {
                    None
                }
            })
            .cloned();
        let Some(next) = next else {
            let file = field(&fields, "Filename")
                .and_then(|f| f.rsplit('/').next())
                .ok_or("no Filename")?
                .to_owned();
            return Ok(Locked {
                key: src.key.to_owned(),
                package: name,
                version,
                sha256: field(&fields, "SHA256").ok_or("no SHA256")?.to_owned(),
                file,
            });
        };
        fields = apt
            .show(&format!("{next}={version}"))?
            .ok_or_else(|| format!("{next}={version} not found"))?;
    }
    Err(format!("{}: dependency chain too long", src.meta))
}

/// Resolves every kernel again and rewrites the lock file.
pub(crate) fn update_lock() -> Result<Vec<Locked>, String> {
    let apt = Apt::new()?;
    apt.update()?;
    let mut locked = Vec::new();
    for src in SOURCES {
        let l = resolve(&apt, src)?;
        eprintln!("kernel-matrix: {} -> {} {}", l.key, l.package, l.version);
        locked.push(l);
    }
    write_lock(&locked)?;
    Ok(locked)
}

/// The extracted vmlinuz of `l`, downloading and extracting it if needed.
pub(crate) fn vmlinuz(l: &Locked) -> Result<PathBuf, String> {
    let kdir = cache_dir()
        .join("kernels")
        .join(format!("{}_{}", l.package, l.version));
    let image = kdir.join("vmlinuz");
    if image.exists() {
        return Ok(image);
    }
    let debs = cache_dir().join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    let deb = debs.join(&l.file);
    if !deb.exists() || sha256(&deb)? != l.sha256 {
        let apt = Apt::new()?;
        if !apt.has_lists() {
            apt.update()?;
        }
        apt.download(l, &debs)?;
        let got = sha256(&deb)?;
        if got != l.sha256 {
            return Err(format!(
                "{}: SHA-256 {got}, but the lock says {}",
                deb.display(),
                l.sha256
            ));
        }
    }
    // Only the image is extracted: the rest of the package (modules) is not needed.
    let listing = run_output(Command::new("dpkg-deb").arg("-c").arg(&deb))?;
    let member = listing
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|p| {
            Path::new(p)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz"))
        })
        .ok_or_else(|| format!("{}: no vmlinuz inside", deb.display()))?
        .to_owned();
    std::fs::create_dir_all(&kdir).map_err(|e| format!("{}: {e}", kdir.display()))?;
    let tmp = kdir.join("vmlinuz.part");
    let script = "dpkg-deb --fsys-tarfile \"$1\" | tar -xOf - \"$2\" > \"$3\"";
    let status = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(&deb)
        .arg(&member)
        .arg(&tmp)
        .status()
        .map_err(|e| format!("cannot run dpkg-deb: {e}"))?;
    if !status.success() {
        return Err(format!("extracting {member} from {} failed", deb.display()));
    }
    std::fs::rename(&tmp, &image).map_err(|e| e.to_string())?;
    Ok(image)
}

fn sha256(path: &Path) -> Result<String, String> {
    let out = run_output(Command::new("sha256sum").arg(path))?;
    Ok(out.split_whitespace().next().unwrap_or_default().to_owned())
}

fn run_output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

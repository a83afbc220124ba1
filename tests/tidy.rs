//! Tidy checks on the workspace's shape, written as ordinary tests (see ARCHITECTURE.md):
//! dependencies flow downward only, and only sandlock-sys contains `unsafe`.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The workspace's crates and the sandlock crates each may depend on (normal dependencies).
const LAYERS: &[(&str, &[&str])] = &[
    ("sandlock-sys", &[]),
    ("sandlock-bpf", &["sandlock-sys"]),
    ("sandlock-notif", &["sandlock-sys"]),
    ("sandlock-net", &["sandlock-sys", "sandlock-notif"]),
    (
        "sandlock",
        &[
            "sandlock-sys",
            "sandlock-bpf",
            "sandlock-notif",
            "sandlock-net",
        ],
    ),
];

/// Crates nobody may depend on (DEVELOPERS.md: the reactor is ours).
const BANNED: &[&str] = &["tokio", "nix", "async-std", "smol"];

/// The dependency names listed in one `[section]` of a Cargo.toml.
fn deps_in_section(manifest: &str, section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['=', '.', ' ']).next().unwrap_or_default();
            out.push(name.trim().to_owned());
        }
    }
    out
}

fn manifest(krate: &str) -> String {
    let path = root().join("crates").join(krate).join("Cargo.toml");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn dependencies_flow_downward() {
    for &(krate, allowed) in LAYERS {
        let m = manifest(krate);
        for dep in deps_in_section(&m, "dependencies") {
            if dep.starts_with("sandlock") {
                assert!(
                    allowed.contains(&dep.as_str()),
                    "{krate} must not depend on {dep}"
                );
            }
        }
    }
}

#[test]
fn no_banned_dependencies() {
    let mut manifests: Vec<(String, String)> = LAYERS
        .iter()
        .map(|&(k, _)| (k.to_owned(), manifest(k)))
        .collect();
    for extra in ["xtask", "tests"] {
        let text = fs::read_to_string(root().join(extra).join("Cargo.toml")).unwrap();
        manifests.push((extra.to_owned(), text));
    }
    for (krate, m) in &manifests {
        for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
            for dep in deps_in_section(m, section) {
                assert!(
                    !BANNED.contains(&dep.as_str()),
                    "{krate} depends on banned {dep}"
                );
            }
        }
        assert!(
            m.contains("[lints]\nworkspace = true"),
            "{krate} must use the workspace lints"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether a line of Rust uses `unsafe` as a keyword (outside comments and the lint name).
fn uses_unsafe(line: &str) -> bool {
    let code = line.split("//").next().unwrap_or_default();
    // Spelled in two halves so that this file does not flag itself.
    ["{", "fn", "impl", "extern", "trait"]
        .iter()
        .any(|next| code.contains(&format!("{}safe {next}", "un")))
}

#[test]
fn only_sandlock_sys_contains_unsafe() {
    let root = root();
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    let sys = root.join("crates").join("sandlock-sys");
    let mut offenders = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(&sys)) {
        let text = fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            if uses_unsafe(line) {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "unsafe outside sandlock-sys:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn crate_roots_forbid_unsafe() {
    let root = root();
    let mut roots = vec![
        root.join("xtask/src/main.rs"),
        root.join("tests/util/mod.rs"),
    ];
    for &(krate, _) in LAYERS.iter().filter(|(k, _)| *k != "sandlock-sys") {
        roots.push(root.join("crates").join(krate).join("src/lib.rs"));
    }
    roots.push(root.join("crates/sandlock/src/main.rs"));
    for file in roots {
        let text = fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("#![forbid(unsafe_code)]"),
            "{} must forbid unsafe",
            file.display()
        );
    }
}

#[test]
fn the_checker_sees_unsafe() {
    assert!(uses_unsafe(concat!("    let x = un", "safe { f() };")));
    assert!(uses_unsafe(concat!("pub un", "safe fn f() {}")));
    assert!(!uses_unsafe("#![forbid(unsafe_code)]"));
    assert!(!uses_unsafe("// SAFETY: an unsafe { } in a comment"));
    let m = "[dependencies]\nlibc.workspace = true\nsandlock-sys = { path = \"x\" }\n\n[dev-dependencies]\nproptest = \"1\"\n";
    assert_eq!(deps_in_section(m, "dependencies"), ["libc", "sandlock-sys"]);
    assert_eq!(deps_in_section(m, "dev-dependencies"), ["proptest"]);
}

//! `EnforcementStatus`: what Landlock, seccomp and the supervisor actually enforce.

use std::fmt::{self, Write as _};

/// How much of the requested Landlock policy the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LandlockLevel {
    /// Everything that was requested.
    Full,
    /// Some rights were left out because the kernel's ABI lacks them.
    Partial,
    /// Nothing: the kernel has no Landlock (a degraded run).
    None,
}

/// Landlock's part.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LandlockStatus {
    /// The kernel's Landlock ABI (0: none).
    pub kernel_abi: u32,
    /// Why Landlock is unavailable, when it is.
    pub unavailable: Option<String>,
    /// How much is enforced.
    pub level: LandlockLevel,
    /// Protections requested but not enforced on this kernel, each with the ABI it needs.
    pub missing: Vec<&'static str>,
}

/// The seccomp filter's part.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeccompStatus {
    /// Instructions in the compiled filter.
    pub instructions: usize,
    /// Syscalls with a rule (denied outright or guarded by arguments).
    pub syscalls_with_rules: usize,
}

/// The supervisor's part.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SupervisorStatus {
    /// Whether the supervisor holds a seccomp listener for this sandbox.
    pub listener: bool,
    /// Why not, when it does not.
    pub reason: Option<String>,
}

/// What was enforced for one sandbox, by each mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnforcementStatus {
    /// Landlock.
    pub landlock: LandlockStatus,
    /// The seccomp filter.
    pub seccomp: SeccompStatus,
    /// The supervisor.
    pub supervisor: SupervisorStatus,
}

impl LandlockLevel {
    fn as_str(self) -> &'static str {
        match self {
            LandlockLevel::Full => "full",
            LandlockLevel::Partial => "partial",
            LandlockLevel::None => "none",
        }
    }
}

/// Writes `s` as a JSON string literal.
pub(crate) fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl EnforcementStatus {
    /// The status as one JSON object.
    pub fn to_json(&self) -> String {
        let mut o = String::new();
        let l = &self.landlock;
        let _ = write!(
            o,
            "{{\"landlock\":{{\"kernel_abi\":{},\"level\":",
            l.kernel_abi
        );
        json_str(&mut o, l.level.as_str());
        o.push_str(",\"missing\":[");
        for (i, m) in l.missing.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            json_str(&mut o, m);
        }
        o.push(']');
        if let Some(why) = &l.unavailable {
            o.push_str(",\"unavailable\":");
            json_str(&mut o, why);
        }
        let _ = write!(
            o,
            "}},\"seccomp\":{{\"instructions\":{},\"syscalls_with_rules\":{}}},\"supervisor\":{{\"listener\":{}",
            self.seccomp.instructions, self.seccomp.syscalls_with_rules, self.supervisor.listener
        );
        if let Some(why) = &self.supervisor.reason {
            o.push_str(",\"reason\":");
            json_str(&mut o, why);
        }
        o.push_str("}}");
        o
    }
}

impl fmt::Display for EnforcementStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.landlock;
        write!(
            f,
            "landlock: {} (kernel ABI {})",
            l.level.as_str(),
            l.kernel_abi
        )?;
        if let Some(why) = &l.unavailable {
            write!(f, ", {why}")?;
        }
        if !l.missing.is_empty() {
            write!(f, "; not enforced: {}", l.missing.join(", "))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "seccomp: {} instructions, {} syscalls with rules",
            self.seccomp.instructions, self.seccomp.syscalls_with_rules
        )?;
        match &self.supervisor.reason {
            None => write!(f, "supervisor: listener held"),
            Some(why) => write!(f, "supervisor: no listener ({why})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let s = EnforcementStatus {
            landlock: LandlockStatus {
                kernel_abi: 2,
                unavailable: None,
                level: LandlockLevel::Partial,
                missing: vec!["tcp port rules (ABI 4)"],
            },
            seccomp: SeccompStatus {
                instructions: 120,
                syscalls_with_rules: 50,
            },
            supervisor: SupervisorStatus {
                listener: false,
                reason: Some("nested \"x\"".into()),
            },
        };
        assert_eq!(
            s.to_json(),
            r#"{"landlock":{"kernel_abi":2,"level":"partial","missing":["tcp port rules (ABI 4)"]},"seccomp":{"instructions":120,"syscalls_with_rules":50},"supervisor":{"listener":false,"reason":"nested \"x\""}}"#
        );
    }
}

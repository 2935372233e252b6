//! The grammar of every name that reaches the kernel, a path or a command.
//!
//! Contract: [`check`] accepts a name only if it is 1 to `max_len` ASCII
//! letters, digits, `-`, `_` or `.`, starting with a letter or digit. That
//! excludes by construction everything that could change what a name means
//! where it is used: whitespace and newlines (a second `ip -batch` line), `/`
//! and `..` (another path), a leading `-` (an option), NUL, shell
//! metacharacters and unicode look-alikes. Validation checks names against it
//! so the user sees `line:column`; the I/O layer checks again at the boundary
//! (namespace paths, interface names, state files), so a name built in code
//! or arriving by another route cannot slip past.

use std::fmt;

/// What a name names; decides its length limit and the words of the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// A topology's name.
    Topology,
    /// A node.
    Node,
    /// A segment.
    Segment,
    /// A link.
    Link,
    /// A named network namespace (a file under `/run/netns`).
    Netns,
    /// A Linux network interface (at most 15 bytes: `IFNAMSIZ` - 1).
    Interface,
    /// The prefix of every namespace and state file an instance creates.
    Prefix,
    /// A label key or value.
    Label,
}

/// Longest Linux interface name (`IFNAMSIZ` is 16 with the NUL).
pub const IFNAME_MAX: usize = 15;
/// Longest node, segment, link or topology name.
pub const OBJECT_NAME_MAX: usize = 40;
/// Longest instance prefix: `<prefix><node>` must stay a short namespace name.
pub const PREFIX_MAX: usize = 24;
/// Longest namespace name (a prefix, a node name and some slack).
pub const NETNS_MAX: usize = 80;

impl NameKind {
    /// The longest name of this kind, in bytes.
    pub const fn max_len(self) -> usize {
        match self {
            NameKind::Interface => IFNAME_MAX,
            NameKind::Prefix => PREFIX_MAX,
            NameKind::Netns => NETNS_MAX,
            NameKind::Label => 63,
            NameKind::Topology | NameKind::Node | NameKind::Segment | NameKind::Link => OBJECT_NAME_MAX,
        }
    }

    /// What the user calls it.
    pub const fn noun(self) -> &'static str {
        match self {
            NameKind::Topology => "topology name",
            NameKind::Node => "node name",
            NameKind::Segment => "segment name",
            NameKind::Link => "link name",
            NameKind::Netns => "namespace name",
            NameKind::Interface => "interface name",
            NameKind::Prefix => "prefix",
            NameKind::Label => "label",
        }
    }

    /// How to write a good one.
    pub fn hint(self) -> String {
        let extra = match self {
            NameKind::Netns => "; name a namespace the way `ip netns` does (a file under /run/netns), not by a path",
            NameKind::Interface => "; Linux interface names are short",
            _ => "",
        };
        format!(
            "use 1 to {} ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit{extra}",
            self.max_len()
        )
    }
}

/// Why a name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {} {}: {reason}", kind.noun(), Shown(name))]
pub struct NameError {
    /// What it names.
    pub kind: NameKind,
    /// The name as given.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A name as it may be shown: escaped (a newline is `\n`, not a line break)
/// and cut to 48 characters, so a 10 kB name does not flood a terminal.
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 48;
        let mut chars = self.0.chars();
        let head: String = chars.by_ref().take(MAX).collect();
        let more = chars.count();
        write!(f, "`{}`", head.escape_debug())?;
        if more > 0 {
            write!(f, " (and {more} more characters)")?;
        }
        Ok(())
    }
}

/// Checks `name` against the grammar for `kind`.
pub fn check(kind: NameKind, name: &str) -> Result<(), NameError> {
    let fail = |reason: String| Err(NameError { kind, name: name.to_string(), reason });
    let Some(first) = name.chars().next() else {
        return fail("it is empty".into());
    };
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        let what = match bad {
            '\n' | '\r' => "a line break".to_string(),
            '\0' => "a NUL byte".to_string(),
            '/' => "`/` (names are not paths)".to_string(),
            c if c.is_whitespace() => "whitespace".to_string(),
            c if !c.is_ascii() => format!("the non-ASCII character {:?} (U+{:04X})", c, c as u32),
            c => format!("the character {:?}", c),
        };
        return fail(format!("it contains {what}"));
    }
    if name.len() > kind.max_len() {
        return fail(format!("it has {} bytes, at most {} are allowed", name.len(), kind.max_len()));
    }
    if !first.is_ascii_alphanumeric() {
        return fail(format!("it starts with {first:?}; a name must start with a letter or digit"));
    }
    Ok(())
}

/// Makes a valid name of `kind` out of arbitrary text (for defaults derived
/// from a file name): other characters become `-`, a bad first character
/// gets an `x` before it, the rest is cut to length; empty text is `topology`.
pub fn sanitize(text: &str, kind: NameKind) -> String {
    let mut s: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect();
    if s.is_empty() {
        s = "topology".into();
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        s.insert(0, 'x');
    }
    s.truncate(kind.max_len());
    s
}

/// True when `name` passes [`check`].
pub fn is_valid(kind: NameKind, name: &str) -> bool {
    check(kind, name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in ["client", "r1", "fm-wan-", "a.b_c-d", "0"] {
            assert_eq!(check(NameKind::Node, n), Ok(()), "{n}");
        }
        assert!(is_valid(NameKind::Interface, "eth0"));
        assert!(is_valid(NameKind::Interface, "abcdefghijklmno"));
    }

    #[test]
    fn refuses_what_could_change_meaning() {
        let hostile = [
            "",
            "x\nnetns exec fm-demo-fabric touch /tmp/owned",
            "a b",
            "a\tb",
            "../etc",
            "..",
            ".",
            "/run/netns/x",
            "-n",
            "--help",
            "a;rm -rf /",
            "$(id)",
            "`id`",
            "a|b",
            "a\0b",
            "аpple", // Cyrillic а
            "ｅｔｈ０",
            "a:b",
        ];
        for n in hostile {
            assert!(check(NameKind::Netns, n).is_err(), "{n:?} was accepted");
            assert!(check(NameKind::Interface, n).is_err(), "{n:?} was accepted");
        }
        assert!(check(NameKind::Interface, "abcdefghijklmnop").is_err(), "16 bytes");
        assert!(check(NameKind::Node, &"a".repeat(10_000)).is_err());
    }

    #[test]
    fn errors_are_short_and_escaped() {
        let e = check(NameKind::Netns, "x\nnetns exec y").unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("line break"), "{e}");
        let e = check(NameKind::Node, &"a".repeat(10_000)).unwrap_err().to_string();
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn sanitized_names_pass() {
        for t in ["my lab", "", "-x", "../../etc/passwd", "ünïcode", &"z".repeat(300)] {
            let n = sanitize(t, NameKind::Topology);
            assert_eq!(check(NameKind::Topology, &n), Ok(()), "{t:?} -> {n:?}");
        }
    }

    proptest! {
        /// Whatever passes is safe everywhere a name is used: as an `ip`
        /// argument, a path component, an interface name.
        #[test]
        fn what_passes_is_inert(s in "\\PC{0,20}|[a-z0-9./ \\n-]{0,20}") {
            if check(NameKind::Interface, &s).is_ok() {
                prop_assert!(!s.is_empty() && s.len() <= 15);
                prop_assert!(!s.starts_with('-') && !s.starts_with('.'));
                prop_assert!(!s.contains('/') && !s.chars().any(char::is_whitespace) && s.is_ascii());
                prop_assert!(s != "." && s != "..");
            }
        }
    }
}

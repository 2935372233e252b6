//! Where a topology's script files may come from.
//!
//! Contract: a `script: {file: ...}` is read only from inside an allowed
//! scripts directory — the topology file's own directory and any directory
//! the operator named (`--scripts-dir`) — and only a `.lua` file. A relative path is taken from the
//! topology file's directory (or the first allowed directory); the path is
//! canonicalized (every `..` and symlink resolved) and must then lie inside
//! a canonicalized allowed directory, so `../` and symlinks cannot leave it.
//! The file is read once, here, and its text travels in the model: what was
//! checked is what runs (no later re-read of a path that could have been
//! swapped). A topology with no allowed directory (one sent over the API to
//! an appliance started without a file) can only carry inline `source:`.

use std::path::{Component, Path, PathBuf};

/// Largest script file read, in bytes.
pub const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// The directories scripts may be read from.
#[derive(Clone, Debug, Default)]
pub struct ScriptDirs {
    /// Where relative paths start (the topology file's directory).
    base: Option<PathBuf>,
    /// Canonical allowed roots.
    allowed: Vec<PathBuf>,
}

/// Why a script file was refused: a message and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptPathError {
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}

impl ScriptDirs {
    /// Scripts relative to `base` (also allowed) and inside any of `extra`.
    /// Directories that do not exist are left out (nothing can be inside).
    pub fn new(base: Option<&Path>, extra: &[PathBuf]) -> ScriptDirs {
        let allowed = base.into_iter().chain(extra.iter().map(PathBuf::as_path)).filter_map(|d| d.canonicalize().ok());
        let mut dirs = ScriptDirs { base: base.map(Path::to_path_buf), allowed: Vec::new() };
        for d in allowed {
            if !dirs.allowed.contains(&d) {
                dirs.allowed.push(d);
            }
        }
        if dirs.base.is_none() {
            dirs.base = dirs.allowed.first().cloned();
        }
        dirs
    }

    /// No directory at all: only inline scripts.
    pub fn none() -> ScriptDirs {
        ScriptDirs::default()
    }

    /// The allowed directories (canonical).
    pub fn allowed(&self) -> &[PathBuf] {
        &self.allowed
    }

    /// Resolves `file` as written to a canonical path inside an allowed
    /// directory.
    pub fn resolve(&self, file: &str) -> Result<PathBuf, ScriptPathError> {
        let err = |message: String, hint: &str| Err(ScriptPathError { message, hint: hint.to_string() });
        let shown = crate::names::Shown(file);
        if file.is_empty() || file.contains('\0') || file.len() > 4096 {
            return err(format!("script path {shown} is not a usable path"), "name a `.lua` file");
        }
        let Some(base) = &self.base else {
            return err(
                format!("script file {shown} cannot be read: this appliance has no scripts directory"),
                "send the script inline with `source:` instead of `file:`, or start faultmesh with --scripts-dir DIR",
            );
        };
        let written = Path::new(file);
        let joined = if written.is_absolute() { written.to_path_buf() } else { base.join(written) };
        let canonical = match joined.canonicalize() {
            Ok(p) => p,
            Err(e) => {
                return err(
                    format!("script {shown} not found (looked at {}): {e}", path_text(&lexical(&joined))),
                    "paths are relative to the topology file",
                );
            }
        };
        if !self.allowed.iter().any(|d| canonical.starts_with(d)) {
            let dirs: Vec<String> = self.allowed.iter().map(|d| path_text(d)).collect();
            return err(
                format!(
                    "script {shown} resolves to {}, outside the allowed scripts directories ({})",
                    path_text(&canonical),
                    if dirs.is_empty() { "none".to_string() } else { dirs.join(", ") }
                ),
                "keep scripts beside the topology file, allow their directory with --scripts-dir DIR, or send the source inline",
            );
        }
        if !canonical.is_file() {
            return err(format!("script {shown} is not a regular file"), "name a `.lua` file");
        }
        // Only Lua files: an allowed directory may hold other files (keys,
        // configuration) that a request must not be able to load, and a
        // load error would echo a piece of them.
        if canonical.extension().is_none_or(|x| x != "lua") {
            return err(format!("script {shown} is not a `.lua` file"), "scripts are Lua files ending in `.lua`");
        }
        Ok(canonical)
    }

    /// Resolves and reads `file`. The file is opened once and checked
    /// again through the opened descriptor (`/proc/self/fd`), so a path
    /// swapped for a symlink between the check and the read is caught.
    pub fn read(&self, file: &str) -> Result<(PathBuf, String), ScriptPathError> {
        use std::io::Read;
        let path = self.resolve(file)?;
        let err = |message: String| ScriptPathError { message, hint: "the script must be UTF-8 Lua text".into() };
        let f = std::fs::File::open(&path).map_err(|e| err(format!("cannot open {}: {e}", path_text(&path))))?;
        {
            use std::os::fd::AsRawFd;
            let opened = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd()))
                .map_err(|e| err(format!("cannot check {}: {e}", path_text(&path))))?;
            if opened != path || !self.allowed.iter().any(|d| opened.starts_with(d)) {
                return Err(ScriptPathError {
                    message: format!("script {} changed while it was read", path_text(&path)),
                    hint: "keep the scripts directory writable only by the operator".into(),
                });
            }
        }
        let len = f.metadata().map(|m| m.len()).map_err(|e| err(format!("{}: {e}", path_text(&path))))?;
        if len > MAX_SCRIPT_BYTES {
            return Err(err(format!(
                "script {} has {len} bytes, more than the {MAX_SCRIPT_BYTES}-byte limit",
                path_text(&path)
            )));
        }
        let mut text = String::new();
        f.take(MAX_SCRIPT_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| err(format!("cannot read {}: {e}", path_text(&path))))?;
        Ok((path, text))
    }
}

/// A path as it may be shown: control characters escaped, at most 200 characters.
fn path_text(p: &Path) -> String {
    let text = p.display().to_string();
    let mut out: String = text.chars().take(200).flat_map(char::escape_debug).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// `a/b/../c` as `a/c`, for messages only (the check uses the real path).
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn tmp(tag: &str) -> Tmp {
        let d = std::env::temp_dir().join(format!("fm-scripts-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("topo/lua")).unwrap();
        std::fs::create_dir_all(d.join("elsewhere")).unwrap();
        std::fs::write(d.join("topo/lua/ok.lua"), "function filter(pkt) return PASS end").unwrap();
        std::fs::write(d.join("elsewhere/secret.lua"), "secret").unwrap();
        Tmp(d)
    }

    #[test]
    fn inside_is_read_outside_is_refused() {
        let t = tmp("basic");
        let dirs = ScriptDirs::new(Some(&t.0.join("topo")), &[]);
        let (p, text) = dirs.read("lua/ok.lua").unwrap();
        assert!(p.ends_with("topo/lua/ok.lua") && text.contains("filter"));
        for bad in ["../elsewhere/secret.lua", "lua/../../elsewhere/secret.lua", "/etc/passwd", "/etc/shadow"] {
            let e = dirs.resolve(bad).unwrap_err();
            assert!(e.message.contains("outside") || e.message.contains("not found"), "{bad}: {e:?}");
        }
        // An absolute path inside the allowed directory is fine.
        let abs = t.0.join("topo/lua/ok.lua");
        assert!(dirs.resolve(abs.to_str().unwrap()).is_ok());
        // Only `.lua` files, even inside.
        std::fs::write(t.0.join("topo/key.pem"), "secret").unwrap();
        assert!(dirs.resolve("key.pem").unwrap_err().message.contains(".lua"));
        // A directory named on the command line widens the set.
        let wide = ScriptDirs::new(Some(&t.0.join("topo")), &[t.0.join("elsewhere")]);
        assert!(wide.resolve("../elsewhere/secret.lua").is_ok());
    }

    #[test]
    fn symlinks_cannot_leave() {
        let t = tmp("symlink");
        std::os::unix::fs::symlink(t.0.join("elsewhere/secret.lua"), t.0.join("topo/lua/link.lua")).unwrap();
        std::os::unix::fs::symlink(t.0.join("elsewhere"), t.0.join("topo/lua/dir")).unwrap();
        let dirs = ScriptDirs::new(Some(&t.0.join("topo")), &[]);
        assert!(dirs.resolve("lua/link.lua").unwrap_err().message.contains("outside"));
        assert!(dirs.resolve("lua/dir/secret.lua").unwrap_err().message.contains("outside"));
    }

    #[test]
    fn no_directory_means_inline_only() {
        let e = ScriptDirs::none().resolve("x.lua").unwrap_err();
        assert!(e.hint.contains("source:"), "{e:?}");
        assert!(ScriptDirs::none().resolve("a\0b").is_err());
    }
}

//! Who may change the appliance: a bearer token, created at start.
//!
//! Contract: `faultmesh run` serves its API only with a token (unless the
//! operator says `--insecure-no-auth`). Without `--token`, it draws 256 bits
//! from the kernel's CSPRNG. Either way the token is written to
//! [`token_path`]`(port)` — `/run/faultmesh/api-<port>.token`, mode 0600,
//! created with `O_EXCL` so it is never readable by anyone else, not even for
//! a moment — and the file is removed when the API stops. The CLI finds it by
//! the port of `--api`; only root can read it. This is Jupyter's startup
//! token stored the way Docker protects its socket: whoever can read a
//! root-only file may drive the appliance, nobody else.
//!
//! The directory must belong to root and be writable by nobody else: a
//! token written into a directory another user controls could be swapped or
//! read through a planted symlink.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where token files live (the appliance's run-time directory).
pub const TOKEN_DIR: &str = "/run/faultmesh";

/// Bytes of randomness in a generated token (hex: twice as many characters).
pub const TOKEN_BYTES: usize = 32;

/// A token file could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading the kernel's random source failed.
    #[error("reading /dev/urandom: {0}")]
    Random(std::io::Error),
    /// The directory is missing and cannot be created, or is not safe.
    #[error("token directory {path}: {message}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Writing the file failed.
    #[error("writing the API token to {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The token file of the API listening on `port`.
pub fn token_path(port: u16) -> PathBuf {
    token_path_in(Path::new(TOKEN_DIR), port)
}

/// The token file of the API listening on `port`, in `dir`.
pub fn token_path_in(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!("api-{port}.token"))
}

/// A fresh random token: [`TOKEN_BYTES`] bytes from `/dev/urandom`, in hex.
/// (`/dev/urandom` never blocks once the pool is seeded, which it is long
/// before anything could start this daemon.)
pub fn generate_token() -> Result<String, TokenError> {
    let mut buf = [0u8; TOKEN_BYTES];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).map_err(TokenError::Random)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// A written token file; dropping it removes the file.
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    /// Writes `token` for the API on `port` under [`TOKEN_DIR`].
    pub fn create(port: u16, token: &str) -> Result<TokenFile, TokenError> {
        Self::create_in(Path::new(TOKEN_DIR), port, token)
    }

    /// Writes `token` for the API on `port` under `dir` (created 0755 if
    /// missing; it must belong to root and be writable by root only).
    pub fn create_in(dir: &Path, port: u16, token: &str) -> Result<TokenFile, TokenError> {
        let bad_dir = |message: String| TokenError::Dir { path: dir.to_path_buf(), message };
        match std::fs::DirBuilder::new().mode(0o755).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(bad_dir(format!("cannot create it: {e} (run as root, or pass --token)"))),
        }
        let meta = std::fs::symlink_metadata(dir).map_err(|e| bad_dir(e.to_string()))?;
        if !meta.is_dir() {
            return Err(bad_dir("is not a directory (a symlink is not accepted)".into()));
        }
        if meta.uid() != 0 {
            return Err(bad_dir(format!("belongs to uid {}, not root", meta.uid())));
        }
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(bad_dir(format!(
                "is writable by group or others (mode {:o}); it must be 0755 or 0700",
                meta.permissions().mode() & 0o7777
            )));
        }
        let path = token_path_in(dir, port);
        let write_err = |source| TokenError::Write { path: path.clone(), source };
        // The port is ours now, so a file for it is a leftover of a killed
        // instance. Remove it and create ours exclusively: O_EXCL with mode
        // 0600 means the file never exists with other permissions, and
        // O_CREAT|O_EXCL fails on any existing name, a planted symlink too.
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(write_err(e)),
        }
        let mut f =
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(write_err)?;
        let file = TokenFile { path: path.clone() };
        f.write_all(format!("{token}\n").as_bytes()).map_err(write_err)?;
        Ok(file)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes the token files in `dir` whose API is gone: nothing listens on
/// their port on loopback. A killed (SIGKILL) appliance leaves its file
/// behind; the check is sound because `faultmesh run` listens before it
/// writes the file. Returns the files removed.
pub fn sweep_stale_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(port) =
            name.to_str().and_then(|n| n.strip_prefix("api-")?.strip_suffix(".token")?.parse::<u16>().ok())
        else {
            continue;
        };
        let live = ["127.0.0.1", "::1"].iter().any(|ip| {
            let addr = std::net::SocketAddr::new(ip.parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()), port);
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).is_ok()
        });
        if !live && std::fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

/// Why the CLI has no token to send.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenLookup {
    /// Found: the token.
    Found(String),
    /// No token file for that port (the API runs without auth, or elsewhere).
    Missing(PathBuf),
    /// The file exists but this user may not read it.
    Unreadable(PathBuf, String),
}

/// Reads the token of the API on `port` (what the CLI does when no
/// `--token` is given).
pub fn read_token(port: u16) -> TokenLookup {
    read_token_in(Path::new(TOKEN_DIR), port)
}

/// Like [`read_token`], in `dir`.
pub fn read_token_in(dir: &Path, port: u16) -> TokenLookup {
    let path = token_path_in(dir, port);
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => TokenLookup::Found(t.trim().to_string()),
        Ok(_) => TokenLookup::Missing(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => TokenLookup::Missing(path),
        Err(e) => TokenLookup::Unreadable(path, e.to_string()),
    }
}

/// Compares without an early exit, so response time says nothing about how
/// much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_hex_and_differ() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn the_file_is_0600_and_goes_away() {
        let dir = std::env::temp_dir().join(format!("fm-token-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let made = TokenFile::create_in(&dir, 0, "abc");
        let is_root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
        if !is_root {
            // The directory is ours, not root's: refused.
            assert!(matches!(made, Err(TokenError::Dir { .. })), "{made:?}");
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        let f = made.unwrap();
        let meta = std::fs::metadata(f.path()).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(read_token_in(&dir, 0), TokenLookup::Found("abc".into()));
        // A killed instance's file for the port is replaced.
        std::mem::forget(f);
        let g = TokenFile::create_in(&dir, 0, "def").unwrap();
        assert_eq!(read_token_in(&dir, 0), TokenLookup::Found("def".into()));
        drop(g);
        assert_eq!(read_token_in(&dir, 0), TokenLookup::Missing(token_path_in(&dir, 0)));
        // A group-writable directory is refused.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(TokenFile::create_in(&dir, 1, "x"), Err(TokenError::Dir { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_token_files_are_swept_live_ones_kept() {
        let dir = std::env::temp_dir().join(format!("fm-token-sweep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let live = listener.local_addr().unwrap().port();
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        for p in [live, dead] {
            std::fs::write(token_path_in(&dir, p), "x").unwrap();
        }
        std::fs::write(dir.join("other.json"), "{}").unwrap();
        let removed = sweep_stale_in(&dir);
        assert_eq!(removed, vec![token_path_in(&dir, dead)]);
        assert!(token_path_in(&dir, live).exists() && dir.join("other.json").exists());
        drop(listener);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

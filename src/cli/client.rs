//! A minimal HTTP/1.1 client for talking to a running appliance on
//! localhost (no TLS, `Connection: close`), so the CLI needs no HTTP stack.
//!
//! Authentication: `--token`/`FAULTMESH_TOKEN` if given, else — for a
//! loopback `--api` only, so a local token never goes to another host — the
//! token file `faultmesh run` wrote for its port
//! (`/run/faultmesh/api-<port>.token`, root only). When there is none to
//! send and the appliance answers 401, the error says why (no file, or not
//! readable by this user) and what to do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The appliance could not be reached (nothing listening, connection lost,
/// not an HTTP answer): `faultmesh` exits with [`super::EXIT_UNREACHABLE`].
#[derive(Debug)]
pub(crate) struct Unreachable(pub String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

/// The appliance answered with an error status (401, 4xx, 5xx): `faultmesh`
/// exits with [`super::EXIT_API_ERROR`].
#[derive(Debug)]
pub(crate) struct ApiError {
    /// What to show: the API's message, field, hint and details.
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// Turns an I/O error while talking to the appliance into [`Unreachable`].
fn lost(host: &str, e: impl std::fmt::Display) -> anyhow::Error {
    Unreachable(format!("lost the connection to the appliance at {host}: {e}")).into()
}

/// Where the API is and how to authenticate.
pub(crate) struct Client {
    host: String,
    token: Option<String>,
    /// Why no token is sent, shown if the appliance wants one.
    no_token: Option<String>,
}

/// A response.
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Client {
    /// From `--api` (`http://HOST:PORT`, `HOST:PORT`) and an optional token.
    pub(crate) fn new(api: &str, token: Option<String>) -> Client {
        let host = api.trim_start_matches("http://").trim_end_matches('/').trim_end_matches("/api/v1").to_string();
        Client { host, token, no_token: None }
    }

    /// Like [`Client::new`]; without a token, reads the one `faultmesh run`
    /// stored for the port of `api`.
    pub(crate) fn with_token_lookup(api: &str, token: Option<String>) -> Client {
        let mut c = Client::new(api, token.filter(|t| !t.is_empty()));
        if c.token.is_some() {
            return c;
        }
        let Some(port) = c.host.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()) else {
            c.no_token = Some(format!("`{}` names no port to find a token file for; pass --token", c.host));
            return c;
        };
        // The token files are this machine's: never send one elsewhere.
        let local = c.host.to_socket_addrs().is_ok_and(|mut a| a.all(|a| a.ip().is_loopback()));
        if !local {
            c.no_token = Some(format!(
                "{} is not a loopback address, so no local token file is used; pass --token or set FAULTMESH_TOKEN",
                c.host
            ));
            return c;
        }
        use faultmesh_api::auth::{TokenLookup, read_token};
        match read_token(port) {
            TokenLookup::Found(t) => match foreign_listener(port) {
                // The file is keyed by port: a local user listening on the
                // same port at another loopback address (`[::1]` where the
                // appliance has 127.0.0.1, or 127.0.0.2) would receive
                // root's token. Offer it only when every listener on the
                // port is root's.
                Some(uid) => {
                    c.no_token = Some(format!(
                        "port {port} is also listened on by uid {uid}, not root: the local token is not offered; connect to the appliance's exact address with --token if you trust it"
                    ))
                }
                None => c.token = Some(t),
            },
            TokenLookup::Missing(p) => {
                c.no_token = Some(format!(
                    "no token given and {} does not exist (is the appliance on this machine, on this port?); pass --token or set FAULTMESH_TOKEN",
                    p.display()
                ))
            }
            TokenLookup::Unreadable(p, e) => {
                c.no_token = Some(format!(
                    "the token file {} is not readable by this user ({e}): run as root or pass --token (FAULTMESH_TOKEN)",
                    p.display()
                ))
            }
        }
        c
    }

    fn connect(&self) -> anyhow::Result<TcpStream> {
        let addrs: Vec<_> = match self.host.to_socket_addrs() {
            Ok(a) => a.collect(),
            // A name that does not resolve is an unreachable appliance too.
            Err(e) => return Err(Unreachable(format!("`{}` is not a reachable host:port: {e}", self.host)).into()),
        };
        for a in &addrs {
            if let Ok(s) = TcpStream::connect_timeout(a, Duration::from_secs(2)) {
                return Ok(s);
            }
        }
        Err(Unreachable(format!(
            "no faultmesh appliance is listening on {} — start one with `faultmesh run FILE`, or point --api (or FAULTMESH_API) at it",
            self.host
        ))
        .into())
    }

    fn send(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> anyhow::Result<BufReader<TcpStream>> {
        let mut s = self.connect()?;
        s.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| lost(&self.host, e))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: faultmesh-cli\r\n",
            self.host
        );
        head += &format!("X-Faultmesh-Actor: cli:{}\r\n", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
        if let Some(t) = &self.token {
            head += &format!("Authorization: Bearer {t}\r\n");
        }
        match body {
            Some((ct, b)) => head += &format!("Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n", b.len()),
            None => head += "Content-Length: 0\r\n\r\n",
        }
        s.write_all(head.as_bytes()).map_err(|e| lost(&self.host, e))?;
        if let Some((_, b)) = body {
            s.write_all(b).map_err(|e| lost(&self.host, e))?;
        }
        Ok(BufReader::new(s))
    }

    fn read_head(r: &mut BufReader<TcpStream>) -> anyhow::Result<(u16, bool)> {
        let host = r.get_ref().peer_addr().map(|a| a.to_string()).unwrap_or_default();
        let mut line = String::new();
        r.read_line(&mut line).map_err(|e| lost(&host, e))?;
        let Some(status) = line.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok()) else {
            return Err(
                Unreachable(format!("{host} did not answer as an HTTP server (is it a faultmesh appliance?)")).into()
            );
        };
        let mut chunked = false;
        loop {
            line.clear();
            r.read_line(&mut line).map_err(|e| lost(&host, e))?;
            if line.trim().is_empty() {
                break;
            }
            let l = line.to_ascii_lowercase();
            if l.starts_with("transfer-encoding:") && l.contains("chunked") {
                chunked = true;
            }
        }
        Ok((status, chunked))
    }

    fn read_chunk(r: &mut BufReader<TcpStream>) -> anyhow::Result<Option<Vec<u8>>> {
        let host = r.get_ref().peer_addr().map(|a| a.to_string()).unwrap_or_default();
        let mut line = String::new();
        r.read_line(&mut line).map_err(|e| lost(&host, e))?;
        let Ok(size) = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16) else {
            return Err(lost(&host, "bad chunk size"));
        };
        let mut buf = vec![0u8; size];
        r.read_exact(&mut buf).map_err(|e| lost(&host, e))?;
        line.clear();
        r.read_line(&mut line).map_err(|e| lost(&host, e))?;
        Ok((size > 0).then_some(buf))
    }

    /// Sends a request and reads the whole response; a 401 is an error that
    /// says how to get a token.
    pub(crate) fn request(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> anyhow::Result<Response> {
        let resp = self.request_raw(method, path, body)?;
        if resp.status == 401 {
            let why = match (&self.token, &self.no_token) {
                (Some(_), _) => "the token was refused (a stale --token or FAULTMESH_TOKEN? the appliance makes a new one at every start)".to_string(),
                (None, Some(why)) => why.clone(),
                (None, None) => "no token given: pass --token or set FAULTMESH_TOKEN".to_string(),
            };
            return Err(
                ApiError { message: format!("the appliance at {} requires a bearer token: {why}", self.host) }.into()
            );
        }
        Ok(resp)
    }

    fn request_raw(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> anyhow::Result<Response> {
        let mut r = self.send(method, path, body)?;
        let (status, chunked) = Self::read_head(&mut r)?;
        let mut out = Vec::new();
        if chunked {
            while let Some(c) = Self::read_chunk(&mut r)? {
                out.extend_from_slice(&c);
            }
        } else {
            r.read_to_end(&mut out).map_err(|e| lost(&self.host, e))?;
        }
        Ok(Response { status, body: out })
    }

    /// Sends JSON (or nothing) and returns the JSON answer; a 4xx/5xx becomes
    /// an error that shows the API's message, field and hint.
    pub(crate) fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let resp = self.request(method, path, bytes.as_deref().map(|b| ("application/json", b)))?;
        decode(resp)
    }

    /// Follows a server-sent-event stream, calling `f` with each `data:` line.
    pub(crate) fn follow(&self, path: &str, mut f: impl FnMut(&str)) -> anyhow::Result<()> {
        let mut r = self.send("GET", path, None)?;
        r.get_ref().set_read_timeout(None)?;
        let (status, chunked) = Self::read_head(&mut r)?;
        if status == 401 {
            drop(r);
            // Same message as for any other request.
            self.request("GET", path, None)?;
            return Err(ApiError { message: format!("the API answered 401 to {path}") }.into());
        }
        if status != 200 || !chunked {
            return Err(ApiError { message: format!("the API answered {status} to {path}") }.into());
        }
        let mut pending = String::new();
        while let Some(c) = Self::read_chunk(&mut r)? {
            pending.push_str(&String::from_utf8_lossy(&c));
            while let Some(i) = pending.find('\n') {
                let line: String = pending.drain(..=i).collect();
                if let Some(d) = line.trim_end().strip_prefix("data:") {
                    f(d.trim_start());
                }
            }
        }
        Ok(())
    }
}

/// Turns a response into JSON or a readable error.
pub(crate) fn decode(resp: Response) -> anyhow::Result<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&resp.body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&resp.body).into_owned()));
    if (200..300).contains(&resp.status) {
        return Ok(v);
    }
    let e = &v["error"];
    let mut msg =
        format!("the appliance answered {}: {}", resp.status, e["message"].as_str().unwrap_or(&v.to_string()));
    if let Some(f) = e["field"].as_str() {
        msg += &format!(" (field `{f}`)");
    }
    if let Some(h) = e["hint"].as_str() {
        msg += &format!("\n  hint: {h}");
    }
    if let Some(d) = e["details"].as_array() {
        for x in d {
            msg += &format!("\n  {}:{}: {}", x["line"], x["column"], x["message"].as_str().unwrap_or(""));
        }
    }
    Err(ApiError { message: msg }.into())
}

/// The uid of a non-root process listening on TCP `port` (any address, IPv4
/// or IPv6), read from `/proc/net/tcp{,6}` (field 8 is the socket owner's
/// uid); `None` when every listener is root's. Unreadable tables count as
/// foreign: the token is then not offered.
fn foreign_listener(port: u16) -> Option<u32> {
    let mut seen = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { return Some(u32::MAX) };
        for l in text.lines().skip(1) {
            let f: Vec<&str> = l.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
            let (Some(local), Some(st), Some(uid)) = (f.get(1), f.get(3), f.get(7)) else { continue };
            let lport = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            if *st == "0A" && lport == Some(port) {
                seen = true;
                match uid.parse::<u32>() {
                    Ok(0) => {}
                    Ok(u) => return Some(u),
                    Err(_) => return Some(u32::MAX),
                }
            }
        }
    }
    // Nobody listens: nothing to send the token to anyway.
    let _ = seen;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_shared_with_a_non_root_listener_gets_no_token() {
        // Tests run as root: a listener of ours is root's.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if unsafe_free_uid() == 0 {
            assert_eq!(foreign_listener(port), None);
        } else {
            assert!(foreign_listener(port).is_some());
        }
    }

    fn unsafe_free_uid() -> u32 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(u32::MAX)
    }

    #[test]
    fn a_local_token_is_never_offered_to_another_host() {
        // Resolving an address literal sends nothing anywhere.
        let c = Client::with_token_lookup("http://192.0.2.1:7878", None);
        assert!(c.token.is_none());
        assert!(c.no_token.as_deref().is_some_and(|m| m.contains("not a loopback address")), "{:?}", c.no_token);
        let c = Client::with_token_lookup("http://127.0.0.1:7878/api/v1", Some("t".into()));
        assert_eq!((c.host.as_str(), c.token.as_deref()), ("127.0.0.1:7878", Some("t")));
        let c = Client::with_token_lookup("127.0.0.1", None);
        assert!(c.no_token.as_deref().is_some_and(|m| m.contains("names no port")), "{:?}", c.no_token);
    }
}

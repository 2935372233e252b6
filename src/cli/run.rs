//! `faultmesh run`: realize a topology and forward its traffic until stopped.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use faultmesh_emulator::io::appliance::{Appliance, ApplianceError};
use faultmesh_emulator::io::attach::AttachPolicy;
use faultmesh_emulator::io::dataplane::Options;
use faultmesh_emulator::io::{setup, sys};
use faultmesh_emulator::names::{self, NameKind};

use faultmesh_emulator::topology::{self, Topology};

use super::summary;

/// Describes where every node lives.
pub(crate) fn describe(app: &Appliance, topo: &Topology) -> String {
    let mut out = String::new();
    for (i, p) in app.places().iter().enumerate() {
        let n = &topo.nodes[i];
        let addrs: Vec<String> = n.addresses.iter().map(|a| a.to_string()).collect();
        out += &format!(
            "  {:<12} netns {:<24} {} {}\n",
            p.node,
            p.netns.as_deref().unwrap_or("(this namespace)"),
            p.interface,
            addrs.join(" ")
        );
    }
    out
}

pub(crate) fn require_privileges(what: &str) -> Option<ExitCode> {
    if sys::has_net_admin() {
        return None;
    }
    eprintln!(
        "faultmesh {what}: this needs root or CAP_NET_ADMIN, because it creates network namespaces, veth pairs and TUN devices.\n\
         Run it as root (e.g. `sudo faultmesh {what} ...`) or grant the capability: `sudo setcap cap_net_admin,cap_sys_admin+ep $(which faultmesh)`."
    );
    Some(ExitCode::from(2))
}

pub(crate) fn load(file: &Path, scripts_dir: &[std::path::PathBuf]) -> Result<Topology, ExitCode> {
    match topology::load_file_with(file, scripts_dir) {
        Ok((t, _)) => Ok(t),
        Err((d, src)) => {
            eprint!("{}", d.render(&file.display().to_string(), &src));
            Err(ExitCode::from(1))
        }
    }
}

/// What the operator allows topologies to reach beyond their own namespaces.
pub(crate) struct Trust {
    /// Extra directories script files may come from.
    pub scripts_dir: Vec<std::path::PathBuf>,
    /// `--allow-attach` patterns.
    pub allow_attach: Vec<String>,
    /// `--allow-container` patterns.
    pub allow_container: Vec<String>,
}

/// Where and how to serve the API.
pub(crate) struct ApiOptions {
    /// Listen address; `None`: no API.
    pub listen: Option<std::net::SocketAddr>,
    /// Bearer token given by the operator (default: a random one).
    pub token: Option<String>,
    /// Serve without a token (`--insecure-no-auth`).
    pub insecure_no_auth: bool,
}

/// The API's listener and token, set up before any device exists so that a
/// busy port or an unwritable token file stops `run` with nothing to undo.
struct ApiListen {
    listener: std::net::TcpListener,
    local: std::net::SocketAddr,
    token: Option<String>,
    /// Removes `/run/faultmesh/api-<port>.token` when dropped.
    token_file: Option<faultmesh_api::auth::TokenFile>,
}

/// A token given by the operator must fit in an HTTP header as is.
fn check_token(t: &str) -> Result<(), String> {
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token must be non-empty printable ASCII without spaces".into());
    }
    Ok(())
}

/// Decides the token, binds the API and writes the token file. `Err` is an
/// exit code after a message.
fn prepare_api(listen: std::net::SocketAddr, api: &ApiOptions) -> anyhow::Result<Result<ApiListen, ExitCode>> {
    let refuse = |msg: String| {
        eprintln!("faultmesh run: {msg}");
        Ok(Err(ExitCode::from(2)))
    };
    if let Some(t) = &api.token {
        if let Err(m) = check_token(t) {
            return refuse(m);
        }
        if t.len() < 16 {
            tracing::warn!("a {}-character token is easy to guess; use 32 or more", t.len());
        }
    }
    if !faultmesh_api::is_loopback(&listen) && api.token.is_none() {
        // Off loopback the token crosses a network in clear text: the
        // operator must choose it (and its distribution) knowingly.
        return refuse(format!(
            "the API would listen on {listen}, which is not loopback: set a bearer token with --token or FAULTMESH_TOKEN{}",
            if api.insecure_no_auth { " (--insecure-no-auth is for loopback only)" } else { "" }
        ));
    }
    let token = match (&api.token, api.insecure_no_auth) {
        (Some(t), _) => Some(t.clone()),
        (None, true) => None,
        (None, false) => Some(faultmesh_api::auth::generate_token()?),
    };
    let listener = std::net::TcpListener::bind(listen).with_context(|| format!("binding the API to {listen}"))?;
    let local = listener.local_addr()?;
    // Files of killed appliances (SIGKILL gives no chance to remove them).
    faultmesh_api::auth::sweep_stale_in(std::path::Path::new(faultmesh_api::auth::TOKEN_DIR));
    let token_file = match &token {
        None => None,
        Some(t) => match faultmesh_api::auth::TokenFile::create(local.port(), t) {
            Ok(f) => Some(f),
            // The operator holds a token of their own: the file is a convenience.
            Err(e) if api.token.is_some() => {
                tracing::warn!("{e}; clients need --token or FAULTMESH_TOKEN");
                None
            }
            Err(e) => {
                return refuse(format!(
                    "{e}\n  nobody could use an API whose token is not stored: run as root, or give --token (FAULTMESH_TOKEN)"
                ));
            }
        },
    };
    if token.is_none() {
        tracing::warn!(
            "--insecure-no-auth: the API on {local} accepts requests from ANY local user or process, \
             and this appliance runs as root. Use it only on a throwaway machine."
        );
    }
    Ok(Ok(ApiListen { listener, local, token, token_file }))
}

/// The API server running on its own tokio runtime thread.
struct ApiServer {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn start_api(
    listener: std::net::TcpListener,
    state: std::sync::Arc<faultmesh_api::AppState>,
) -> anyhow::Result<ApiServer> {
    listener.set_nonblocking(true)?;
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("fm-api".into()).spawn(move || {
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("fm-api-worker")
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "API runtime");
                return;
            }
        };
        rt.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "API listener");
                    return;
                }
            };
            if let Err(e) = faultmesh_api::serve(listener, state, async move {
                let _ = rx.await;
            })
            .await
            {
                tracing::error!(error = %e, "API server stopped");
            }
        });
    })?;
    Ok(ApiServer { stop, thread })
}

pub(crate) fn run(
    file: &Path,
    prefix: Option<String>,
    opts: Options,
    stats_json: Option<&Path>,
    api: ApiOptions,
    trust: Trust,
) -> anyhow::Result<ExitCode> {
    let attach = match AttachPolicy::with_containers(&trust.allow_attach, &trust.allow_container) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("faultmesh run: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Some(p) = &prefix {
        if let Err(e) = names::check(NameKind::Prefix, p) {
            eprintln!("faultmesh run: --prefix: {e}\n  hint: {}", NameKind::Prefix.hint());
            return Ok(ExitCode::from(2));
        }
    }
    let topo = match load(file, &trust.scripts_dir) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    if let Some(code) = require_privileges("run") {
        return Ok(code);
    }
    let listen = match api.listen {
        Some(l) => match prepare_api(l, &api)? {
            Ok(x) => Some(x),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    sys::block_termination_signals().context("blocking signals")?;
    let prefix = prefix.unwrap_or_else(|| setup::default_prefix(&topo));
    let app = match Appliance::start_with(&topo, &prefix, opts, attach) {
        Ok(a) => a,
        Err(e @ ApplianceError::Attach(_)) => {
            eprintln!("faultmesh run: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    let t = topo;
    println!("faultmesh: running `{}` (prefix {prefix}, {} nodes, {} links)", t.name, t.nodes.len(), t.links.len());
    print!("{}", describe(&app, &t));
    let backend =
        std::sync::Arc::new(faultmesh_api::ApplianceBackend::new(app).context("the data plane did not start")?);
    let source = std::fs::canonicalize(file).ok();
    let token = listen.as_ref().and_then(|l| l.token.clone());
    let state = super::scripts::state(backend.clone(), source, token, &t);
    if let Ok(mut d) = state.script_dirs.lock() {
        *d = trust.scripts_dir.clone();
    }
    // Kept until the server has stopped: the file goes when the API does.
    let mut token_file = None;
    let server = match listen {
        Some(l) => {
            let local = l.local;
            let srv = start_api(l.listener, state)?;
            println!("faultmesh: API on http://{local}/api/v1 (metrics on http://{local}/metrics)");
            match &l.token_file {
                Some(f) => println!("faultmesh: API token in {} (root only; the CLI reads it)", f.path().display()),
                None if l.token.is_some() => println!("faultmesh: API token: the one given with --token"),
                None => {}
            }
            token_file = l.token_file;
            Some(srv)
        }
        None => None,
    };
    println!("faultmesh: ready — Ctrl-C or SIGTERM stops and removes everything");
    let sig = sys::wait_termination();
    tracing::info!(signal = sig, "stopping");
    if let Some(srv) = server {
        let _ = srv.stop.send(());
        let _ = srv.thread.join();
    }
    drop(token_file);
    let last = backend.snapshot();
    if let Some(s) = &last {
        println!("{}", summary::loop_line(&s.loop_stats));
    }
    let engine = backend.stop();
    if let Some(e) = &engine {
        println!("{}", summary::links_table(&e.snapshot()));
    }
    if let (Some(path), Some(mut snap)) = (stats_json, last) {
        if let Some(e) = &engine {
            snap.engine = e.snapshot();
        }
        std::fs::write(path, serde_json::to_vec_pretty(&snap)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

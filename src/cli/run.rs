//! `faultmesh run`: realize a topology and forward its traffic until stopped.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use faultmesh_emulator::io::appliance::Appliance;
use faultmesh_emulator::io::dataplane::Options;
use faultmesh_emulator::io::{setup, sys};

use faultmesh_emulator::topology::{self, Topology};

use super::summary;

/// Describes where every node lives.
pub(crate) fn describe(app: &Appliance) -> String {
    let mut out = String::new();
    for (i, p) in app.places().iter().enumerate() {
        let n = &app.topology().nodes[i];
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

pub(crate) fn load(file: &Path) -> Result<Topology, ExitCode> {
    match topology::load_file(file) {
        Ok((t, _)) => Ok(t),
        Err((d, src)) => {
            eprint!("{}", d.render(&file.display().to_string(), &src));
            Err(ExitCode::from(1))
        }
    }
}

/// Where and how to serve the API.
pub(crate) struct ApiOptions {
    /// Listen address; `None`: no API.
    pub listen: Option<std::net::SocketAddr>,
    /// Bearer token.
    pub token: Option<String>,
}

/// The API server running on its own tokio runtime thread.
struct ApiServer {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn start_api(
    listen: std::net::SocketAddr,
    state: std::sync::Arc<faultmesh_api::AppState>,
) -> anyhow::Result<(ApiServer, std::net::SocketAddr)> {
    let listener = std::net::TcpListener::bind(listen).with_context(|| format!("binding the API to {listen}"))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
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
                eprintln!("faultmesh: API runtime: {e}");
                return;
            }
        };
        rt.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("faultmesh: API listener: {e}");
                    return;
                }
            };
            if let Err(e) = faultmesh_api::serve(listener, state, async move {
                let _ = rx.await;
            })
            .await
            {
                eprintln!("faultmesh: API: {e}");
            }
        });
    })?;
    Ok((ApiServer { stop, thread }, local))
}

pub(crate) fn run(
    file: &Path,
    prefix: Option<String>,
    opts: Options,
    stats_json: Option<&Path>,
    api: ApiOptions,
) -> anyhow::Result<ExitCode> {
    let topo = match load(file) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    if let Some(code) = require_privileges("run") {
        return Ok(code);
    }
    if let Some(l) = api.listen {
        if !faultmesh_api::is_loopback(&l) && api.token.is_none() {
            eprintln!(
                "faultmesh run: the API would listen on {l}, which is not loopback: set a bearer token with --token or FAULTMESH_TOKEN"
            );
            return Ok(ExitCode::from(2));
        }
    }
    sys::block_termination_signals().context("blocking signals")?;
    let prefix = prefix.unwrap_or_else(|| setup::default_prefix(&topo));
    let app = Appliance::start(topo, &prefix, opts)?;
    let t = app.topology().clone();
    println!("faultmesh: running `{}` (prefix {prefix}, {} nodes, {} links)", t.name, t.nodes.len(), t.links.len());
    print!("{}", describe(&app));
    let backend =
        std::sync::Arc::new(faultmesh_api::ApplianceBackend::new(app).context("the data plane did not start")?);
    let source = std::fs::canonicalize(file).ok();
    let state = super::scripts::state(backend.clone(), source, api.token.clone(), &t);
    let server = match api.listen {
        Some(l) => {
            let (srv, local) = start_api(l, state)?;
            println!("faultmesh: API on http://{local}/api/v1 (metrics on http://{local}/metrics)");
            Some(srv)
        }
        None => None,
    };
    println!("faultmesh: ready — Ctrl-C or SIGTERM stops and removes everything");
    let sig = sys::wait_termination();
    eprintln!("faultmesh: signal {sig}: stopping");
    if let Some(srv) = server {
        let _ = srv.stop.send(());
        let _ = srv.thread.join();
    }
    let last = faultmesh_api::Backend::snapshot(backend.as_ref());
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

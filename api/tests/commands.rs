//! Handlers tested without an engine, firecracker style: a request produces
//! the engine commands asserted here, reads produce none, and a data plane
//! that does not answer makes a write a JSON 504 that changes nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use faultmesh_api::backend::CommandFuture;
use faultmesh_api::{AppState, Backend, BackendError, MemoryBackend, Options, router};
use faultmesh_emulator::engine::ReloadReport;
use faultmesh_emulator::fault::{EffectKind, FaultEffect, PartitionEffect};
use faultmesh_emulator::impair::Impairments;
use faultmesh_emulator::io::command::{CommandError, EngineCommand, EngineReply, FaultPlan, ReloadPlan, keep_filters};
use faultmesh_emulator::io::dataplane::DataPlaneSnapshot;
use faultmesh_emulator::io::setup::NodePlace;
use faultmesh_emulator::time::Instant;
use faultmesh_emulator::topology::{self, Topology};
use http_body_util::BodyExt;
use tower::ServiceExt;

const TOPO: &str = r#"
name: t
nodes:
  a: {kind: host, addresses: [10.0.0.1/24]}
  b: {kind: host, addresses: [10.0.0.2/24]}
  c: {kind: host, addresses: [10.0.0.3/24]}
segments:
  lan: {kind: switch}
links:
  la: {a: a, b: lan, both: {delay: 10ms}}
  lb: {a: b, b: lan}
  lc: {a: c, b: lan}
"#;

/// Records every command and answers it without an engine.
struct Recording {
    commands: Mutex<Vec<EngineCommand>>,
    counters: Arc<DataPlaneSnapshot>,
}

impl Recording {
    fn new(t: &Topology) -> Recording {
        Recording { commands: Mutex::default(), counters: MemoryBackend::new(t).counters() }
    }

    fn take(&self) -> Vec<EngineCommand> {
        std::mem::take(&mut *self.commands.lock().unwrap())
    }
}

impl Backend for Recording {
    fn call(&self, cmd: EngineCommand, _: Duration) -> CommandFuture {
        let reply = match &cmd {
            EngineCommand::FilterStats => EngineReply::Filters(Vec::new()),
            _ => EngineReply::Done,
        };
        self.commands.lock().unwrap().push(cmd);
        Box::pin(async move { Ok(reply) })
    }
    fn reload(&self, _: &Topology, plan: ReloadPlan) -> Result<ReloadReport, BackendError> {
        self.commands.lock().unwrap().push(EngineCommand::Reload(Box::new(plan)));
        Ok(ReloadReport::default())
    }
    fn counters(&self) -> Arc<DataPlaneSnapshot> {
        Arc::clone(&self.counters)
    }
    fn now(&self) -> Instant {
        faultmesh_emulator::io::now()
    }
    fn places(&self) -> Vec<NodePlace> {
        Vec::new()
    }
}

/// A data plane that never takes a command: every call runs into its
/// timeout, and reloads fail the same way.
struct Unresponsive(MemoryBackend);

impl Backend for Unresponsive {
    fn call(&self, _: EngineCommand, timeout: Duration) -> CommandFuture {
        Box::pin(async move {
            tokio::time::sleep(timeout).await;
            Err(CommandError::Timeout(timeout))
        })
    }
    fn reload(&self, _: &Topology, _: ReloadPlan) -> Result<ReloadReport, BackendError> {
        Err(CommandError::Timeout(Duration::from_millis(100)).into())
    }
    fn counters(&self) -> Arc<DataPlaneSnapshot> {
        self.0.counters()
    }
    fn now(&self) -> Instant {
        self.0.now()
    }
    fn places(&self) -> Vec<NodePlace> {
        Vec::new()
    }
}

async fn call(app: &axum::Router, method: &str, uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

fn topo() -> Topology {
    topology::parse_str(TOPO, "t", None).unwrap()
}

fn recording() -> (axum::Router, Arc<AppState>, Arc<Recording>) {
    let t = topo();
    let backend = Arc::new(Recording::new(&t));
    let state = AppState::new(backend.clone(), t, None, None);
    let (app, _) = router(Arc::clone(&state));
    (app, state, backend)
}

#[tokio::test]
async fn reads_send_no_command() {
    let (app, _, rec) = recording();
    for path in ["/api/v1/status", "/api/v1/links", "/api/v1/links/la", "/api/v1/nodes", "/api/v1/counters", "/metrics"]
    {
        let (st, v) = call(&app, "GET", path, "").await;
        assert_eq!(st, StatusCode::OK, "{path}: {v}");
    }
    assert_eq!(rec.take(), vec![], "reads never wait on the data plane");
}

#[tokio::test]
async fn a_link_patch_is_one_set_impairments() {
    let (app, _, rec) = recording();
    let (st, v) = call(&app, "PATCH", "/api/v1/links/lb", r#"{"a_to_b": {"loss": "1%"}}"#).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ab = Impairments { loss: Some(serde_json::from_value(serde_json::json!("1%")).unwrap()), ..Default::default() };
    assert_eq!(rec.take(), vec![EngineCommand::SetImpairments { link: 1, a_to_b: ab, b_to_a: Impairments::default() }]);
    // A patch that does not validate sends nothing.
    let (st, _) = call(&app, "PATCH", "/api/v1/links/lb", r#"{"a_to_b": {"reorder": "25%"}}"#).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rec.take(), vec![]);
}

#[tokio::test]
async fn faults_are_installed_whole_and_the_kill_switch_is_one_command() {
    let (app, state, rec) = recording();
    let (st, v) = call(&app, "POST", "/api/v1/faults", r#"{"kind": "down", "target": "link=lc"}"#).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let f = state.ctl.view().faults.get(1).cloned().unwrap();
    let down = FaultEffect { id: 1, kind: EffectKind::Down, probability: 1.0, start: f.start, end: None };
    let mut plan = FaultPlan::none(3);
    plan.links[2] = [vec![down.clone()], vec![down]];
    assert_eq!(rec.take(), vec![EngineCommand::InstallFaults(plan)]);

    let (st, _) = call(&app, "POST", "/api/v1/faults", r#"{"kind": "partition", "groups": [["a"], ["b", "c"]]}"#).await;
    assert_eq!(st, StatusCode::CREATED);
    match &rec.take()[..] {
        [EngineCommand::InstallFaults(p)] => {
            assert_eq!(p.links[2].iter().map(Vec::len).collect::<Vec<_>>(), [1, 1], "the down fault stays");
            assert_eq!(p.partitions.len(), 1);
            assert_eq!(p.partitions[0].side, vec![1, 2, 2]);
        }
        other => panic!("{other:?}"),
    }

    let (st, _) = call(&app, "POST", "/api/v1/killswitch", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(rec.take(), vec![EngineCommand::ClearFaults]);
    let (st, _) = call(&app, "DELETE", "/api/v1/faults/1", "").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(rec.take(), vec![], "nothing to delete, nothing sent");
}

#[tokio::test]
async fn a_reload_carries_the_faults_of_the_new_topology_in_the_same_command() {
    let (app, state, rec) = recording();
    let (st, _) = call(&app, "POST", "/api/v1/faults", r#"{"kind": "partition", "groups": [["a"], ["b"]]}"#).await;
    assert_eq!(st, StatusCode::CREATED);
    let start = state.ctl.view().faults.get(1).unwrap().start;
    rec.take();
    let new = TOPO.replace("delay: 10ms", "delay: 11ms");
    let (st, v) = call(&app, "PUT", "/api/v1/topology", &new).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let t = topology::parse_str(&new, "t", None).unwrap();
    let mut faults = FaultPlan::none(3);
    faults.partitions.push(PartitionEffect { id: 1, side: vec![1, 2, 0], probability: 1.0, start, end: None });
    assert_eq!(
        rec.take(),
        vec![EngineCommand::Reload(Box::new(ReloadPlan::new(t.clone(), faults, keep_filters(3))))],
        "one command: the partition is never lifted"
    );
    assert_eq!(*state.ctl.view().topology, t);
}

fn unresponsive() -> (axum::Router, Arc<AppState>) {
    let t = topo();
    let backend = Arc::new(Unresponsive(MemoryBackend::new(&t)));
    let mut o = Options::new(t);
    o.command_timeout = Duration::from_millis(100);
    let state = AppState::with(backend, o);
    let (app, _) = router(Arc::clone(&state));
    (app, state)
}

#[tokio::test]
async fn a_data_plane_that_does_not_answer_is_a_504_and_nothing_is_recorded() {
    let (app, state) = unresponsive();
    for (method, path, body) in [
        ("POST", "/api/v1/faults", r#"{"kind": "loss", "target": "all", "percent": "50%"}"#),
        ("PATCH", "/api/v1/links/la", r#"{"both": {"delay": "50ms"}}"#),
        ("POST", "/api/v1/killswitch", ""),
        ("DELETE", "/api/v1/faults", ""),
        ("PUT", "/api/v1/topology", &TOPO.replace("10ms", "20ms")),
    ] {
        let (st, v) = call(&app, method, path, body).await;
        assert_eq!(st, StatusCode::GATEWAY_TIMEOUT, "{method} {path}: {v}");
        assert_eq!(v["error"]["code"], "dataplane_timeout", "{v}");
        assert!(v["error"]["hint"].as_str().unwrap().contains("nothing was changed"), "{v}");
    }
    assert!(state.ctl.view().faults.is_empty(), "the fault was not added");
    let (_, l) = call(&app, "GET", "/api/v1/links/la", "").await;
    assert_eq!(l["a_to_b"]["configured"]["delay"]["time"], "10ms", "the patch was not recorded: {l}");
    assert_eq!(state.ctl.view().topology.links[0].a_to_b.delay.unwrap().delay, Duration::from_millis(10));
    let (_, ev) = call(&app, "GET", "/api/v1/events", "").await;
    assert_eq!(ev, serde_json::json!([]), "no event for what did not happen");
}

#[tokio::test]
async fn reads_answer_while_a_write_waits_for_the_data_plane() {
    let t = topo();
    let mut o = Options::new(t.clone());
    o.command_timeout = Duration::from_secs(2);
    let state = AppState::with(Arc::new(Unresponsive(MemoryBackend::new(&t))), o);
    let (app, _) = router(Arc::clone(&state));
    let a2 = app.clone();
    let write = tokio::spawn(async move {
        call(&a2, "POST", "/api/v1/faults", r#"{"kind": "loss", "target": "all", "percent": "50%"}"#).await
    });
    tokio::task::yield_now().await;
    for path in ["/api/v1/status", "/api/v1/links", "/api/v1/faults", "/metrics"] {
        let (st, _) = call(&app, "GET", path, "").await;
        assert_eq!(st, StatusCode::OK, "{path}");
    }
    assert!(!write.is_finished(), "the reads did not wait for the write");
    assert_eq!(write.await.unwrap().0, StatusCode::GATEWAY_TIMEOUT);
}

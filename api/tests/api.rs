//! The API against an in-memory engine: every request shape, good and bad.
//! (Tests with real traffic live in the root package's `tests/api.rs`.)

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use faultmesh_api::{AppState, MemoryBackend, router};
use faultmesh_emulator::io::command::{EngineCommand, ReloadPlan};
use faultmesh_emulator::topology;
use http_body_util::BodyExt;
use tower::ServiceExt;

const TOPO: &str = r#"
name: t
nodes:
  a: {kind: host, addresses: [10.0.0.1/24], labels: {tier: web}}
  b: {kind: host, addresses: [10.0.0.2/24], labels: {tier: db}}
  c: {kind: host, addresses: [10.0.0.3/24]}
segments:
  lan: {kind: switch}
links:
  la: {a: a, b: lan, both: {delay: 10ms}}
  lb: {a: b, b: lan}
  lc: {a: c, b: lan}
"#;

struct Api {
    app: axum::Router,
    state: Arc<AppState>,
    backend: Arc<MemoryBackend>,
}

/// The token every test API requires, as `faultmesh run` would.
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const BEARER: &str = "Bearer 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn api() -> Api {
    api_with(Some(TOKEN))
}

fn api_with(token: Option<&str>) -> Api {
    let t = topology::parse_str(TOPO, "t", None).unwrap();
    let backend = Arc::new(MemoryBackend::new(&t));
    let state = AppState::new(backend.clone(), t, None, token.map(String::from));
    let (app, _) = router(Arc::clone(&state));
    Api { app, state, backend }
}

impl Api {
    /// A request with the token.
    async fn call(&self, method: &str, uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
        self.call_with(method, uri, body, Some(BEARER)).await
    }

    async fn call_with(
        &self,
        method: &str,
        uri: &str,
        body: &str,
        auth: Option<&str>,
    ) -> (StatusCode, serde_json::Value) {
        let (st, _, v) = self.call_full(method, uri, body, auth).await;
        (st, v)
    }

    async fn call_full(
        &self,
        method: &str,
        uri: &str,
        body: &str,
        auth: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = self.app.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, v)
    }

    fn impairments(&self, link: usize, dir: u8) -> String {
        self.backend.with_engine(|e| e.pipeline(link, dir).impairments().summary())
    }
}

#[tokio::test]
async fn status_topology_and_links() {
    let a = api();
    let (st, v) = a.call("GET", "/api/v1/status", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["topology"], "t");
    assert_eq!(v["links"], 3);
    let (_, v) = a.call("GET", "/api/v1/topology", "").await;
    assert_eq!(v["links"]["la"]["a_to_b"]["delay"]["time"], "10ms");
    let (st, v) = a.call("GET", "/api/v1/links/la", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["a_to_b"]["live"]["impairments"], "delay 10ms");
    let (st, v) = a.call("GET", "/api/v1/links/nope", "").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(v["error"]["message"].as_str().unwrap().contains("no link named `nope`"));
}

#[tokio::test]
async fn patch_sets_changes_and_clears_single_fields() {
    let a = api();
    let (st, _) = a.call("PATCH", "/api/v1/links/la", r#"{"a_to_b": {"loss": "1%", "rate": "100mbit"}}"#).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(a.impairments(0, 0), "delay 10ms loss 1% rate 100mbit");
    assert_eq!(a.impairments(0, 1), "delay 10ms");
    let (st, _) =
        a.call("PATCH", "/api/v1/links/la", r#"{"both": {"delay": "20ms 2ms"}, "a_to_b": {"loss": null}}"#).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(a.impairments(0, 0), "delay 20ms 2ms rate 100mbit");
    assert_eq!(a.impairments(0, 1), "delay 20ms 2ms");
    let (_, ev) = a.call("GET", "/api/v1/events", "").await;
    let ev = ev.as_array().unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[1]["action"], "link.patch");
    assert_eq!(ev[1]["detail"]["a_to_b"], "delay 20ms 2ms rate 100mbit");
}

#[tokio::test]
async fn bad_patches_are_refused_without_changing_anything() {
    let a = api();
    let before = (a.impairments(0, 0), a.impairments(0, 1));
    for (body, status, field, text) in [
        (r#"{"a_to_b": {"delya": "10ms"}}"#, StatusCode::BAD_REQUEST, "a_to_b.delya", "unknown field `delya`"),
        (
            r#"{"a_to_b": {"delay": "10xs"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "a_to_b.delay",
            "unknown time unit `xs`",
        ),
        (r#"{"both": {"loss": "150%"}}"#, StatusCode::UNPROCESSABLE_ENTITY, "both.loss", "above 100%"),
        (r#"{"both": {"mtu": "big"}}"#, StatusCode::BAD_REQUEST, "both.mtu", "invalid type"),
        (r#"{"both": {"mtu": 40}}"#, StatusCode::UNPROCESSABLE_ENTITY, "a_to_b.mtu", "out of range"),
        (
            r#"{"b_to_a": {"delay": null, "reorder": "25%"}}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "b_to_a.reorder",
            "without a delay",
        ),
        (r#"{"sideways": {}}"#, StatusCode::BAD_REQUEST, "", "unknown field `sideways`"),
        (r#"{"a_to_b": "#, StatusCode::BAD_REQUEST, "", "not valid JSON"),
        ("", StatusCode::BAD_REQUEST, "", "empty body"),
    ] {
        let (st, v) = a.call("PATCH", "/api/v1/links/la", body).await;
        assert_eq!(st, status, "{body}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains(text), "{body}: {v}");
        if !field.is_empty() {
            assert_eq!(v["error"]["field"], field, "{body}: {v}");
        }
    }
    let big = format!(r#"{{"a_to_b": {{"delay": "{}"}}}}"#, "1".repeat(100_000));
    let (st, v) = a.call("PATCH", "/api/v1/links/la", &big).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let (st, _) = a.call("PATCH", "/api/v1/links/ghost", r#"{"a_to_b": {"loss": "1%"}}"#).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!((a.impairments(0, 0), a.impairments(0, 1)), before, "nothing changed");
    let (_, ev) = a.call("GET", "/api/v1/events", "").await;
    assert!(ev.as_array().unwrap().is_empty(), "no change, no event");
}

#[tokio::test]
async fn topology_replacement_validates_first() {
    let a = api();
    let bad = TOPO.replace("lc: {a: c, b: lan}", "lc: {a: c, b: lan, both: {jiter: 1ms}}");
    let (line, col) =
        bad.lines().enumerate().find_map(|(i, l)| l.find("jiter").map(|c| (i as u64 + 1, c as u64 + 1))).unwrap();
    let resp = a
        .app
        .clone()
        .oneshot(
            Request::builder()
                .header("authorization", BEARER)
                .method("PUT")
                .uri("/api/v1/topology")
                .header("content-type", "application/yaml")
                .body(Body::from(bad))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: serde_json::Value = serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let d = &v["error"]["details"][0];
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(line), Some(col)), "{v}");
    assert!(d["message"].as_str().unwrap().contains("jiter"));
    assert_eq!(a.impairments(0, 0), "delay 10ms", "running topology untouched");
    let (st, _) = a.call("PUT", "/api/v1/topology", "nodes: [").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, v) = a.call("PUT", "/api/v1/topology", &TOPO.replace("delay: 10ms", "delay: 30ms")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["report"]["links_changed"], serde_json::json!(["la"]));
    assert_eq!(a.impairments(0, 0), "delay 30ms");
    let (st, v) = a.call("POST", "/api/v1/topology/reload", "").await;
    assert_eq!(st, StatusCode::CONFLICT, "no file to reload from: {v}");
}

#[tokio::test]
async fn faults_validate_stack_expire_and_switch_off() {
    let a = api();
    for (body, field) in [
        (r#"{"kind": "delay", "target": "link=la"}"#, "delay"),
        (r#"{"kind": "delay", "delay": "5ms"}"#, "target"),
        (r#"{"kind": "delay", "delay": "5ms", "target": "link=zz"}"#, "target"),
        (r#"{"kind": "delay", "delay": "5ms", "target": "room=1"}"#, "target"),
        (r#"{"kind": "loss", "target": "node=a", "percent": "10%", "ttl": "30"}"#, "ttl"),
        (r#"{"kind": "loss", "target": "node=a", "probability": "10%"}"#, "probability"),
        (r#"{"kind": "down", "target": "node=a", "direction": "a_to_b"}"#, "direction"),
        (r#"{"kind": "partition", "groups": [["a"], ["a"]]}"#, "groups"),
        (r#"{"kind": "partition", "groups": [["a"], ["nobody"]]}"#, "groups[1]"),
        (r#"{"kind": "rate_limit", "target": "all", "rate": "100"}"#, "rate"),
    ] {
        let (st, v) = a.call("POST", "/api/v1/faults", body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let (st, v) = a.call("POST", "/api/v1/faults", r#"{"kind": "explode", "target": "all"}"#).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("unknown variant `explode`"));
    assert_eq!(v["error"]["field"], "kind");
    assert!(a.state.ctl.view().faults.is_empty());

    // Two delay faults on one link stack; a label selector finds b's link.
    let (st, v1) = a
        .call("POST", "/api/v1/faults", r#"{"kind": "delay", "target": "link=la", "delay": "5ms", "scenario": "slow"}"#)
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v1}");
    let (_, v2) = a
        .call("POST", "/api/v1/faults", r#"{"kind": "delay", "target": "node=a", "delay": "7ms", "scenario": "slow"}"#)
        .await;
    let (_, v3) = a
        .call(
            "POST",
            "/api/v1/faults",
            r#"{"kind": "loss", "target": "label:tier=db", "percent": "10%", "ttl": "150ms"}"#,
        )
        .await;
    assert_eq!(v3["applies_to"], serde_json::json!(["lb:a_to_b", "lb:b_to_a"]));
    assert_eq!(v1["state"], "active");
    let faults_on =
        |link: usize| a.backend.with_engine(|e| e.pipeline(link, 0).faults().map(|f| f.id).collect::<Vec<_>>());
    assert_eq!(faults_on(0), vec![v1["id"].as_u64().unwrap(), v2["id"].as_u64().unwrap()]);
    assert_eq!(faults_on(1).len(), 1);
    // TTL: gone after 150 ms, by itself.
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.state.sweep().await;
    assert!(faults_on(1).is_empty(), "expired");
    let (_, list) = a.call("GET", "/api/v1/faults", "").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Delete a scenario; then the kill switch.
    let (_, _) = a.call("POST", "/api/v1/faults", r#"{"kind": "partition", "groups": [["a", "b"], ["c"]]}"#).await;
    let (st, d) = a.call("DELETE", "/api/v1/faults?scenario=slow", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["deleted"].as_array().unwrap().len(), 2);
    assert!(faults_on(0).is_empty());
    let (st, d) = a.call("POST", "/api/v1/killswitch", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(d["deleted"].as_array().unwrap().len(), 1);
    let (st, _) = a.call("GET", "/api/v1/faults/1", "").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = a.call("GET", "/api/v1/faults/one", "").await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "a malformed path parameter: {v}");
    assert_eq!(v["error"]["field"], "id", "{v}");
    let (_, ev) = a.call("GET", "/api/v1/events", "").await;
    let actions: Vec<&str> = ev.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "fault.create",
            "fault.create",
            "fault.create",
            "fault.expire",
            "fault.create",
            "fault.delete",
            "fault.killswitch"
        ]
    );
}

#[tokio::test]
async fn nodes_counters_metrics_and_openapi() {
    let a = api();
    let (_, nodes) = a.call("GET", "/api/v1/nodes", "").await;
    assert_eq!(nodes.as_array().unwrap().len(), 3);
    let (st, n) = a.call("GET", "/api/v1/nodes/a", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(n["link"], "la");
    assert_eq!(n["traffic"]["sent_packets"], 0);
    let (st, c) = a.call("GET", "/api/v1/counters", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(c["engine"]["links"].as_array().unwrap().len(), 3);
    let (st, m) = a.call("GET", "/metrics", "").await;
    assert_eq!(st, StatusCode::OK);
    let m = m.as_str().unwrap();
    assert!(m.contains("# TYPE faultmesh_link_packets_total counter"));
    assert!(
        m.contains(
            r#"faultmesh_link_dropped_packets_total{link="la",direction="a_to_b",stage="loss",reason="loss"} 0"#
        ),
        "{m}"
    );
    let (st, doc) = a.call("GET", "/api/v1/openapi.json", "").await;
    assert_eq!(st, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in ["/links/{name}", "/faults", "/killswitch", "/topology", "/events/stream", "/nodes/{name}"] {
        assert!(doc["paths"].get(format!("/api/v1{p}")).is_some(), "{p} documented under its real prefix");
    }
    assert!(doc["paths"]["/metrics"]["get"].is_object(), "/metrics documented");
    assert!(doc["paths"]["/api/v1/faults"]["post"]["requestBody"].is_object());
    let (st, v) = a.call("GET", "/api/v1/nothing-here", "").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["error"]["code"], "not_found");
}

#[tokio::test]
async fn every_operation_but_the_document_needs_the_token() {
    let a = api();
    let (_, doc) = a.call("GET", "/api/v1/openapi.json", "").await;
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer", "{}", doc["components"]);
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let uri = path.replace("{name}", "la").replace("{id}", "1");
        for method in item.as_object().unwrap().keys() {
            let method = method.to_uppercase();
            if path == "/api/v1/openapi.json" {
                assert_eq!(item["get"]["security"], serde_json::json!([{}]), "documented as public");
                let (st, _) = a.call_with(&method, &uri, "", None).await;
                assert_eq!(st, StatusCode::OK, "the contract is public");
                continue;
            }
            for auth in [None, Some("Bearer wrong"), Some("Basic Zm9vOmJhcg=="), Some(&BEARER[..BEARER.len() - 1])] {
                let (st, headers, v) = a.call_full(&method, &uri, "{}", auth).await;
                assert_eq!(st, StatusCode::UNAUTHORIZED, "{method} {uri} with {auth:?}: {v}");
                assert_eq!(v["error"]["code"], "unauthorized", "{v}");
                let challenge = headers.get("www-authenticate").and_then(|h| h.to_str().ok()).unwrap_or_default();
                assert!(challenge.starts_with("Bearer"), "{method} {uri}: {challenge:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 4 * 20, "{checked}");
    // Unknown paths too: no route enumeration without the token.
    let (st, _) = a.call_with("GET", "/api/v1/nothing-here", "", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // Nothing happened.
    assert!(a.state.ctl.view().faults.is_empty());
    let (_, ev) = a.call("GET", "/api/v1/events", "").await;
    assert!(ev.as_array().unwrap().is_empty(), "{ev}");
    assert_eq!(a.impairments(0, 0), "delay 10ms");

    // Without a token configured (`--insecure-no-auth`), nothing is asked.
    let open = api_with(None);
    let (st, _) = open.call_with("POST", "/api/v1/killswitch", "", None).await;
    assert_eq!(st, StatusCode::OK);
}

/// Reads server-sent events from `body` until `n` have arrived (or 5 s
/// pass): (id, event name, data).
async fn read_sse(body: &mut Body, n: usize) -> Vec<(u64, String, serde_json::Value)> {
    let mut text = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while out.len() < n {
        let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, body.frame()).await else { break };
        let Ok(data) = frame.into_data() else { continue };
        text.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let (mut id, mut name, mut json) = (None, String::new(), serde_json::Value::Null);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    json = serde_json::from_str(v.trim()).unwrap_or_default();
                }
            }
            if let Some(id) = id {
                out.push((id, name, json));
            }
        }
    }
    out
}

impl Api {
    async fn stream(&self, uri: &str, last_event_id: Option<&str>) -> (StatusCode, Body) {
        let mut req = Request::builder().method("GET").uri(uri).header("authorization", BEARER);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let resp = self.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        (resp.status(), resp.into_body())
    }
}

#[tokio::test]
async fn the_event_stream_is_live_and_resumes_without_gaps_or_repeats() {
    let a = api();
    // Something before anyone listens: a plain subscriber must not get it.
    let (st, _) = a.call("PATCH", "/api/v1/links/lb", r#"{"a_to_b": {"loss": "1%"}}"#).await;
    assert_eq!(st, StatusCode::OK);
    let (st, mut live) = a.stream("/api/v1/events/stream", None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = a.call("PATCH", "/api/v1/links/la", r#"{"a_to_b": {"loss": "2%"}}"#).await;
    assert_eq!(st, StatusCode::OK);
    let got = read_sse(&mut live, 1).await;
    assert_eq!(got.len(), 1, "the change reached the open stream: {got:?}");
    let (seen, name, data) = &got[0];
    assert_eq!((name.as_str(), data["detail"]["link"].as_str()), ("link.patch", Some("la")), "{data}");
    assert_eq!(data["seq"], *seen, "the SSE id is the log's sequence number");

    // The client goes away; meanwhile a fault comes and goes.
    drop(live);
    let (st, f) = a.call("POST", "/api/v1/faults", r#"{"kind": "delay", "target": "link=la", "delay": "5ms"}"#).await;
    assert_eq!(st, StatusCode::CREATED, "{f}");
    let (st, _) = a.call("DELETE", &format!("/api/v1/faults/{}", f["id"]), "").await;
    assert_eq!(st, StatusCode::OK);

    // Reconnecting with Last-Event-ID replays exactly what was missed, in
    // order, then carries on live.
    let (st, mut resumed) = a.stream("/api/v1/events/stream", Some(&seen.to_string())).await;
    assert_eq!(st, StatusCode::OK);
    let missed = read_sse(&mut resumed, 2).await;
    let names: Vec<&str> = missed.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(names, ["fault.create", "fault.delete"], "{missed:?}");
    assert_eq!(missed.iter().map(|m| m.0).collect::<Vec<_>>(), [seen + 1, seen + 2]);
    let (st, _) = a.call("POST", "/api/v1/killswitch", "").await;
    assert!(st.is_success(), "{st}");
    let next = read_sse(&mut resumed, 1).await;
    assert_eq!(next.len(), 1, "live events follow the replay");
    assert_eq!((next[0].0, next[0].1.as_str()), (seen + 3, "fault.killswitch"));

    // `?after=` does the same for clients that cannot set headers.
    let (_, mut after) = a.stream(&format!("/api/v1/events/stream?after={}", seen + 1), None).await;
    let replay = read_sse(&mut after, 2).await;
    assert_eq!(replay.iter().map(|m| m.0).collect::<Vec<_>>(), [seen + 2, seen + 3], "{replay:?}");
}

#[tokio::test]
async fn bad_query_strings_headers_and_methods_get_json_errors() {
    let a = api();
    for (uri, field, text) in [
        ("/api/v1/events?after=soon", "query.after", "invalid digit"),
        ("/api/v1/events?since=3", "query.since", "unknown field `since`"),
        ("/api/v1/events/stream?after=-1", "query.after", "invalid digit"),
        ("/api/v1/faults?scenario=x&all=1", "query.all", "unknown field `all`"),
    ] {
        let method = if uri.starts_with("/api/v1/faults") { "DELETE" } else { "GET" };
        let (st, v) = a.call(method, uri, "").await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["error"]["field"], field, "{uri}: {v}");
        assert!(v["error"]["message"].as_str().unwrap_or_default().contains(text), "{uri}: {v}");
    }
    let (st, body) = a.stream("/api/v1/events/stream", Some("yesterday")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["error"]["field"], "Last-Event-ID", "{v}");
    for (method, uri) in [("DELETE", "/api/v1/status"), ("POST", "/api/v1/links/la"), ("PUT", "/metrics")] {
        let (st, v) = a.call(method, uri, "").await;
        assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}: {v}");
        assert_eq!(v["error"]["code"], "method_not_allowed", "{method} {uri}: {v}");
    }
    assert!(a.state.ctl.view().faults.is_empty(), "nothing was created");
    let (_, ev) = a.call("GET", "/api/v1/events", "").await;
    assert!(ev.as_array().unwrap().is_empty(), "bad requests leave no event: {ev}");
}

#[tokio::test]
async fn no_request_shape_gets_a_server_error_or_a_non_json_error() {
    let a = api();
    let (_, doc) = a.call("GET", "/api/v1/openapi.json", "").await;
    let paths: Vec<String> = doc["paths"].as_object().expect("openapi paths").keys().cloned().collect();
    assert!(paths.len() >= 15, "{paths:?}");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let bodies = [
        "",
        "null",
        "[]",
        "{}",
        "\"x\"",
        "17",
        r#"{"a_to_b": 5}"#,
        r#"{"kind": null, "target": {"x": 1}}"#,
        "{{{",
        "name: t\nnodes: [",
        "\u{0}\u{1}\u{ff}garbage",
        deep.as_str(),
    ];
    let mut tried = 0;
    for path in &paths {
        for fill in ["la", "ghost", "%00", "1", "18446744073709551616", "x%2Fy"] {
            let uri = path.replace("{name}", fill).replace("{id}", fill);
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                for body in bodies {
                    if method == "GET" && !body.is_empty() {
                        continue;
                    }
                    if uri.ends_with("/events/stream") && method == "GET" {
                        continue; // never ends; covered by its own test
                    }
                    let (st, v) = a.call(method, &uri, body).await;
                    tried += 1;
                    assert!(!st.is_server_error(), "{method} {uri} {body:.40}: {st} {v}");
                    if st.is_client_error() {
                        assert!(v["error"]["code"].is_string(), "{method} {uri} {body:.40}: {st} {v}");
                        assert!(v["error"]["message"].is_string(), "{method} {uri} {body:.40}: {st} {v}");
                    }
                }
            }
        }
    }
    assert!(tried > 1000, "{tried} requests");
    // The engine still answers.
    let (st, _) = a.call("GET", "/api/v1/links", "").await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn an_empty_topology_is_refused_and_nothing_changes() {
    let a = api();
    for body in ["", "   \n\t\n", "# nothing\n---\n", "\n...\n"] {
        for ct in ["application/yaml", "application/json"] {
            let req = Request::builder()
                .method("PUT")
                .uri("/api/v1/topology")
                .header("content-type", ct)
                .header("authorization", BEARER)
                .body(Body::from(body.to_string()))
                .unwrap();
            let resp = a.app.clone().oneshot(req).await.unwrap();
            let st = resp.status();
            let v: serde_json::Value =
                serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}: {v}");
            assert_eq!(v["error"]["field"], "body", "{v}");
            assert!(v["error"]["message"].as_str().unwrap().contains("empty"), "{v}");
        }
    }
    let (_, st) = a.call("GET", "/api/v1/status", "").await;
    assert_eq!((st["nodes"].as_u64(), st["links"].as_u64()), (Some(3), Some(3)), "still running: {st}");
    let (_, ev) = a.call("GET", "/api/v1/events", "").await;
    assert!(ev.as_array().unwrap().is_empty(), "{ev}");
}

/// A backend whose reloads fail the way a real one can (after validation,
/// while building devices).
struct FailingReload(MemoryBackend);

impl faultmesh_api::Backend for FailingReload {
    fn call(&self, cmd: EngineCommand, timeout: Duration) -> faultmesh_api::backend::CommandFuture {
        self.0.call(cmd, timeout)
    }
    fn reload(
        &self,
        _: &topology::Topology,
        _: ReloadPlan,
    ) -> Result<faultmesh_emulator::engine::ReloadReport, faultmesh_api::BackendError> {
        Err(faultmesh_api::BackendError::Failed("creating TUN device `x0`: Device or resource busy".into()))
    }
    fn counters(&self) -> Arc<faultmesh_emulator::io::dataplane::DataPlaneSnapshot> {
        self.0.counters()
    }
    fn now(&self) -> faultmesh_emulator::time::Instant {
        self.0.now()
    }
    fn places(&self) -> Vec<faultmesh_emulator::io::setup::NodePlace> {
        self.0.places()
    }
}

#[tokio::test]
async fn a_reload_that_fails_in_the_backend_is_a_json_error_that_says_what_failed() {
    let t = topology::parse_str(TOPO, "t", None).unwrap();
    let state = AppState::new(Arc::new(FailingReload(MemoryBackend::new(&t))), t.clone(), None, Some(TOKEN.into()));
    let (app, _) = router(Arc::clone(&state));
    let a = Api { app, state, backend: Arc::new(MemoryBackend::new(&t)) };
    let (st, v) = a.call("PUT", "/api/v1/topology", &TOPO.replace("10ms", "20ms")).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert_eq!(v["error"]["code"], "reload_failed", "{v}");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("creating TUN device `x0`"), "says what failed: {v}");
    assert!(v["error"]["hint"].as_str().unwrap().contains("nothing was changed"), "{v}");
    let (_, ev) = a.call("GET", "/api/v1/events", "").await;
    assert!(ev.as_array().unwrap().is_empty(), "a failed reload is not recorded as a reload: {ev}");
}

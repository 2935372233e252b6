//! Handlers of `/api/v1` and `/metrics`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use faultmesh_emulator::engine::{DirSnapshot, ReloadReport};
use faultmesh_emulator::impair::{ChanceSpec, DelaySpec, Impairments, ImpairmentsDoc, LossSpec, RateSpec, ReorderSpec};
use faultmesh_emulator::topology::{self, NodeKind, Topology};
use serde::{Deserialize, Deserializer, Serialize};
use tokio_stream::StreamExt;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::controller::{Controller, Reloaded, ScriptTarget, detached};
use crate::error::{ApiError, ErrorBody, parse_json, parse_query};
use crate::events::{Event, unix_ms};
use crate::faults::{Fault, FaultRequest, FaultView};
use crate::schema;
use faultmesh_emulator::io::dataplane::DataPlaneSnapshot;

type S = Arc<AppState>;
type ApiResult<T> = Result<T, ApiError>;

/// Limit of ordinary request bodies.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Limit of a topology upload.
pub const TOPOLOGY_LIMIT: usize = faultmesh_emulator::topology::MAX_TOPOLOGY_BYTES;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "faultmesh",
        description = "Control a running faultmesh appliance: topology, link impairments, faults, counters, events. \
Every request needs `Authorization: Bearer <token>` except `GET /api/v1/openapi.json`; \
`faultmesh run` writes the token to `/run/faultmesh/api-<port>.token` (root only)."
    ),
    components(schemas(ErrorBody)),
    security(("bearer" = []))
)]
struct ApiDoc;

/// Completes the generated document: the bearer scheme, and the answers
/// every operation can give whatever its handler does (the auth layer's 401,
/// the body and query extractors' 400 and 413, a 503 when the data plane
/// does not answer), so that a client — or schemathesis — finds every status
/// it can get documented.
struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::link::LinkBuilder;
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "the token `faultmesh run` wrote to /run/faultmesh/api-<port>.token, or its --token",
                    ))
                    .build(),
            ),
        );
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build()
        };
        // A created fault's id leads to the operations on it (clients and
        // schemathesis' stateful phase follow these links).
        if let Some(RefOr::T(created)) = doc
            .paths
            .paths
            .get_mut("/api/v1/faults")
            .and_then(|i| i.post.as_mut())
            .and_then(|op| op.responses.responses.get_mut("201"))
        {
            for (name, op) in [("GetFault", "get_fault"), ("DeleteFault", "delete_fault")] {
                let link = LinkBuilder::new().operation_id(op).parameter("id", "$response.body#/id").build();
                created.links.insert(name.to_string(), RefOr::T(link));
            }
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = path == "/api/v1/openapi.json";
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                let r = &mut op.responses.responses;
                let mut add = |code: &str, what: &str| {
                    r.entry(code.to_string()).or_insert_with(|| error(what).into());
                };
                if !public {
                    add("401", "missing or wrong bearer token");
                }
                add("400", "malformed request: body, query string or header");
                if op.request_body.is_some() {
                    add("413", "request body too large");
                }
                add("503", "the data plane is not running (nothing was changed)");
                add("504", "the data plane did not take the change in time (nothing was changed)");
            }
            // A change the data plane took but failed to apply answers a JSON
            // 500 that names the step; nothing was changed.
            for op in [&mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten() {
                op.responses
                    .responses
                    .entry("500".to_string())
                    .or_insert_with(|| error("the appliance failed to apply it (nothing was changed)").into());
            }
        }
    }
}

/// Who made a request: the `X-Faultmesh-Actor` header or the client address.
struct Actor(String);

impl<St: Send + Sync> FromRequestParts<St> for Actor {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get("x-faultmesh-actor")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() < 128);
        let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.to_string());
        Ok(Actor(match (header, addr) {
            (Some(h), Some(a)) => format!("{h} ({a})"),
            (Some(h), None) => h.to_string(),
            (None, Some(a)) => format!("api:{a}"),
            (None, None) => "api".to_string(),
        }))
    }
}

/// Query parameters; a bad one is a JSON 400 naming it (axum's own
/// extractor answers in plain text).
struct Query<T>(T);

impl<St: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<St> for Query<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// A request body read with a size limit; oversize is a JSON 413.
struct Body<const N: usize>(Bytes);

impl<St: Send + Sync, const N: usize> FromRequest<St> for Body<N> {
    type Rejection = ApiError;
    async fn from_request(req: Request, _: &St) -> Result<Self, Self::Rejection> {
        if let Some(len) = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
        {
            if len > N {
                return Err(ApiError::too_large(N));
            }
        }
        axum::body::to_bytes(req.into_body(), N).await.map(Body).map_err(|_| ApiError::too_large(N))
    }
}

/// The one path anybody may read: the contract says how to authenticate.
const PUBLIC_PATH: &str = "/api/v1/openapi.json";

/// Every request but `GET /api/v1/openapi.json` needs the bearer token —
/// reads too: counters and the event log say what the operator is testing,
/// and a uniform rule leaves nothing to get wrong per route. Runs before
/// routing, so an unauthenticated client cannot even learn which paths exist.
async fn auth(State(s): State<S>, req: Request, next: Next) -> Response {
    let Some(token) = &s.token else { return next.run(req).await };
    if req.uri().path() == PUBLIC_PATH && matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD) {
        return next.run(req).await;
    }
    let given = req.headers().get(header::AUTHORIZATION).map(|v| {
        v.to_str().ok().and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))).map(str::trim)
    });
    let challenge = match given {
        Some(Some(t)) if crate::auth::constant_time_eq(t.as_bytes(), token.as_bytes()) => {
            return next.run(req).await;
        }
        None => "Bearer realm=\"faultmesh\"",
        Some(_) => "Bearer realm=\"faultmesh\", error=\"invalid_token\"",
    };
    let mut resp = ApiError::unauthorized().into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static(challenge));
    resp
}

async fn not_found() -> ApiError {
    ApiError::not_found("route", "this path").with_hint("see /api/v1/openapi.json")
}

async fn method_not_allowed(req: Request) -> ApiError {
    let mut e = ApiError::bad_request(format!("{} is not allowed on {}", req.method(), req.uri().path()))
        .with_hint("see /api/v1/openapi.json for the methods of each path");
    e.status = StatusCode::METHOD_NOT_ALLOWED;
    e.detail.code = "method_not_allowed";
    e
}

/// Every documented route; paths in the document carry their real prefix.
fn documented() -> OpenApiRouter<S> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(status))
        .routes(routes!(get_topology, put_topology))
        .routes(routes!(reload_topology))
        .routes(routes!(list_links))
        .routes(routes!(get_link, patch_link))
        .routes(routes!(list_faults, create_fault, delete_faults))
        .routes(routes!(get_fault, delete_fault))
        .routes(routes!(killswitch))
        .routes(routes!(list_nodes))
        .routes(routes!(get_node))
        .routes(routes!(counters))
        .routes(routes!(list_events))
        .routes(routes!(event_stream))
        .routes(routes!(scripts))
        .routes(routes!(put_link_script, delete_link_script))
        .routes(routes!(put_segment_script, delete_segment_script));
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1).routes(routes!(metrics))
}

/// The OpenAPI document (built once; it depends on nothing at run time).
pub(crate) fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = documented().split_for_parts().1;
        // After the routes are in: the derive's modifiers run before.
        utoipa::Modify::modify(&Contract, &mut doc);
        doc
    })
}

pub(crate) fn build(state: S) -> (Router, utoipa::openapi::OpenApi) {
    let (mut app, _) = documented().split_for_parts();
    if state.debug_commands {
        // Undocumented on purpose: only with FAULTMESH_DEBUG_COMMANDS=1.
        app = app.route("/api/v1/debug/stall", axum::routing::post(debug_stall));
    }
    let doc = openapi().clone();
    let app = app
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), auth))
        .with_state(state);
    (app, doc)
}

/// Appliance status.
#[derive(Serialize, ToSchema)]
struct StatusView {
    /// Topology name.
    topology: String,
    /// Number of nodes, segments, links.
    nodes: usize,
    /// Segments.
    segments: usize,
    /// Links.
    links: usize,
    /// Faults defined.
    faults: usize,
    /// Start time (ms since epoch).
    started_ms: u64,
    /// Data-plane punctuality (as last published by the data plane).
    dataplane: Option<DataplaneView>,
}

/// How punctually the data plane releases packets.
#[derive(Serialize, ToSchema)]
struct DataplaneView {
    /// Release deadlines served.
    deadlines: u64,
    /// Times the loop woke up.
    wakeups: u64,
    /// Median release lateness (µs).
    lateness_p50_us: f64,
    /// 99th-percentile release lateness (µs).
    lateness_p99_us: f64,
    /// Worst release lateness (µs).
    lateness_max_us: f64,
}

/// This document. The only request that needs no token.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object)))]
async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(openapi())
}

/// Status of the appliance.
#[utoipa::path(get, path = "/status", tag = "status", responses((status = 200, body = StatusView)))]
async fn status(State(s): State<S>) -> Json<StatusView> {
    let v = s.ctl.view();
    let t = &v.topology;
    let x = s.ctl.counters();
    Json(StatusView {
        topology: t.name.clone(),
        nodes: t.nodes.len(),
        segments: t.segments.len(),
        links: t.links.len(),
        faults: v.faults.len(),
        started_ms: s.started_ms,
        dataplane: Some(DataplaneView {
            deadlines: x.loop_stats.deadlines,
            wakeups: x.loop_stats.wakeups,
            lateness_p50_us: x.loop_stats.lateness_quantile_ns(0.5) as f64 / 1e3,
            lateness_p99_us: x.loop_stats.lateness_quantile_ns(0.99) as f64 / 1e3,
            lateness_max_us: x.loop_stats.lateness_max_ns as f64 / 1e3,
        }),
    })
}

/// The running topology, in the same shape as the file (JSON).
#[utoipa::path(get, path = "/topology", tag = "topology", responses((status = 200, description = "the topology", body = schema::TopologyDoc)))]
async fn get_topology(State(s): State<S>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(&*s.ctl.view().topology).unwrap_or_default())
}

/// What a reload did.
#[derive(Serialize, ToSchema)]
struct ReloadView {
    /// Report.
    #[schema(value_type = schema::ReloadReport)]
    report: ReloadReport,
    /// Faults removed because their target is gone.
    faults_removed: Vec<u64>,
    /// Script problems.
    script_errors: Vec<String>,
}

async fn apply_topology(s: S, actor: String, topo: Topology) -> ApiResult<Json<ReloadView>> {
    let ctl = Arc::clone(&s.ctl);
    let name = topo.name.clone();
    let Reloaded { report, faults_removed, script_errors } = detached(async move { ctl.reload(topo).await }).await?;
    s.reset_script_reports();
    for f in &faults_removed {
        s.events.record(
            "system",
            "fault.delete",
            serde_json::json!({"id": f.id, "reason": "target removed by reload"}),
        );
    }
    s.events.record(
        &actor,
        "topology.reload",
        serde_json::json!({"topology": name, "report": report, "script_errors": script_errors}),
    );
    Ok(Json(ReloadView { report, faults_removed: faults_removed.iter().map(|f| f.id).collect(), script_errors }))
}

fn parse_topology(s: &S, text: &str) -> ApiResult<Topology> {
    let name = s.ctl.view().topology.name.clone();
    topology::parse_str_with(text, &name, &s.script_dirs()).map_err(|d| {
        let first = d.0.first().map(|x| x.headline("topology")).unwrap_or_default();
        ApiError::invalid("body", format!("the topology does not validate: {first}"))
            .with_details(serde_json::to_value(&d).unwrap_or_default())
            .with_hint("the same errors as `faultmesh validate`; the running topology is unchanged")
    })
}

/// Replaces the running topology (YAML or JSON body). Unchanged links keep
/// their queues and counters; a file that does not validate is rejected
/// with 422 and the running topology stays as it is.
#[utoipa::path(put, path = "/topology", tag = "topology", request_body(content = String, description = "topology in YAML or JSON", content_type = "application/yaml"),
    responses((status = 200, body = ReloadView), (status = 422, description = "does not validate (empty, or errors at line:column in `details`)", body = ErrorBody),
        (status = 409, description = "valid, but needs a restart (a node changed its device or namespace, or a namespace exists)", body = ErrorBody),
        (status = 500, description = "building it failed; everything built for it was removed", body = ErrorBody)))]
async fn put_topology(State(s): State<S>, actor: Actor, body: Body<TOPOLOGY_LIMIT>) -> ApiResult<Json<ReloadView>> {
    let text = std::str::from_utf8(&body.0).map_err(|_| ApiError::bad_request("the topology is not UTF-8 text"))?;
    let topo = parse_topology(&s, text)?;
    apply_topology(s, actor.0, topo).await
}

/// Reloads the topology from the file the appliance was started with.
#[utoipa::path(post, path = "/topology/reload", tag = "topology", responses((status = 200, body = ReloadView), (status = 422, body = ErrorBody),
    (status = 409, description = "not started from a file, the file is unreadable, or it needs a restart", body = ErrorBody),
    (status = 500, description = "building it failed; everything built for it was removed", body = ErrorBody)))]
async fn reload_topology(State(s): State<S>, actor: Actor) -> ApiResult<Json<ReloadView>> {
    let path = s
        .source
        .lock()
        .ok()
        .and_then(|p| p.clone())
        .ok_or_else(|| ApiError::conflict("the appliance was not started from a file"))?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ApiError::conflict(format!("cannot read {}: {e}", path.display())))?;
    let topo = parse_topology(&s, &text)?;
    apply_topology(s, actor.0, topo).await
}

/// One direction of a link.
#[derive(Serialize, ToSchema)]
struct DirView {
    /// Configured impairments (map form).
    #[schema(value_type = schema::ImpairmentsView)]
    configured: ImpairmentsDoc,
    /// Counters, queue depths, impairments in force (with fault rate limits),
    /// fault ids; null when the data plane did not answer.
    #[schema(value_type = Option<schema::DirLive>)]
    live: Option<DirSnapshot>,
}

/// A link.
#[derive(Serialize, ToSchema)]
struct LinkView {
    /// Name.
    name: String,
    /// End a.
    a: String,
    /// End b.
    b: String,
    /// Labels.
    labels: std::collections::BTreeMap<String, String>,
    /// a → b.
    a_to_b: DirView,
    /// b → a.
    b_to_a: DirView,
}

fn link_view(t: &Topology, i: usize, snap: &DataPlaneSnapshot) -> LinkView {
    let l = &t.links[i];
    let live = snap.engine.links.iter().find(|x| x.name == l.name);
    LinkView {
        name: l.name.clone(),
        a: t.endpoint_name(l.a).to_string(),
        b: t.endpoint_name(l.b).to_string(),
        labels: l.labels.clone(),
        a_to_b: DirView { configured: ImpairmentsDoc::from(&l.a_to_b), live: live.map(|x| x.a_to_b.clone()) },
        b_to_a: DirView { configured: ImpairmentsDoc::from(&l.b_to_a), live: live.map(|x| x.b_to_a.clone()) },
    }
}

/// Every link with its live counters.
#[utoipa::path(get, path = "/links", tag = "links", responses((status = 200, body = Vec<LinkView>)))]
async fn list_links(State(s): State<S>) -> Json<Vec<LinkView>> {
    let t = Arc::clone(&s.ctl.view().topology);
    let snap = s.ctl.counters();
    Json((0..t.links.len()).map(|i| link_view(&t, i, &snap)).collect())
}

/// One link.
#[utoipa::path(get, path = "/links/{name}", tag = "links", params(("name" = String, Path, description = "link name")),
    responses((status = 200, body = LinkView), (status = 404, body = ErrorBody)))]
async fn get_link(State(s): State<S>, Path(name): Path<String>) -> ApiResult<Json<LinkView>> {
    let t = Arc::clone(&s.ctl.view().topology);
    let i = t.link_index(&name).ok_or_else(|| ApiError::not_found("link", &name))?;
    Ok(Json(link_view(&t, i, &s.ctl.counters())))
}

fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A partial change to one direction: a field set to a value changes it,
/// set to `null` clears it, absent leaves it.
#[derive(Deserialize, Serialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct DirPatch {
    /// Delay, e.g. `"20ms 2ms"` or `{"time": "20ms"}`; null clears.
    #[serde(default, deserialize_with = "double", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::DelayInput>)]
    delay: Option<Option<DelaySpec>>,
    /// Loss, e.g. `"1%"`, `"gemodel 1% 10%"`.
    #[serde(default, deserialize_with = "double", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::LossInput>)]
    loss: Option<Option<LossSpec>>,
    /// Corruption, e.g. `"0.1%"`.
    #[serde(default, deserialize_with = "double", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::ChanceInput>)]
    corrupt: Option<Option<ChanceSpec>>,
    /// Duplication, e.g. `"1%"`.
    #[serde(default, deserialize_with = "double", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::ChanceInput>)]
    duplicate: Option<Option<ChanceSpec>>,
    /// Reordering, e.g. `"25% 50% gap 5"` (needs a delay).
    #[serde(default, deserialize_with = "double", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::ReorderInput>)]
    reorder: Option<Option<ReorderSpec>>,
    /// Rate limit, e.g. `"100mbit"`.
    #[serde(default, deserialize_with = "double", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<schema::RateInput>)]
    rate: Option<Option<RateSpec>>,
    /// MTU.
    #[serde(default, deserialize_with = "double", skip_serializing_if = "Option::is_none")]
    mtu: Option<Option<u32>>,
}

impl DirPatch {
    fn apply(&self, imp: &mut Impairments) {
        if let Some(v) = self.delay {
            imp.delay = v;
        }
        if let Some(v) = self.loss {
            imp.loss = v;
        }
        if let Some(v) = self.corrupt {
            imp.corrupt = v;
        }
        if let Some(v) = self.duplicate {
            imp.duplicate = v;
        }
        if let Some(v) = self.reorder {
            imp.reorder = v;
        }
        if let Some(v) = self.rate {
            imp.rate = v;
        }
        if let Some(v) = self.mtu {
            imp.mtu = v;
        }
    }
}

/// Changes to a link's impairments.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"both": {"delay": "20ms 2ms"}, "a_to_b": {"loss": "1%", "rate": {"rate": "100mbit", "queue": 200}}, "b_to_a": {"corrupt": null}}))]
struct LinkPatch {
    /// Applied to both directions first.
    #[serde(default)]
    both: Option<DirPatch>,
    /// Then to a → b.
    #[serde(default)]
    a_to_b: Option<DirPatch>,
    /// Then to b → a.
    #[serde(default)]
    b_to_a: Option<DirPatch>,
}

fn check_dir(field: &str, imp: &Impairments) -> ApiResult<()> {
    if imp.reorder.is_some() && imp.delay.is_none_or(|d| d.delay.is_zero() && d.jitter.is_zero()) {
        return Err(ApiError::invalid(format!("{field}.reorder"), "reorder has no effect without a delay")
            .with_hint("reordered packets skip the delay; set e.g. \"delay\": \"10ms\" too"));
    }
    if let Some(m) = imp.mtu {
        if !(68..=65535).contains(&m) {
            return Err(ApiError::invalid(format!("{field}.mtu"), format!("MTU {m} is out of range"))
                .with_hint("use 68 to 65535"));
        }
    }
    Ok(())
}

/// Changes a link's impairments in place (queues and counters kept).
#[utoipa::path(patch, path = "/links/{name}", tag = "links", params(("name" = String, Path, description = "link name")), request_body = LinkPatch,
    responses((status = 200, body = LinkView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 400, body = ErrorBody)))]
async fn patch_link(
    State(s): State<S>,
    actor: Actor,
    Path(name): Path<String>,
    body: Body<BODY_LIMIT>,
) -> ApiResult<Json<LinkView>> {
    let patch: LinkPatch = parse_json(&body.0)?;
    let patch = Arc::new(patch);
    let (ctl, p) = (Arc::clone(&s.ctl), Arc::clone(&patch));
    let (i, view) = detached(async move {
        ctl.patch_link(&name, |ab, ba| {
            if let Some(b) = &p.both {
                b.apply(ab);
                b.apply(ba);
            }
            if let Some(x) = &p.a_to_b {
                x.apply(ab);
            }
            if let Some(x) = &p.b_to_a {
                x.apply(ba);
            }
            check_dir("a_to_b", ab)?;
            check_dir("b_to_a", ba)
        })
        .await
    })
    .await?;
    let l = &view.topology.links[i];
    s.events.record(
        &actor.0,
        "link.patch",
        serde_json::json!({"link": l.name, "patch": *patch, "a_to_b": l.a_to_b.summary(), "b_to_a": l.b_to_a.summary()}),
    );
    Ok(Json(link_view(&view.topology, i, &s.ctl.counters())))
}

fn now_pair(s: &S) -> (faultmesh_emulator::time::Instant, u64) {
    (s.ctl.now(), unix_ms())
}

/// Every fault.
#[utoipa::path(get, path = "/faults", tag = "faults", responses((status = 200, body = Vec<FaultView>)))]
async fn list_faults(State(s): State<S>) -> Json<Vec<FaultView>> {
    let v = s.ctl.view();
    let now = s.ctl.now();
    Json(v.faults.all().map(|x| x.view(&v.topology, now)).collect())
}

/// Creates a fault (an overlay: it never changes the topology).
#[utoipa::path(post, path = "/faults", tag = "faults", request_body = FaultRequest,
    responses((status = 201, body = FaultView), (status = 422, body = ErrorBody), (status = 400, body = ErrorBody)))]
async fn create_fault(
    State(s): State<S>,
    actor: Actor,
    body: Body<BODY_LIMIT>,
) -> ApiResult<(StatusCode, Json<FaultView>)> {
    let req: FaultRequest = parse_json(&body.0)?;
    let (now, now_ms) = now_pair(&s);
    let ctl = Arc::clone(&s.ctl);
    // Validated against the topology under the controller's write lock: a
    // reload cannot slip in between.
    let (view, _) = detached(async move {
        ctl.edit_faults(|reg, t| {
            let fault = Fault::validate(req, t, now, now_ms)?;
            let id = reg.insert(fault);
            reg.get(id).map(|f| f.view(t, now)).ok_or_else(|| ApiError::internal("fault_vanished", "fault vanished"))
        })
        .await
    })
    .await?;
    s.events.record(&actor.0, "fault.create", serde_json::to_value(&view).unwrap_or_default());
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    /// Only faults with this scenario label.
    scenario: Option<String>,
}

/// What was deleted.
#[derive(Serialize, ToSchema)]
struct Deleted {
    /// Ids removed.
    deleted: Vec<u64>,
}

/// Deletes every fault, or those of one scenario (`?scenario=`).
#[utoipa::path(delete, path = "/faults", tag = "faults", params(DeleteQuery), responses((status = 200, body = Deleted)))]
async fn delete_faults(State(s): State<S>, actor: Actor, Query(q): Query<DeleteQuery>) -> ApiResult<Json<Deleted>> {
    let (ctl, scenario) = (Arc::clone(&s.ctl), q.scenario.clone());
    let (removed, _) = detached(async move {
        ctl.edit_faults(|reg, _| {
            Ok(match &scenario {
                Some(sc) => reg.remove_scenario(sc),
                None => reg.clear(),
            })
        })
        .await
    })
    .await?;
    let ids: Vec<u64> = removed.iter().map(|f| f.id).collect();
    let action = if q.scenario.is_some() { "fault.delete" } else { "fault.killswitch" };
    s.events.record(&actor.0, action, serde_json::json!({"deleted": ids, "scenario": q.scenario}));
    Ok(Json(Deleted { deleted: ids }))
}

/// The kill switch: removes every fault and restores every link at once.
#[utoipa::path(post, path = "/killswitch", tag = "faults", responses((status = 200, body = Deleted)))]
async fn killswitch(State(s): State<S>, actor: Actor) -> ApiResult<Json<Deleted>> {
    let ctl = Arc::clone(&s.ctl);
    let removed = detached(async move { ctl.killswitch().await }).await?;
    let ids: Vec<u64> = removed.iter().map(|f| f.id).collect();
    s.events.record(&actor.0, "fault.killswitch", serde_json::json!({"deleted": ids}));
    Ok(Json(Deleted { deleted: ids }))
}

/// A path id that is not a number is a malformed request (400), like a
/// query parameter of the wrong type; the contract says `id` is an integer.
fn parse_id(id: &str) -> ApiResult<u64> {
    id.parse().map_err(|_| {
        let mut e = ApiError::invalid("id", format!("`{id}` is not a fault id"))
            .with_hint("ids are numbers, see GET /api/v1/faults");
        e.status = StatusCode::BAD_REQUEST;
        e.detail.code = "bad_field";
        e
    })
}

/// One fault.
#[utoipa::path(get, path = "/faults/{id}", tag = "faults", params(("id" = u64, Path, description = "fault id")),
    responses((status = 200, body = FaultView), (status = 404, body = ErrorBody)))]
async fn get_fault(State(s): State<S>, Path(id): Path<String>) -> ApiResult<Json<FaultView>> {
    let id = parse_id(&id)?;
    let v = s.ctl.view();
    let now = s.ctl.now();
    v.faults
        .get(id)
        .map(|f| Json(f.view(&v.topology, now)))
        .ok_or_else(|| ApiError::not_found("fault", &id.to_string()))
}

/// Deletes one fault.
#[utoipa::path(delete, path = "/faults/{id}", tag = "faults", params(("id" = u64, Path, description = "fault id")),
    responses((status = 200, body = FaultView), (status = 404, body = ErrorBody)))]
async fn delete_fault(State(s): State<S>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<FaultView>> {
    let id = parse_id(&id)?;
    let now = s.ctl.now();
    let ctl = Arc::clone(&s.ctl);
    let (f, view) = detached(async move {
        ctl.edit_faults(|reg, _| reg.remove(id).ok_or_else(|| ApiError::not_found("fault", &id.to_string()))).await
    })
    .await?;
    s.events.record(&actor.0, "fault.delete", serde_json::json!({"id": id}));
    Ok(Json(f.view(&view.topology, now)))
}

/// A node.
#[derive(Serialize, ToSchema)]
struct NodeView {
    /// Name.
    name: String,
    /// host, attach, tun, tap or container.
    kind: String,
    /// Addresses.
    addresses: Vec<String>,
    /// Its namespace (if any).
    netns: Option<String>,
    /// Its interface.
    interface: Option<String>,
    /// Container nodes: what faultmesh last saw of the container (`state`:
    /// `wired`, `stopped`, `gone` or `error`; `pid`; `rewired`: how often it
    /// was re-wired after a restart; `message`). Absent for other kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    container: Option<serde_json::Value>,
    /// Its link.
    link: String,
    /// Traffic in (sent into the appliance) and out (delivered to it); null
    /// when the data plane did not answer.
    #[schema(value_type = Option<schema::NodeTraffic>)]
    traffic: serde_json::Value,
    /// Faults that affect it (on its link, or partitions including it).
    faults: Vec<u64>,
    /// Labels.
    labels: std::collections::BTreeMap<String, String>,
}

fn node_view(v: &crate::View, i: usize, snap: &DataPlaneSnapshot) -> NodeView {
    let t = &v.topology;
    let n = &t.nodes[i];
    let place = v.places.get(i);
    let traffic = snap
        .engine
        .nodes
        .iter()
        .find(|y| y.name == n.name)
        .map(|y| serde_json::to_value(y.counters).unwrap_or_default())
        .unwrap_or_default();
    let link = &t.links[n.link];
    let faults = v
        .faults
        .all()
        .filter(|x| {
            x.applies_to(t)
                .iter()
                .any(|a| a.starts_with(&format!("{}:", link.name)) || a.split(',').any(|m| m == n.name))
        })
        .map(|x| x.id)
        .collect();
    NodeView {
        name: n.name.clone(),
        kind: n.kind_name().to_string(),
        addresses: n.addresses.iter().map(|a| a.to_string()).collect(),
        netns: place.and_then(|p| p.netns.clone()).or_else(|| match &n.kind {
            NodeKind::Host { netns, .. } | NodeKind::Attach { netns, .. } | NodeKind::Device { netns, .. } => {
                netns.clone()
            }
            NodeKind::Container { .. } => None,
        }),
        container: place
            .and_then(|p| p.netns.as_deref())
            .and_then(faultmesh_emulator::io::setup::container::status)
            .map(|c| serde_json::to_value(c).unwrap_or_default()),
        interface: place.map(|p| p.interface.clone()),
        link: link.name.clone(),
        traffic,
        faults,
        labels: n.labels.clone(),
    }
}

/// Every node with its traffic.
#[utoipa::path(get, path = "/nodes", tag = "nodes", responses((status = 200, body = Vec<NodeView>)))]
async fn list_nodes(State(s): State<S>) -> Json<Vec<NodeView>> {
    let v = s.ctl.view();
    let snap = s.ctl.counters();
    Json((0..v.topology.nodes.len()).map(|i| node_view(&v, i, &snap)).collect())
}

/// One node.
#[utoipa::path(get, path = "/nodes/{name}", tag = "nodes", params(("name" = String, Path, description = "node name")),
    responses((status = 200, body = NodeView), (status = 404, body = ErrorBody)))]
async fn get_node(State(s): State<S>, Path(name): Path<String>) -> ApiResult<Json<NodeView>> {
    let v = s.ctl.view();
    let i = v.topology.node_index(&name).ok_or_else(|| ApiError::not_found("node", &name))?;
    Ok(Json(node_view(&v, i, &s.ctl.counters())))
}

/// Every counter: links (per direction and stage), nodes, segments, ports, data plane.
#[utoipa::path(get, path = "/counters", tag = "counters", responses((status = 200, description = "snapshot", body = schema::Counters), (status = 503, body = ErrorBody)))]
async fn counters(State(s): State<S>) -> ApiResult<Json<serde_json::Value>> {
    let snap = s.ctl.counters();
    let mut v = serde_json::to_value(&*snap).unwrap_or_default();
    v["scripts"] = v["filters"].clone();
    Ok(Json(v))
}

/// Every counter in the Prometheus text format, labelled by `link`,
/// `direction`, `stage` and `reason`. Needs the token like everything else:
/// give Prometheus `authorization: {credentials_file: ...}`.
#[utoipa::path(get, path = "/metrics", tag = "counters",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 503, body = ErrorBody)))]
async fn metrics(State(s): State<S>) -> Response {
    let snap = s.ctl.counters();
    let mut text = crate::metrics::render(&snap, s.ctl.view().faults.len());
    text.push_str(&crate::metrics::render_scripts(&serde_json::to_value(&snap.filters).unwrap_or_default()));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    /// Only events after this sequence number.
    after: Option<u64>,
}

/// The audit log (oldest first).
#[utoipa::path(get, path = "/events", tag = "events", params(EventsQuery), responses((status = 200, body = Vec<Event>)))]
async fn list_events(State(s): State<S>, Query(q): Query<EventsQuery>) -> Json<Vec<Event>> {
    Json(s.events.since(q.after.unwrap_or(0)))
}

/// The audit log as a live server-sent-event stream. A client that
/// reconnects with `Last-Event-ID` (or asks `?after=N`) first gets the
/// events it missed that the log still holds, then live ones: no gap, no
/// repeat. A subscriber that falls behind the live channel is refilled from
/// the log the same way.
#[utoipa::path(get, path = "/events/stream", tag = "events", params(EventsQuery), responses((status = 200, description = "text/event-stream of Event", content_type = "text/event-stream")))]
async fn event_stream(
    State(s): State<S>,
    headers: axum::http::HeaderMap,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Sse<impl tokio_stream::Stream<Item = Result<SseEvent, Infallible>>>> {
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()).ok_or_else(|| {
            let mut e = ApiError::invalid("Last-Event-ID", "not an event sequence number");
            e.status = StatusCode::BAD_REQUEST;
            e.detail.code = "bad_field";
            e
        })?),
    };
    let after = resume.or(q.after);
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(256);
    // Subscribe before reading the backlog so nothing falls in between.
    let (mut live, mut last) = s.events.subscribe();
    let log = Arc::clone(&s);
    tokio::spawn(async move {
        if let Some(after) = after {
            // An id from the future (another appliance's) resumes from now.
            last = after.min(last);
            for e in log.events.since(after) {
                last = e.seq;
                if tx.send(e).await.is_err() {
                    return;
                }
            }
        }
        loop {
            let got = tokio::select! {
                _ = tx.closed() => return,
                got = live.recv() => got,
            };
            let batch = match got {
                Ok(e) if e.seq <= last => continue,
                Ok(e) => vec![e],
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => log.events.since(last),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            for e in batch {
                last = last.max(e.seq);
                if tx.send(e).await.is_err() {
                    return;
                }
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx).map(|e| {
        Ok(SseEvent::default().event(e.action.clone()).id(e.seq.to_string()).json_data(&e).unwrap_or_default())
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Scripts attached to links, with their counters (one object per link
/// direction with a script: `link`, `direction`, `script` and its counters).
#[utoipa::path(get, path = "/scripts", tag = "scripts", responses((status = 200, description = "per-script counters", body = Vec<Object>)))]
async fn scripts(State(s): State<S>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(s.ctl.script_stats().await).unwrap_or_else(|_| serde_json::json!([])))
}

/// A script to attach.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"source": "local n = 0\nfunction filter(pkt)\n  n += 1\n  if n % params.every == 0 then return DROP end\n  return PASS\nend", "params": {"every": 10}, "on_error": "pass"}))]
struct ScriptBody {
    /// A Lua file (relative to the topology file's directory), or…
    #[serde(default)]
    file: Option<String>,
    /// …the Lua source itself.
    #[serde(default)]
    source: Option<String>,
    /// `params` as the script sees them.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    params: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// `pass` (default) or `drop`: what happens to packets once the script fails.
    #[serde(default)]
    on_error: Option<String>,
    /// Links only: `a_to_b`, `b_to_a` or `both` (default).
    #[serde(default)]
    direction: Option<String>,
}

fn script_ref(s: &S, body: ScriptBody, link: bool) -> ApiResult<topology::ScriptRef> {
    let drop_on_error = match body.on_error.as_deref() {
        None | Some("pass") => false,
        Some("drop") => true,
        Some(o) => {
            return Err(ApiError::invalid("on_error", format!("unknown on_error `{o}`")).with_hint("use pass or drop"));
        }
    };
    let directions = match (link, body.direction.as_deref()) {
        (_, None) | (true, Some("both")) => [true, true],
        (true, Some("a_to_b")) => [true, false],
        (true, Some("b_to_a")) => [false, true],
        (true, Some(o)) => {
            return Err(ApiError::invalid("direction", format!("unknown direction `{o}`"))
                .with_hint("use a_to_b, b_to_a or both"));
        }
        (false, Some(_)) => {
            return Err(ApiError::invalid("direction", "a segment script filters every packet entering the segment"));
        }
    };
    let (file, path, source) = match (body.file, body.source) {
        (Some(f), None) => {
            // Only from inside the allowed scripts directories, read now:
            // a request cannot make the appliance read any other file.
            let (path, text) =
                s.script_dirs().read(&f).map_err(|e| ApiError::invalid("file", e.message).with_hint(e.hint))?;
            (f, path, Some(text))
        }
        (None, Some(src)) => ("inline.lua".to_string(), std::path::PathBuf::new(), Some(src)),
        _ => return Err(ApiError::invalid("file", "give exactly one of `file` or `source`")),
    };
    Ok(topology::ScriptRef { path, file, source, params: body.params.unwrap_or_default(), drop_on_error, directions })
}

/// What a script change did.
#[derive(Serialize, ToSchema)]
struct ScriptChange {
    /// `link:NAME` or `segment:NAME`.
    target: String,
    /// The script now attached (null: detached).
    script: Option<String>,
    /// Problems installing the scripts of the topology.
    errors: Vec<String>,
}

async fn attach(
    s: S,
    actor: String,
    target: ScriptTarget,
    what: String,
    body: Option<ScriptBody>,
) -> ApiResult<Json<ScriptChange>> {
    let hook = s
        .ctl
        .scripts()
        .cloned()
        .ok_or_else(|| ApiError::conflict("this appliance was built without script support"))?;
    let script = match body {
        Some(b) => {
            let r = script_ref(&s, b, matches!(target, ScriptTarget::Link(_)))?;
            let r2 = r.clone();
            let h = Arc::clone(&hook);
            tokio::task::spawn_blocking(move || h.check(&r2))
                .await
                .map_err(|_| ApiError::unavailable("script check failed"))?
                .map_err(|e| {
                    ApiError::invalid("source", format!("the script does not load: {e}"))
                        .with_hint("nothing was attached")
                })?;
            Some(r)
        }
        None => None,
    };
    let attached = script.is_some();
    let file = script.as_ref().map(|r| r.file.clone());
    let ctl = Arc::clone(&s.ctl);
    let errors = detached(async move { ctl.set_script(&target, script).await }).await?;
    s.reset_script_reports();
    let action = if attached { "script.attach" } else { "script.detach" };
    s.events.record(&actor, action, serde_json::json!({"target": what, "script": file, "errors": errors}));
    Ok(Json(ScriptChange { target: what, script: file, errors }))
}

/// Attaches (or replaces) a link's script, live.
#[utoipa::path(put, path = "/links/{name}/script", tag = "scripts", params(("name" = String, Path, description = "link name")), request_body = ScriptBody,
    responses((status = 200, description = "attached", body = ScriptChange), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_link_script(
    State(s): State<S>,
    actor: Actor,
    Path(name): Path<String>,
    body: Body<TOPOLOGY_LIMIT>,
) -> ApiResult<Json<ScriptChange>> {
    let b: ScriptBody = parse_json(&body.0)?;
    if s.ctl.view().topology.link_index(&name).is_none() {
        return Err(ApiError::not_found("link", &name));
    }
    attach(s, actor.0, ScriptTarget::Link(name.clone()), format!("link:{name}"), Some(b)).await
}

/// Detaches a link's script.
#[utoipa::path(delete, path = "/links/{name}/script", tag = "scripts", params(("name" = String, Path, description = "link name")),
    responses((status = 200, description = "detached", body = ScriptChange), (status = 404, body = ErrorBody)))]
async fn delete_link_script(
    State(s): State<S>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<ScriptChange>> {
    if s.ctl.view().topology.link_index(&name).is_none() {
        return Err(ApiError::not_found("link", &name));
    }
    attach(s, actor.0, ScriptTarget::Link(name.clone()), format!("link:{name}"), None).await
}

/// Attaches (or replaces) a segment's script: it filters every packet entering the segment.
#[utoipa::path(put, path = "/segments/{name}/script", tag = "scripts", params(("name" = String, Path, description = "segment name")), request_body = ScriptBody,
    responses((status = 200, description = "attached", body = ScriptChange), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn put_segment_script(
    State(s): State<S>,
    actor: Actor,
    Path(name): Path<String>,
    body: Body<TOPOLOGY_LIMIT>,
) -> ApiResult<Json<ScriptChange>> {
    let b: ScriptBody = parse_json(&body.0)?;
    if s.ctl.view().topology.segment_index(&name).is_none() {
        return Err(ApiError::not_found("segment", &name));
    }
    attach(s, actor.0, ScriptTarget::Segment(name.clone()), format!("segment:{name}"), Some(b)).await
}

/// Detaches a segment's script.
#[utoipa::path(delete, path = "/segments/{name}/script", tag = "scripts", params(("name" = String, Path, description = "segment name")),
    responses((status = 200, description = "detached", body = ScriptChange), (status = 404, body = ErrorBody)))]
async fn delete_segment_script(
    State(s): State<S>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<ScriptChange>> {
    if s.ctl.view().topology.segment_index(&name).is_none() {
        return Err(ApiError::not_found("segment", &name));
    }
    attach(s, actor.0, ScriptTarget::Segment(name.clone()), format!("segment:{name}"), None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StallQuery {
    ms: u64,
}

/// Holds the data plane for `ms` (at most 10 s): a debugging route, served
/// only with `FAULTMESH_DEBUG_COMMANDS=1`, to see what a slow command does
/// to the rest of the API (reads must not notice).
async fn debug_stall(
    State(s): State<S>,
    actor: Actor,
    Query(q): Query<StallQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let ctl: Arc<Controller> = Arc::clone(&s.ctl);
    let ms = q.ms;
    // Recorded as it starts: the event stream delivers it while the data
    // plane is held.
    s.events.record(&actor.0, "debug.stall", serde_json::json!({"ms": ms}));
    detached(async move { ctl.call(faultmesh_emulator::io::command::EngineCommand::Stall { ms }).await }).await?;
    Ok(Json(serde_json::json!({"stalled_ms": ms})))
}

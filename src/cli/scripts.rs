//! Wiring of the control plane: the API state for a running appliance, with
//! Lua scripting installed.

use std::path::PathBuf;
use std::sync::Arc;

use faultmesh_api::{AppState, ApplianceBackend};
use faultmesh_emulator::topology::Topology;
use faultmesh_scripting::LuaScripts;

/// The API state for `backend` running `topo`, with the scripts of `topo`
/// installed (built here, on the calling thread, and swapped into the data
/// plane in one command).
pub(crate) fn state(
    backend: Arc<ApplianceBackend>,
    source: Option<PathBuf>,
    token: Option<String>,
    topo: &Topology,
) -> Arc<AppState> {
    let hook = LuaScripts::default();
    for e in hook.install_now(backend.handle(), topo) {
        tracing::warn!(error = %e, "script not attached");
    }
    let mut o = faultmesh_api::Options::new(topo.clone());
    o.source = source;
    o.token = token;
    o.scripts = Some(Arc::new(hook));
    AppState::with(backend, o)
}

//! Wiring of the control plane: the API state for a running appliance, with
//! Lua scripting installed.

use std::path::PathBuf;
use std::sync::Arc;

use faultmesh_api::{AppState, ApplianceBackend, ScriptHook};
use faultmesh_emulator::topology::Topology;
use faultmesh_scripting::LuaScripts;

/// The API state for `backend`, with the scripts of `topo` installed.
pub(crate) fn state(
    backend: Arc<ApplianceBackend>,
    source: Option<PathBuf>,
    token: Option<String>,
    topo: &Topology,
) -> Arc<AppState> {
    let hook = LuaScripts::default();
    for e in hook.install(backend.as_ref(), topo) {
        tracing::warn!(error = %e, "script not attached");
    }
    AppState::with_scripts(backend, source, token, Arc::new(hook))
}

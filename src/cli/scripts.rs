//! Wiring of the control plane: the API state for a running appliance.

use std::path::PathBuf;
use std::sync::Arc;

use faultmesh_api::{AppState, ApplianceBackend};
use faultmesh_emulator::topology::Topology;

/// The API state for `backend`, with the scripts of `topo` installed.
pub(crate) fn state(
    backend: Arc<ApplianceBackend>,
    source: Option<PathBuf>,
    token: Option<String>,
    _topo: &Topology,
) -> Arc<AppState> {
    AppState::new(backend, source, token)
}

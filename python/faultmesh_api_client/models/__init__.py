"""Contains all the data models used in inputs/outputs"""

from .chance_map import ChanceMap
from .counters import Counters
from .counters_scripts_item import CountersScriptsItem
from .dataplane_view import DataplaneView
from .delay_map import DelayMap
from .deleted import Deleted
from .diagnostic import Diagnostic
from .dir_live import DirLive
from .dir_live_drops import DirLiveDrops
from .dir_patch import DirPatch
from .dir_view import DirView
from .distribution import Distribution
from .engine_counters import EngineCounters
from .error_body import ErrorBody
from .error_detail import ErrorDetail
from .event import Event
from .event_detail import EventDetail
from .fault_kind import FaultKind
from .fault_request import FaultRequest
from .fault_view import FaultView
from .filter_status import FilterStatus
from .filter_status_verdicts import FilterStatusVerdicts
from .four_state import FourState
from .ge_model import GeModel
from .impairments import Impairments
from .link_counters import LinkCounters
from .link_patch import LinkPatch
from .link_view import LinkView
from .link_view_labels import LinkViewLabels
from .loop_stats import LoopStats
from .loss_map import LossMap
from .node_counters import NodeCounters
from .node_traffic import NodeTraffic
from .node_view import NodeView
from .node_view_container_type_0 import NodeViewContainerType0
from .node_view_labels import NodeViewLabels
from .openapi_json_response_200 import OpenapiJsonResponse200
from .port_counters import PortCounters
from .rate_map import RateMap
from .reload_report import ReloadReport
from .reload_view import ReloadView
from .reorder_map import ReorderMap
from .script_body import ScriptBody
from .script_body_params_type_0 import ScriptBodyParamsType0
from .script_change import ScriptChange
from .scripts_response_200_item import ScriptsResponse200Item
from .segment_counters import SegmentCounters
from .segment_counters_drops import SegmentCountersDrops
from .status_view import StatusView
from .topology_doc import TopologyDoc
from .topology_doc_links import TopologyDocLinks
from .topology_doc_nodes import TopologyDocNodes
from .topology_doc_segments import TopologyDocSegments
from .topology_link import TopologyLink
from .topology_link_labels import TopologyLinkLabels
from .topology_link_script import TopologyLinkScript
from .topology_node import TopologyNode
from .topology_node_labels import TopologyNodeLabels
from .topology_route import TopologyRoute
from .topology_segment import TopologySegment
from .topology_segment_labels import TopologySegmentLabels
from .topology_segment_script import TopologySegmentScript

__all__ = (
    "ChanceMap",
    "Counters",
    "CountersScriptsItem",
    "DataplaneView",
    "DelayMap",
    "Deleted",
    "Diagnostic",
    "DirLive",
    "DirLiveDrops",
    "DirPatch",
    "DirView",
    "Distribution",
    "EngineCounters",
    "ErrorBody",
    "ErrorDetail",
    "Event",
    "EventDetail",
    "FaultKind",
    "FaultRequest",
    "FaultView",
    "FilterStatus",
    "FilterStatusVerdicts",
    "FourState",
    "GeModel",
    "Impairments",
    "LinkCounters",
    "LinkPatch",
    "LinkView",
    "LinkViewLabels",
    "LoopStats",
    "LossMap",
    "NodeCounters",
    "NodeTraffic",
    "NodeView",
    "NodeViewContainerType0",
    "NodeViewLabels",
    "OpenapiJsonResponse200",
    "PortCounters",
    "RateMap",
    "ReloadReport",
    "ReloadView",
    "ReorderMap",
    "ScriptBody",
    "ScriptBodyParamsType0",
    "ScriptChange",
    "ScriptsResponse200Item",
    "SegmentCounters",
    "SegmentCountersDrops",
    "StatusView",
    "TopologyDoc",
    "TopologyDocLinks",
    "TopologyDocNodes",
    "TopologyDocSegments",
    "TopologyLink",
    "TopologyLinkLabels",
    "TopologyLinkScript",
    "TopologyNode",
    "TopologyNodeLabels",
    "TopologyRoute",
    "TopologySegment",
    "TopologySegmentLabels",
    "TopologySegmentScript",
)

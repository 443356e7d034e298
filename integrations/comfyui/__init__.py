"""ComfyUI custom nodes for artlib schedules: copy or link this folder into ComfyUI's
``custom_nodes/``; the node appears under sampling → custom_sampling → schedulers."""
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]

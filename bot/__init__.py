"""imagebot: change Alibaba Cloud ECS image attributes from Slack, safely."""

__version__ = "0.1.0"

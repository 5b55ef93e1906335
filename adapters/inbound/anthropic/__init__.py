"""The ``anthropic`` frontdoor: Anthropic's Messages API, token counting and model listing."""

from adapters.inbound.anthropic import policy
from adapters.inbound.anthropic.controller import endpoints, routes
from adapters.inbound.anthropic.errors import error_response
from adapters.inbound.frontdoor import Frontdoor

FRONTDOOR = Frontdoor(
    endpoints=endpoints,
    routes=routes,
    error_response=error_response,
    credential=policy.credential,
    limit_headers=policy.limit_headers,
    sdk_base_url="{path}",
)

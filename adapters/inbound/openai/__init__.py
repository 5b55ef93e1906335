"""The ``openai`` frontdoor: OpenAI's Chat Completions API and model listing."""

from adapters.inbound.frontdoor import Frontdoor
from adapters.inbound.openai import policy
from adapters.inbound.openai.controller import endpoints, routes
from adapters.inbound.openai.errors import error_response

FRONTDOOR = Frontdoor(
    endpoints=endpoints,
    routes=routes,
    error_response=error_response,
    credential=policy.credential,
    limit_headers=policy.limit_headers,
    sdk_base_url="{path}/v1",
)

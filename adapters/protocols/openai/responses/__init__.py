"""Wire structs of OpenAI's Responses API (``POST /v1/responses``): the request, the Response
object with its output items, and the streaming events."""

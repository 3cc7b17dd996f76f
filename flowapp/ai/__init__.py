"""Talking to a language model over the OpenAI-compatible Chat Completions API.

An adapter package like flowapp.whatsapp: requests only, no Flask, no database. One client speaks to
OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp's server and LiteLLM (docs/ai.md); the service layer
(flowapp/services/ai.py) adds settings, budgets and call records around it.
"""

from flowapp.ai.client import ChatClient, ProviderConfig, Result
from flowapp.ai.errors import (
    AIError,
    AuthError,
    BadRequest,
    BadResponse,
    ConnectionFailed,
    RateLimited,
    ServerError,
    Timeout,
)
from flowapp.ai.pricing import cost_micros

__all__ = [
    "AIError",
    "AuthError",
    "BadRequest",
    "BadResponse",
    "ChatClient",
    "ConnectionFailed",
    "ProviderConfig",
    "RateLimited",
    "Result",
    "ServerError",
    "Timeout",
    "cost_micros",
]

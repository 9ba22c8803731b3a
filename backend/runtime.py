"""A Lambda function's heap after its cold start: frozen out of the garbage collector's way.

What a function builds once (imported modules, pydantic schemas, botocore's service models, the
container's clients, the Bolt app) lives as long as its execution environment. Left in the
collector's generations, every full collection walks all of it again, and such a pause lands on
whichever request happens to trigger it (the ack tail). ``gc.freeze()`` moves everything alive
into the permanent generation: once at the end of the module's import (Lambda's init phase), and
once after the first invocation, which builds the lazily created rest.

The first invocation runs with the collector paused: what it builds (the clients, the app, the
models its request validates) is about to be frozen anyway, and collecting meanwhile only walks
it again and again (tens of young-generation collections, about 25-55 ms of the Slack function's
cold first request on a 2-core machine). The price: cyclic garbage made before a freeze is frozen
with the rest and never collected (the first invocation's worth, once per execution environment).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])


def freeze_heap() -> None:
    """Everything alive now is never examined by the collector again."""
    gc.freeze()


def frozen_after_first_invocation(handler: Handler) -> Handler:
    """``handler``, its first invocation (the rest of the init) run with the collector paused and
    the heap frozen after it; later invocations run as they are."""
    first = True

    @functools.wraps(handler)
    def invoke(*args: Any, **kwargs: Any) -> Any:
        nonlocal first
        if not first:
            return handler(*args, **kwargs)
        first = False
        collecting = gc.isenabled()
        gc.disable()
        try:
            return handler(*args, **kwargs)
        finally:
            freeze_heap()
            if collecting:
                gc.enable()

    return invoke  # type: ignore[return-value]

"""A Lambda function's heap after its cold start: frozen out of the garbage collector's way.

What a function builds once (imported modules, pydantic schemas, botocore's service models, the
container's clients, the Bolt app) lives as long as its execution environment. Left in the
collector's generations, every full collection walks all of it again, and such a pause lands on
whichever request happens to trigger it (the ack tail). ``gc.freeze()`` moves everything alive
into the permanent generation: once at the end of the module's import (Lambda's init phase), and
once after the first invocation, which builds the lazily created rest. The price: cyclic garbage
that first invocation leaves is never collected (one request's worth, once per environment).
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
    """``handler``, freezing the heap once its first invocation (the rest of the init) is done."""
    first = True

    @functools.wraps(handler)
    def invoke(*args: Any, **kwargs: Any) -> Any:
        nonlocal first
        try:
            return handler(*args, **kwargs)
        finally:
            if first:
                first = False
                freeze_heap()

    return invoke  # type: ignore[return-value]

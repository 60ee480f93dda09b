"""Write hooks: the events app registers here to record the audit trail and named events of every write,
inside the write's own transaction. Kept in core so the HTTP layer and the domain services share them
without knowing the events app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, TypeVar

WriteHook = Callable[[str, Any, Any, "dict[str, Any] | None"], None]

_on_write: list[WriteHook] = []


def register(fn: WriteHook) -> WriteHook:
    _on_write.append(fn)
    return fn


def on_write(action: str, resource: Any, instance: Any, before: dict[str, Any] | None) -> None:
    """``action`` is create | update | destroy; ``before`` the row's columns before an update or destroy."""
    for fn in _on_write:
        fn(action, resource, instance, before)


def snapshot(instance: Any) -> dict[str, Any]:
    """The row's columns as they are now (attribute name -> value): the before-image of an update."""
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@contextmanager
def recording(
    resource_type: str, instance: Any, *, before: dict[str, Any] | None = None, only_if_changed: bool = False
) -> Iterator[dict[str, Any]]:
    """Record an update of ``instance`` made inside the block: takes the before-image on entry (or uses the
    given ``before``, when the row changed since it was read) and, when the block ends without an error,
    records the write (audit trail, ``<type>.update``) through ``on_write``. ``only_if_changed``: record only
    when a column changed. The one way to record history; inside the caller's transaction."""
    image = snapshot(instance) if before is None else before
    yield image
    if only_if_changed and snapshot(instance) == image:
        return
    on_write("update", resource_type, instance, image)


EventHook = Callable[[str, str, Any], None]
_on_event: list[EventHook] = []


def register_event(fn: EventHook) -> EventHook:
    _on_event.append(fn)
    return fn


def event(name: str, resource_type: str, instance: Any) -> None:
    """A named domain event happened (``orders.place``, ``order_copies.complete``): record it and fire its
    webhooks, inside the caller's transaction."""
    for fn in _on_event:
        fn(name, resource_type, instance)


Batcher = TypeVar("Batcher", bound=Callable[[], AbstractContextManager[object]])
_batchers: list[Callable[[], AbstractContextManager[object]]] = []


def register_batch(fn: Batcher) -> Batcher:
    _batchers.append(fn)
    return fn


@contextmanager
def batched() -> Iterator[None]:
    """Inside, the hooks may hold back their rows and write them together when the block ends without an
    error (one INSERT for the trail, one for the events, one webhook lookup). Only for a block that opens no
    savepoint which could roll back while the rest commits: the held rows would outlive the undone change."""
    with ExitStack() as stack:
        for fn in _batchers:
            stack.enter_context(fn())
        yield

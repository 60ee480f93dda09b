"""Row locks, taken one way everywhere (as Saleor's ``order/lock_objects.py``): ``SELECT ... FOR UPDATE`` of
the model's own rows (``of self``, so joined rows stay unlocked on PostgreSQL), several rows always in primary
key order, so two transactions locking overlapping sets wait for each other instead of deadlocking. Inside the
caller's transaction; on SQLite the write lock of the transaction does the job and these are plain reads."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def for_update(queryset: models.QuerySet[M], *, skip_locked: bool = False) -> models.QuerySet[M]:
    """``queryset`` locking its rows in primary-key order when evaluated (``skip_locked``: rows another
    transaction holds are left out instead of waited for, as a queue's claim wants)."""
    return queryset.select_for_update(of=("self",), skip_locked=skip_locked).order_by("pk")


def lock_one(queryset: models.QuerySet[M], pk: Any) -> M | None:
    """The row ``pk`` of ``queryset``, locked; None when there is none."""
    return queryset.select_for_update(of=("self",)).filter(pk=pk).first()


def lock_all(queryset: models.QuerySet[M], pks: Any = None) -> list[M]:
    """The rows of ``queryset`` (those of ``pks`` when given), locked in primary-key order."""
    if pks is not None:
        queryset = queryset.filter(pk__in=list(pks))
    return list(for_update(queryset))


def claim(queryset: models.QuerySet[M], limit: int) -> list[M]:
    """Up to ``limit`` rows of ``queryset``, in its own order, locked, leaving out the rows another transaction
    holds (``SKIP LOCKED``): a queue's claim, which never waits and so needs no primary-key order. Several
    schedulers share the work this way."""
    return list(queryset.select_for_update(of=("self",), skip_locked=True)[:limit])

"""The base of every tenant table: id, organization, mode, reference fields, metadata, timestamps."""

from __future__ import annotations

import functools
from typing import Any

from django.db import models, router
from django.db.models import F, FilteredRelation, Q
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.signals import post_init, pre_init

from orderfactory.core import clock, scope, writes
from orderfactory.core.ids import new_id


class TenantQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args: Any, **kwargs: Any):  # type: ignore[override]
        objs = list(objs)
        for obj in objs:
            obj.stamp_scope()
        if objs and not args and not kwargs and writes.plain(self.model):
            # Plain inserts of rows whose keys are set (every tenant row's is): SQL built once per table.
            self._for_write = True
            try:
                writes.insert(objs, self.db)
                return objs
            except writes.NotPlain:
                pass
        return super().bulk_create(objs, *args, **kwargs)


# The scoped queryset of each (model, organization, mode), filtered once and cloned on each use: building the
# filter again costs more than cloning it, and every query of the service starts here.
_scoped: dict[tuple[type[models.Model], str, str], models.QuerySet] = {}
_SCOPED_MAX = 8192


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """Default manager: only rows of the active scope exist."""

    def get_queryset(self) -> models.QuerySet:
        s = scope.current()
        if self._db is not None or self._hints:
            return super().get_queryset().filter(organization_id=s.organization_id, mode=s.mode)
        key = (self.model, s.organization_id, s.mode)
        template = _scoped.get(key)
        if template is None:
            template = super().get_queryset().filter(organization_id=s.organization_id, mode=s.mode)
            if len(_scoped) >= _SCOPED_MAX:
                _scoped.clear()
            _scoped[key] = template
        return template.all()  # a clone: the template itself is never evaluated


class UnscopedManager(models.Manager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    """For system code only (worker claims, sweeps, scheduler): reads across scopes."""


def tenant_index(name: str, *fields: str) -> models.Index:
    """An index of one organization's rows of one mode, in the order of ``fields`` then ``id``: every query of
    a tenant table filters by both, so an index that leads with them reads that tenant's rows only, whatever
    its neighbours hold (docs/decisions.md, "Scale"). Each tenant table has one in its lists' default order
    (``created_at``, ``id``), and more for the columns its lists commonly filter by."""
    return models.Index(fields=["organization", "mode", *fields, "id"], name=name)


class InTenant(models.Expression):
    """``F("sku__code")`` whose join to the related row carries the active scope: the join's condition holds the
    related table's organization and mode as well as its key, so a database reads that table through an index
    that leads with the tenant or by key, whatever plan it picks. A plain join names the key alone: PostgreSQL's
    generic plan of a list, knowing nothing of the organization, could walk the related table's whole primary
    key for a merge join, and SQLite could find a code in every tenant's index (docs/decisions.md, "Scale")."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.relation, _, self.column = name.partition("__")
        assert self.relation and self.column and "__" not in self.column, name

    def resolve_expression(self, query: Any = None, *args: Any, **kwargs: Any) -> Any:
        alias = f"{self.relation}_in_tenant"
        if alias not in query._filtered_relations:
            s = scope.current()
            condition = Q(
                **{f"{self.relation}__organization_id": s.organization_id, f"{self.relation}__mode": s.mode}
            )
            query.add_filtered_relation(FilteredRelation(self.relation, condition=condition), alias)
        return F(f"{alias}__{self.column}").resolve_expression(query, *args, **kwargs)


class TenantModel(models.Model):
    id = models.CharField(primary_key=True, max_length=10, default=new_id, editable=False)
    # No index of their own: each table's tenant_index() leads with them.
    organization = models.ForeignKey(
        "oauth.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    mode = models.CharField(max_length=4)
    reference = models.CharField(max_length=255, null=True, blank=True)
    reference_origin = models.CharField(max_length=255, null=True, blank=True)
    metadata = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)

    objects = TenantManager()
    unscoped = UnscopedManager()

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        """A row read whole (every column, as ``select_related`` and the copy's reads bring them) is built
        without ``Model.__init__``, which sends two signals and sets each column through ``setattr``: its
        columns go into the instance's attributes at once, as ``__init__`` would have put them. The reads of a
        group of copies built 31 rows per copy, a quarter of the group's time. Any other row (deferred
        columns, init signals listening, a column with a descriptor of its own) takes Django's way."""
        attnames = plain_attnames(cls)
        if (
            attnames is None
            or len(values) != len(attnames)
            or pre_init.has_listeners(cls)
            or post_init.has_listeners(cls)
        ):
            return super().from_db(db, field_names, values)
        new = cls.__new__(cls)
        state = new._state = ModelState()
        state.adding = False
        state.db = db
        new.__dict__.update(zip(attnames, values, strict=True))
        return new

    def stamp_scope(self) -> None:
        if not self.organization_id:
            s = scope.current()
            self.organization_id = s.organization_id
            self.mode = s.mode
        else:
            s2 = scope.current_or_none()
            if s2 is not None and (s2.organization_id, s2.mode) != (self.organization_id, self.mode):
                raise scope.ScopeMissing("refusing to write a row outside the active scope")

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.stamp_scope()
        if not self._state.adding:
            self.updated_at = clock.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = set(kwargs["update_fields"]) | {"updated_at"}
        if not args and not kwargs.get("force_update") and writes.plain(type(self)):
            # A new row, or named columns of a saved one: SQL built once per table (orderfactory.core.writes).
            using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
            fields = kwargs.get("update_fields")
            try:
                if self._state.adding and fields is None:
                    writes.insert([self], using, operation="save")
                    return
                if not self._state.adding and fields is not None and not kwargs.get("force_insert"):
                    writes.update(self, frozenset(fields), using)
                    return
            except writes.NotPlain:
                pass
        super().save(*args, **kwargs)


@functools.cache
def plain_attnames(model: type[models.Model]) -> tuple[str, ...] | None:
    """The attribute names of ``model``'s columns, in the order a row read whole holds them, when each is a
    plain attribute: no descriptor that intercepts setting it, but a foreign key's id, whose descriptor only
    forgets a related row cached under another id (a new row has none); None otherwise."""
    attnames = tuple(f.attname for f in model._meta.concrete_fields)
    for name in attnames:
        descriptor = model.__dict__.get(name) or getattr(model, name, None)
        if hasattr(descriptor, "__set__") and type(descriptor) is not ForeignKeyDeferredAttribute:
            return None
    return attnames


class IdempotencyKey(models.Model):
    """The first response to a POST sent with an ``Idempotency-Key`` header, replayed to retries for 24 hours.
    Keys are per application."""

    application_id = models.CharField(max_length=10)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.IntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, null=True, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=clock.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application_id", "key"], name="idempotency_key_uniq")]


class CacheVersion(models.Model):
    """Bumped when a write of one organization and mode commits: cached documents of that scope rendered under
    an older version are not served again (orderfactory.cache)."""

    organization_id = models.CharField(max_length=10)
    mode = models.CharField(max_length=4)
    version = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization_id", "mode"], name="cache_version_uniq")]

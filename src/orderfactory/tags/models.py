"""Tags, and the one table linking them to the rows of every taggable resource."""

from __future__ import annotations

from django.db import models

from orderfactory.core.models import TenantModel, tenant_index


class Tag(TenantModel):
    # Stored lower case (Commerce Layer's names are not case-sensitive): unique within the environment.
    name = models.CharField(max_length=25)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["organization", "mode", "name"], name="tag_name_uniq")]
        indexes = [tenant_index("tag_tenant", "created_at"), tenant_index("tag_name", "name")]


class TagLink(TenantModel):
    """A tag on one row of a taggable resource. Ids are unique across types, so ``resource_id`` alone names the
    row; ``resource_type`` says which resource it is, for the audit and for whoever reads the table by hand."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="links")
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=10)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["resource_id", "tag"], name="tag_link_uniq")]
        indexes = [tenant_index("tag_link_tenant", "created_at")]

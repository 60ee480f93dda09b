"""Operators: the people who sign in to the console. Each belongs to one organization and has one role."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models

from orderfactory.core import clock
from orderfactory.core.ids import new_id

# Each role may do what the roles before it may: viewers look; support acts on copies and subscriptions;
# admins also manage API applications and webhooks.
ROLES = ("viewer", "support", "admin")


def role_allows(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


class OperatorManager(BaseUserManager["Operator"]):
    def get_by_natural_key(self, username: str | None) -> Operator:
        return self.get(email=(username or "").strip().lower())


class Operator(AbstractBaseUser):
    id = models.CharField(primary_key=True, max_length=10, default=new_id, editable=False)
    # Stored lower-cased: one address is one operator however it is typed.
    email = models.EmailField(max_length=254, unique=True)
    organization = models.ForeignKey("oauth.Organization", on_delete=models.CASCADE, related_name="operators")
    role = models.CharField(max_length=16, choices=[(r, r) for r in ROLES])
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[Any] = OperatorManager()

    def may(self, needed: str) -> bool:
        return role_allows(self.role, needed)

    def __str__(self) -> str:
        return self.email

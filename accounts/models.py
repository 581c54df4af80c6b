from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The login. What a user may see is decided by their :class:`Membership`."""


class Account(models.Model):
    """A seller's business: inventory, marketplace connections and history belong to it."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class Membership(models.Model):
    """Ties a user to exactly one account (one-to-one), as owner or member."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "role"])]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) @ {self.account}"

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

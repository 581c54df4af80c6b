from rest_framework.permissions import BasePermission

from .models import Account, Membership


def membership_of(user) -> Membership | None:
    if not user or not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def account_of(request) -> Account:
    """The caller's account. Views behind :class:`HasAccount` can rely on it."""
    return request.user.membership.account


class HasAccount(BasePermission):
    """Authenticated and belongs to a business account (staff-only users do not)."""

    message = "This user does not belong to a business account."
    code = "no_account"

    def has_permission(self, request, view) -> bool:
        return membership_of(request.user) is not None


class IsOwner(HasAccount):
    """The caller is an owner of their account."""

    message = "Only an account owner may do this."
    code = "permission_denied"

    def has_permission(self, request, view) -> bool:
        membership = membership_of(request.user)
        return membership is not None and membership.is_owner

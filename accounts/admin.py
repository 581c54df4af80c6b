from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Account, Membership, User


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "email", "is_staff", "account_name", "role"]
    list_select_related = ["membership__account"]

    @admin.display(description="account")
    def account_name(self, obj: User) -> str:
        membership = getattr(obj, "membership", None)
        return membership.account.name if membership else "—"

    @admin.display(description="role")
    def role(self, obj: User) -> str:
        membership = getattr(obj, "membership", None)
        return membership.role if membership else "—"


class AccountMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "created_at"]
    search_fields = ["name"]
    inlines = [AccountMembershipInline]

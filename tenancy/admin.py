"""Django admin for platform staff. Agency data is read through
`scopes_disabled()`: the admin is the one place that sees every tenant."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django_scopes import scopes_disabled

from tenancy.models import Agency, AllowedOrigin, AuditLog, Invitation, Membership, User, WidgetKey


class UnscopedAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        with scopes_disabled():
            return super().get_queryset(request).all()

    def changeform_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().changeform_view(*args, **kwargs)

    def changelist_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().changelist_view(*args, **kwargs)

    def delete_view(self, *args, **kwargs):
        with scopes_disabled():
            return super().delete_view(*args, **kwargs)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_active")
    search_fields = ("email", "name")
    fieldsets = ((None, {"fields": ("email", "name", "password")}),
                 ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser")}))
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Agency)
class AgencyAdmin(UnscopedAdmin):
    list_display = ("name", "slug", "locale", "created")
    search_fields = ("name", "slug")


@admin.register(Membership)
class MembershipAdmin(UnscopedAdmin):
    list_display = ("user", "agency", "role", "created")
    list_filter = ("role",)


@admin.register(WidgetKey)
class WidgetKeyAdmin(UnscopedAdmin):
    list_display = ("key", "agency", "name", "created", "revoked_at")


@admin.register(AllowedOrigin)
class AllowedOriginAdmin(UnscopedAdmin):
    list_display = ("origin", "agency", "created")


@admin.register(Invitation)
class InvitationAdmin(UnscopedAdmin):
    list_display = ("email", "agency", "role", "created", "expires", "accepted_at")
    readonly_fields = ("token_hash",)


@admin.register(AuditLog)
class AuditLogAdmin(UnscopedAdmin):
    list_display = ("created", "agency", "action", "actor_user_id", "target", "ip")
    list_filter = ("action",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

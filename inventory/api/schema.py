"""OpenAPI naming for the inventory API's enums.

Two different choice sets are both called ``status`` (an item's and a sync state's), and the
marketplaces appear as ``provider`` and as ``queued``; drf-spectacular would name them by
guesswork and warn. A :class:`~inventory.api.serializers.NamedChoiceField` carries its enum's
component name instead. (An ``ENUM_NAME_OVERRIDES`` entry in the settings would do the same.)
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_field


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "inventory.api.serializers.NamedChoiceField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = build_choice_field(self.target)
        schema.pop("x-spec-enum-id", None)
        component = ResolvedComponent(
            name=self.target.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=self.target.enum_name,
            schema=schema,
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref

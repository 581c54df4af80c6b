from rest_framework import serializers

from takeover.models import StoreImport


class StoreImportRequestSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        default=False, help_text="true: answer the report, write nothing"
    )


class StoreImportQueuedSerializer(serializers.Serializer):
    import_id = serializers.IntegerField()


class UnmappedLotSerializer(serializers.Serializer):
    lot_id = serializers.CharField()
    reason = serializers.CharField()


class StoreImportErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    at = serializers.CharField()


class StoreImportSerializer(serializers.ModelSerializer):
    unmapped = UnmappedLotSerializer(many=True, read_only=True)
    error = StoreImportErrorSerializer(read_only=True, allow_null=True)

    class Meta:
        model = StoreImport
        fields = [
            "id",
            "provider",
            "dry_run",
            "status",
            "lots_seen",
            "lots_already_ours",
            "items_created",
            "items_linked",
            "unmapped",
            "error",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

import csv

from django.contrib import admin
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Subscriber


class _Echo:
    def write(self, value):
        return value


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "created_at", "confirmed_at", "unsubscribed_at"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at", "source"]
    actions = ["export_csv"]

    @admin.action(description=_("Exporter en CSV"))
    def export_csv(self, request, queryset):
        columns = ["email", "status", "created_at", "confirmed_at", "unsubscribed_at", "source"]
        headers = [str(Subscriber._meta.get_field(name).verbose_name) for name in columns]
        writer = csv.writer(_Echo())

        def rows():
            yield "\ufeff"  # lets spreadsheet software detect UTF-8
            yield writer.writerow(headers)
            for subscriber in queryset.order_by("pk").iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        _spreadsheet_safe(subscriber.email),
                        subscriber.get_status_display(),
                        *(
                            timezone.localtime(value).isoformat(timespec="seconds")
                            if value
                            else ""
                            for value in (
                                subscriber.created_at,
                                subscriber.confirmed_at,
                                subscriber.unsubscribed_at,
                            )
                        ),
                        _spreadsheet_safe(subscriber.source),
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        filename = f"abonnes-{timezone.localdate():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def _spreadsheet_safe(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheet software.
    return f"'{value}" if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value

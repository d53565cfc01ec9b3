"""URLs of the royalty, statement, audit-trail and chart pages (included in rights.web.urls, namespace `web`)."""

from __future__ import annotations

from django.urls import URLPattern, path

from rights.web import audit, charts, statements

urlpatterns: list[URLPattern] = [
    path("runs/", audit.runs, name="runs"),
    path("runs/<int:pk>/", audit.run, name="run"),
    path("statements/", statements.statements, name="statements"),
    path("statements/<int:pk>/", statements.statement, name="statement"),
    path("statements/<int:pk>/csv/", statements.statement_csv, name="statement-csv"),
    path("statements/<int:pk>/dsr/", statements.statement_dsr, name="statement-dsr"),
    path("audit-trail/", audit.audit_trail, name="audit-trail"),
    path("audit-trail/verify/", audit.verify_audit_trail, name="audit-verify"),
    path("charts/", charts.charts_page, name="charts"),
]

"""Reports JSON API: exposure reports (list with the report page's filters, one report with its content) and
their CSV and PDF files, rendered by the same functions as the page's downloads. Public, like the pages.

Conventions (authentication, pagination, errors) are those of ``riskgov.core.api``.
"""

from django.urls import path

from riskgov.governance.api import proposals as api
from riskgov.governance.views import delegates, notifications, onchain, pages

app_name = "governance"
urlpatterns = [
    path("", pages.proposal_list, name="proposal-list"),
    path("new/", pages.proposal_new, name="proposal-new"),
    path("<int:proposal_id>/", pages.proposal_detail, name="proposal-detail"),
    path("<int:proposal_id>/tally/", pages.proposal_tally_fragment, name="proposal-tally"),
    path("<int:proposal_id>/coverage/", pages.proposal_coverage_fragment, name="proposal-coverage"),
    path("<int:proposal_id>/cancel/", pages.proposal_cancel_view, name="proposal-cancel"),
    path("<int:proposal_id>/voters/", pages.proposal_voters_fragment, name="proposal-voters"),
    path("<int:proposal_id>/voters.csv", pages.proposal_voters_export, name="proposal-voters-csv"),
    path("new/preview/", pages.proposal_impact_preview_start, name="impact-preview-start"),
    path("new/preview/<int:preview_id>/", pages.proposal_impact_preview_fragment, name="impact-preview"),
    path("<int:proposal_id>/queue/", pages.proposal_queue_view, name="proposal-queue"),
    path("<int:proposal_id>/execute/", pages.proposal_execute_view, name="proposal-execute"),
    path("<int:proposal_id>/veto/", pages.proposal_veto_view, name="proposal-veto"),
    path("<int:proposal_id>/recount/", pages.proposal_recount_view, name="proposal-recount"),
    path("<int:proposal_id>/onchain/tx/", onchain.onchain_transaction, name="proposal-onchain-tx"),
    path("<int:proposal_id>/onchain/proposed/", onchain.onchain_proposed, name="proposal-onchain-proposed"),
    path("<int:proposal_id>/onchain/refresh/", onchain.onchain_refresh, name="proposal-onchain-refresh"),
    path("notifications/", notifications.notifications_subscribe, name="notifications"),
    path("notifications/confirm/<str:token>/", notifications.notifications_confirm, name="notifications-confirm"),
    path(
        "notifications/unsubscribe/<str:token>/",
        notifications.notifications_unsubscribe,
        name="notifications-unsubscribe",
    ),
    path("delegates/", delegates.delegate_list, name="delegate-list"),
    path("holders/<str:address>/", delegates.holder_detail, name="holder-detail"),
    path("api/delegation/typed-data/", delegates.delegation_typed_data_api, name="api-delegation-typed-data"),
    path("api/delegation/relays/", delegates.delegation_relay_create_api, name="api-delegation-relays"),
    path("api/delegation/relays/<int:relay_id>/", delegates.delegation_relay_api, name="api-delegation-relay"),
    path("api/delegates/statements/", delegates.statement_publish_api, name="api-statements"),
    path(
        "api/delegates/<str:address>/statement/typed-data/",
        delegates.statement_typed_data_api,
        name="api-statement-typed-data",
    ),
    path("api/proposals/", api.ProposalListApi.as_view(), name="api-proposals"),
    path("api/proposals/<int:proposal_id>/", api.ProposalDetailApi.as_view(), name="api-proposal"),
    path("api/proposals/<int:proposal_id>/votes/", api.ProposalVotesApi.as_view(), name="api-votes"),
    path("api/proposals/<int:proposal_id>/ballot/", api.BallotTypedDataApi.as_view(), name="api-ballot"),
    path("api/proposals/<int:proposal_id>/tally.json", api.TallyExportApi.as_view(), name="api-tally"),
]

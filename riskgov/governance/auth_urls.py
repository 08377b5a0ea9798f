from django.urls import path

from riskgov.governance.views import auth

app_name = "auth"
urlpatterns = [
    path("siwe/message/", auth.siwe_message, name="siwe-message"),
    path("siwe/verify/", auth.siwe_verify, name="siwe-verify"),
    path("sign-out/", auth.sign_out, name="sign-out"),
    path("wallet/", auth.wallet_status, name="wallet-status"),
    path("demo/accounts/", auth.demo_wallet_accounts, name="demo-accounts"),
    path("demo/sign/", auth.demo_wallet_sign, name="demo-sign"),
    path("demo/delegate/", auth.demo_wallet_delegate, name="demo-delegate"),
    path("demo/send/", auth.demo_wallet_send, name="demo-send"),
]

from django.urls import path

app_name = "riskgov"
urlpatterns: list = []

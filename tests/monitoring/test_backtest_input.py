"""What-if input of the backtest page: a value no policy could take answers 400 naming the field and why."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from tests.monitoring.conftest import add_hourly_prices, make_market

pytestmark = pytest.mark.django_db


@pytest.fixture
def market():
    market = make_market("WHAT", automatic=False)
    add_hourly_prices(market, sigma_hourly=0.0016, hours=24 * 10)
    return market


def backtest(client, **params):
    return client.get(reverse("monitoring:market-backtest", args=["WHAT"]), {"days": 30, **params})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"coefficient_a": "abc"}, "a (coefficient_a): Enter a number."),
        ({"coefficient_a": "NaN"}, "a (coefficient_a): Enter a number."),
        ({"coefficient_a": "Infinity"}, "a (coefficient_a): Enter a number."),
        ({"coefficient_a": "11"}, "a (coefficient_a): Ensure this value is less than or equal to 10."),
        ({"coefficient_b": "-0.01"}, "b (coefficient_b): Ensure this value is greater than or equal to 0."),
        ({"ewma_lambda": "2"}, "EWMA decay (ewma_lambda): Ensure this value is less than or equal to 0.9999."),
        (
            {"ewma_lambda": "0.9712345"},
            "EWMA decay (ewma_lambda): Ensure that there are no more than 6 digits in total.",
        ),
        ({"confidence": "0.3"}, "Confidence (confidence): Ensure this value is greater than or equal to 0.9."),
        ({"horizon_hours": "1.5"}, "Horizon (h) (horizon_hours): Enter a whole number."),
        ({"horizon_hours": "0"}, "Horizon (h) (horizon_hours): Ensure this value is greater than or equal to 1."),
        ({"imr_floor": "0.6"}, "IMR floor (imr_floor): The IMR floor (0.6) must not exceed the IMR cap (0.5)."),
        ({"mmr_ratio": "1"}, "MMR ratio (mmr_ratio): Ensure this value is less than or equal to 0.95."),
        ({"kind": "bogus"}, "Policy kind (kind): Select a valid choice. bogus is not one of the available choices."),
        ({"days": "7"}, "Period (days): Select a valid choice. 7 is not one of the available choices."),
    ],
)
def test_bad_what_if_input_is_a_400_naming_the_field_and_the_reason(client, market, params, message):
    response = backtest(client, **params)
    assert response.status_code == 400
    assert response.context["errors"] == [message]
    form = response.context["form"]
    [(field, [reason])] = form.errors.items()
    assert field in params and message.endswith(reason)
    # the page still shows the policy in force, not the rejected values
    assert response.context["values"] == market.policy_versions.get().values()
    assert response.context["what_if"] is False
    assert message in response.content.decode().replace("&#x27;", "'")


def test_several_bad_fields_are_all_named(client, market):
    response = backtest(client, coefficient_a="x", horizon_hours="-1")
    assert response.status_code == 400
    assert sorted(response.context["form"].errors) == ["coefficient_a", "horizon_hours"]


def test_good_what_if_input_replays_the_proposed_coefficients(client, market):
    response = backtest(client, coefficient_a="1.5", imr_cap="0.25", kind="static", horizon_hours="4")
    assert response.status_code == 200 and response.context["errors"] == []
    values = response.context["values"]
    assert (values["coefficient_a"], values["imr_cap"], values["kind"], values["horizon_hours"]) == (
        D("1.5"),
        D("0.25"),
        "static",
        4,
    )
    assert response.context["what_if"] is True
    assert response.context["found"].coefficients.horizon_hours == 4


def test_a_raised_floor_is_checked_against_an_entered_cap(client, market):
    assert backtest(client, imr_floor="0.2", imr_cap="0.3").status_code == 200
    response = backtest(client, imr_floor="0.2", imr_cap="0.1")
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["imr_floor"]

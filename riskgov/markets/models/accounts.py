from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from eth_utils import is_address, to_checksum_address


def validate_address(value: str) -> None:
    if not is_address(value):
        raise ValidationError("%(value)s is not a valid Ethereum address.", params={"value": value})


def checksum_address(value: str) -> str:
    """Checksum `value`; raises ValidationError naming the problem for a malformed address."""
    validate_address(value)
    return str(to_checksum_address(value))


class Account(models.Model):
    """A trader or token holder, identified by a checksummed address."""

    address = models.CharField(max_length=42, unique=True, validators=[validate_address])
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "riskgov_account"
        ordering = ["address"]
        # An address search matches any case (address__iexact: UPPER(address) = UPPER(%s)).
        indexes = [models.Index(Upper("address"), name="account_address_upper_idx")]

    def __str__(self) -> str:
        return self.label or self.address

    def save(self, *args: object, **kwargs: object) -> None:
        self.address = checksum_address(self.address)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

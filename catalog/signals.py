"""What the catalog tells the apps built on it, so it never has to import them."""

from django.dispatch import Signal

# A part's details were stored (sender: ``catalog.models.Part``), inside the transaction that
# stores them: ``no``, the ``name`` it now has, and the ``previous_name`` it had (``None`` for
# a part stored for the first time). A receiver's writes commit or roll back with the part.
part_stored = Signal()

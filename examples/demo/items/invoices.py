"""Trusted invoice totals.

Every line's amount, tax and total are computed here from its quantity, its unit price and the
invoice's tax rate, whatever a client sent; the invoice's subtotal, tax and total are calculated
fields over its lines. The client modules compute the same for the screen only.
"""
from decimal import Decimal, ROUND_HALF_UP


def cents(x):
    return float(Decimal(repr(x)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP))


def price(line, rate):
    amount = cents(line.quantity.value * line.unitprice.value)
    tax = cents(amount * rate / 100)
    line.amount.value = amount
    line.tax.value = tax
    line.total.value = cents(amount + tax)


def on_apply(item, delta, params, connection):
    for invoice in delta:
        if invoice.rec_deleted():
            continue
        rate = invoice.taxrate.value
        named = set()
        # An update that changes no line has no invoice_table in its delta.
        for line in getattr(invoice, 'invoice_table', None) or []:
            if not line.rec_inserted():
                named.add(line.id.value)
            if not line.rec_deleted():
                price(line, rate)
        if invoice.rec_modified() and rate != invoice.taxrate.old_value:
            # The lines this apply does not name keep their tax: refuse a rate they disagree with.
            lines = item.task.invoice_table.copy()
            lines.set_where(master_rec_id=invoice.id.value)
            lines.open(fields=['id', 'amount', 'tax'])
            for line in lines:
                if line.id.value not in named and line.tax.value != cents(line.amount.value * rate / 100):
                    item.abort('The tax rate changed: every line of the invoice must be saved with it')

// An invoice line: the chosen track's price, and the line's amount, tax (at the invoice's tax
// rate) and total, as in Jam.py's demo.

function on_after_append(item) {
  item.invoice_date.value = item.master.invoice_date.value;
  item.customer.value = item.master.customer.value;
}

function on_field_changed(field, lookup_item) {
  var item = field.owner;
  if (field.field_name === 'track' && lookup_item) {
    item.unitprice.value = lookup_item.unitprice.value;
  }
  if (field.field_name === 'track' || field.field_name === 'quantity' || field.field_name === 'unitprice') {
    item.calc(item);
  }
}

function calc(item) {
  var amount = round(item.quantity.value * item.unitprice.value);
  var tax = round(amount * item.master.taxrate.value / 100);
  item.amount.value = amount;
  item.tax.value = tax;
  item.total.value = round(amount + tax);
}

function round(n) {
  return Math.round((n + Number.EPSILON) * 100) / 100;
}

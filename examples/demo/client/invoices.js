// The invoice's behaviour, as in Jam.py's demo: its totals follow its lines, a new tax rate
// prices every line again, the lines carry the invoice's customer and date, and the grid shows
// the customer's full name. The server computes the same (items/invoices.py and the calculated
// subtotal, tax and total): what is shown here is convenience, what is stored is the server's.

function on_field_get_text(field) {
  if (field.field_name === 'customer' && field.lookup_value) {
    var first = field.owner.firstname.lookup_value;
    return first ? first + ' ' + field.lookup_value : field.lookup_value;
  }
}

function on_field_changed(field, lookup_item) {
  var item = field.owner;
  if (field.field_name === 'taxrate') {
    item.invoice_table.each(function (line) {
      line.edit();
      line.calc(line);
      line.post();
    });
  }
}

function on_detail_changed(item, detail) {
  var subtotal = 0;
  var tax = 0;
  detail.each(function (line) {
    subtotal += line.amount.value;
    tax += line.tax.value;
  });
  item.subtotal.value = round(subtotal);
  item.tax.value = round(tax);
  item.total.value = round(subtotal + tax);
}

function on_before_post(item) {
  item.invoice_table.each(function (line) {
    if (line.customer.value !== item.customer.value || line.invoice_date.value !== item.invoice_date.value) {
      line.edit();
      line.customer.value = item.customer.value;
      line.invoice_date.value = item.invoice_date.value;
      line.post();
    }
  });
}

function round(n) {
  return Math.round((n + Number.EPSILON) * 100) / 100;
}

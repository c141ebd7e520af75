// A track's price must be more than nothing, checked as the user leaves the field and again
// before the record is posted (the server requires the field; the rule is the demo's).

function on_field_validate(field) {
  if (field.field_name === 'unitprice' && field.value <= 0) {
    return 'The unit price must be greater than 0';
  }
}

def on_before_apply_record(item, record, params, connection):
    # The amount is the quantity times the price, whatever the client sent.
    if not record.rec_deleted():
        record.amount.value = (record.quantity.value or 0) * (record.price.value or 0)

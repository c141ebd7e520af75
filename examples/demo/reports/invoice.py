def on_generate(report):
    invoices = report.task.invoices.copy()
    invoices.set_where(id=report.id.value)
    invoices.open(expanded=True)
    if invoices.rec_count == 0:
        raise Exception('There is no invoice %s' % report.id.value)
    customers = report.task.customers.copy()
    customers.set_where(id=invoices.customer.value)
    customers.open()

    number = invoices.id.value
    date = invoices.invoice_date.display_text
    customer = '%s %s' % (customers.firstname.value or '', customers.lastname.value or '')
    address = customers.address.value or ''
    city = customers.city.value or ''
    postal_code = customers.postalcode.value or ''
    state = customers.state.value or ''
    country = customers.country.value or ''
    report.print_band('title', locals())

    lines = report.task.invoice_table.copy()
    lines.set_where(master_rec_id=invoices.id.value)
    lines.set_order_by(['id'])
    lines.open(expanded=True)
    for line in lines:
        track = line.track.lookup_text
        album = line.album.lookup_text
        quantity = line.quantity.value
        unitprice = line.unitprice.value
        amount = line.amount.value
        tax = line.tax.value
        total = line.total.value
        report.print_band('detail', locals())

    subtotal = invoices.subtotal.value
    tax = invoices.tax.value
    total = invoices.total.value
    info = report.session['user_info']
    user = info['user_name'] or info['login']
    report.print_band('summary', locals())

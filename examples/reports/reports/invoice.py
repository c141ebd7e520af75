def on_generate(report):
    invoices = report.task.invoices.copy()
    invoices.set_where(id=report.id.value)
    invoices.open(expanded=True)
    customers = report.task.customers.copy()
    customers.set_where(id=invoices.customer.value)
    customers.open()

    number = invoices.id.value
    date = invoices.invoice_date.value
    customer = invoices.customer.lookup_text
    country = customers.country.value
    report.print_band('title', locals())

    lines = report.task.invoice_lines.copy()
    lines.set_where(invoice=invoices.id.value)
    lines.set_order_by(['id'])
    lines.open()
    for line in lines:
        item = line.item.value
        quantity = line.quantity.value
        price = line.price.value
        amount = line.amount.value
        report.print_band('detail', locals())

    total = invoices.total.value
    info = report.session['user_info']
    user = info['user_name'] or info['login']
    report.print_band('summary', locals())

def on_generate(report):
    date_from = report.date_from.value
    date_to = report.date_to.value
    invoices = report.task.invoices.copy()
    invoices.set_where(invoice_date__range=[date_from, date_to])
    invoices.set_order_by(['invoice_date'])
    invoices.open()

    months = {}
    for i in invoices:
        month = i.invoice_date.value[:7]
        count, total = months.get(month, (0, 0.0))
        months[month] = (count + 1, total + (i.total.value or 0))

    report.print_band('title', locals())
    for month, (count, total) in sorted(months.items()):
        report.print_band('detail', locals())
    count = sum(c for c, _ in months.values())
    total = sum(t for _, t in months.values())
    report.print_band('summary', locals())

def on_generate(report):
    customers = report.task.customers.copy()
    where = {}
    if report.country.value:
        where['country'] = report.country.value
    if report.customers.value:
        where['id__in'] = report.customers.value
    customers.set_where(**where)
    customers.open()

    if where:
        selection = ', '.join(t for t in [report.country.value, report.customers.display_text] if t)
    else:
        selection = 'All customers'
    report.print_band('title', locals())
    count = 0
    for c in customers:
        count += 1
        n = count
        name = c.name.value
        country = c.country.value
        report.print_band('detail', locals())
    report.print_band('summary', locals())

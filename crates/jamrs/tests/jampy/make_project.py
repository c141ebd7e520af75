"""Makes a Jam.py project with Jam.py's own code, for tests/jampy_import.rs.

Run with a virtualenv's Python that has Jam.py (v5: jam-py, v7: jam.py-v7):
`python make_project.py DIR` prints, as JSON, the rows Jam.py's own API opens for user "a".
`python make_project.py DIR --read` prints the rows again (after jamrs wrote to the data).
`python make_project.py DIR --export` makes a Builder export of the project and prints its path.

It drives the Builder's server code (jam/admin/builder.py) as its client does, as
bench/jampy/make_project.py does: the template (jam-project.py), language, task name and
database, a role, items with the group's common fields plus their own (every data type but keys, a
lookup, a lookup list, a lookup two levels deep), details of both kinds under orders (order lines by master_id and
master_rec_id; in v7 also payments by master_field), history and an edit lock on customers
with Jam.py's history item, a
filter, an index, server modules, a report with a lookup param (its template written here),
users (plain-text passwords, as Jam.py keeps them), safe mode; then data through Jam.py's
datasets.
"""

import json
import os
import subprocess
import sys


def jampy_v5():
    from jam.common import consts
    return not hasattr(consts, 'SQLITE')


def on_apply(builder, item, name):
    # v7 wants the builder's handler set on the copy; v5 registered it on the item itself.
    handler = getattr(builder, name, None)
    if handler is not None:
        item.on_apply = handler


def make(project):
    os.makedirs(project, exist_ok=True)
    jam_project = os.path.join(os.path.dirname(sys.executable), 'jam-project.py')
    subprocess.run([sys.executable, jam_project], cwd=project, check=True,
                   stdout=subprocess.DEVNULL)
    from jam.wsgi import create_application
    from jam.common import consts
    from jam.admin import builder

    app = create_application(project, testing=True)
    admin = app.admin
    V5 = jampy_v5()

    params = admin.sys_params.copy()
    params.open()
    params.edit()
    params.f_language.value = 1
    params.post()
    on_apply(builder, params, 'do_on_apply_param_changes')
    params.apply(params={})
    builder.server_set_project_langage(admin, 1)
    tasks = admin.sys_tasks.copy()
    tasks.open()
    tasks.edit()
    tasks.f_name.value = 'Shop'
    tasks.f_item_name.value = 'shop'
    builder.server_set_task_name(admin, tasks.f_name.value, tasks.f_item_name.value)
    tasks.f_db_type.value = 1  # SQLite
    tasks.f_alias.value = 'shop.sqlite'
    tasks.post()
    on_apply(builder, tasks, 'do_on_apply_param_changes')
    tasks.apply(params={})
    builder.server_create_task(admin)

    task_rec = admin.sys_items.copy(handlers=False)
    task_rec.set_where(type_id=consts.TASK_TYPE)
    task_rec.open()
    task_id = task_rec.id.value

    roles = admin.sys_roles.copy()
    roles.open(open_empty=True)
    roles.append()
    roles.f_name.value = 'Users'
    roles.post()
    on_apply(builder, roles, 'roles_on_apply')
    roles.apply(params={})

    lists = admin.sys_lookup_lists.copy()
    lists.open(open_empty=True)
    lists.append()
    lists.f_name.value = 'Status'
    lists.f_lookup_values_text.value = json.dumps([[1, 'Open'], [2, 'Closed']])
    lists.post()
    lists.apply(params={})
    status_list = lists.id.value

    def group_of(type_id, item_name):
        group = admin.sys_items.copy(handlers=False)
        group.set_where(type_id=type_id, f_item_name=item_name)
        group.open()
        group_fields = admin.sys_fields.copy(handlers=False)
        group_fields.set_where(owner_rec_id=group.id.value)
        group_fields.set_order_by('id')
        group_fields.open()
        return group, group_fields

    catalogs = group_of(consts.ITEMS_TYPE, 'catalogs')

    ids = {}

    def add_item(name, caption, fields, module=None, history=False, edit_lock=False,
                 in_group=None, type_id=consts.ITEM_TYPE, system=None):
        group, group_fields = in_group or catalogs
        table_name, gen_name = builder.get_new_table_name(admin, name)
        items = admin.sys_items.copy()
        items.open(open_empty=True)
        items.append()
        items.parent.value = group.id.value
        items.task_id.value = task_id
        items.type_id.value = type_id
        items.table_id.value = 0
        items.f_index.value = len(ids)
        items.f_visible.value = True
        items.f_name.value = caption
        items.f_item_name.value = name
        items.f_table_name.value = table_name
        items.sys_fields.open()
        field_ids = {}
        for gf in group_fields:
            if V5:
                # v5: an item has its group's common fields without copies of its own.
                field_ids[gf.f_field_name.value] = gf.id.value
                for attr in ('f_primary_key', 'f_deleted_flag', 'f_master_id',
                             'f_master_rec_id', 'f_record_version'):
                    if group.field_by_name(attr).value == gf.id.value:
                        items.field_by_name(attr).value = gf.id.value
                continue
            items.sys_fields.append()
            for f in items.sys_fields.fields:
                f.data = gf.field_by_name(f.field_name).data
            items.sys_fields.id.data = builder.get_fields_next_id(admin)
            items.sys_fields.post()
            field_ids[items.sys_fields.f_field_name.value] = items.sys_fields.id.value
            for attr in ('f_primary_key', 'f_deleted_flag', 'f_master_id', 'f_master_rec_id',
                         'f_record_version'):
                if group.field_by_name(attr).value == gf.id.value:
                    items.field_by_name(attr).value = items.sys_fields.id.value
        if items.f_deleted_flag.value:
            items.f_soft_delete.value = True
        # History and Edit lock, as the item editor's checkboxes set them (v5 has no record
        # version field: its edit lock works without one).
        items.f_keep_history.value = history
        items.f_edit_lock.value = edit_lock
        for spec in fields:
            fname, fcaption, data_type = spec[:3]
            opts = spec[3] if len(spec) > 3 else {}
            sf = items.sys_fields
            sf.append()
            sf.id.value = builder.get_fields_next_id(admin)
            sf.task_id.value = task_id
            sf.f_name.value = fcaption
            sf.f_field_name.value = fname
            sf.f_db_field_name.value = builder.server_set_literal_case(admin, fname)
            sf.f_data_type.value = data_type
            if 'size' in opts:
                sf.f_size.value = opts['size']
            if 'lookup' in opts:
                target, target_field = opts['lookup']
                sf.f_object.value = ids[target][0]
                sf.f_object_field.value = ids[target][1][target_field]
            if 'lookup1' in opts:
                target, target_field = opts['lookup1']
                sf.f_object_field1.value = ids[target][1][target_field]
            if 'values' in opts:
                sf.f_lookup_values.value = status_list
            sf.f_required.value = opts.get('required', False)
            sf.f_alignment.value = builder.get_alignment(data_type)
            sf.post()
            field_ids[fname] = sf.id.value
        # System fields the item names among its own (the item editor's selections).
        for attr, fname in (system or {}).items():
            items.field_by_name(attr).value = field_ids[fname]
        items.post()
        on_apply(builder, items, 'items_apply_changes')
        items.apply(params={'manual_update': False})
        item_id = items.id.value
        ids[name] = (item_id, field_ids)
        if module:
            res = builder.server_save_edit(admin, item_id, module, True)
            assert not res['error'], res
        return item_id, field_ids

    add_item('countries', 'Countries', [('name', 'Name', consts.TEXT, {'size': 40})])
    add_item('customers', 'Customers', [
        ('name', 'Name', consts.TEXT, {'size': 60, 'required': True}),
        ('country', 'Country', consts.INTEGER, {'lookup': ('countries', 'name')}),
        ('credit', 'Credit', consts.FLOAT),
        ('balance', 'Balance', consts.CURRENCY),
        ('born', 'Born', consts.DATE),
        ('seen', 'Seen', consts.DATETIME),
        ('vip', 'VIP', consts.BOOLEAN),
        ('notes', 'Notes', consts.LONGTEXT),
        ('contract', 'Contract', consts.FILE),
        ('photo', 'Photo', consts.IMAGE),
    ], history=True, edit_lock=True)
    add_item('orders', 'Orders', [
        ('customer', 'Customer', consts.INTEGER, {'lookup': ('customers', 'name')}),
        ('customer_country', 'Customer country', consts.INTEGER,
         {'lookup': ('customers', 'country'), 'lookup1': ('countries', 'name')}),
        ('status', 'Status', consts.INTEGER, {'values': True}),
        ('total', 'Total', consts.CURRENCY),
    ], module='def total_of(item, n):\n    return n * 2\n')

    # Details of both kinds under orders: order lines, a prototype of the detail group linked
    # by master_id + master_rec_id (v5 and v7), and (v7) payments, an item linked by its own
    # field holding the order's key (master_field).
    line_fields = [
        ('item', 'Item', consts.TEXT, {'size': 50}),
        ('qty', 'Quantity', consts.INTEGER),
        ('price', 'Price', consts.CURRENCY),
    ]
    if V5:
        # v5: a prototype of the detail group, whose common fields hold the link.
        add_item('order_lines', 'Order lines', line_fields,
                 in_group=group_of(consts.TABLES_TYPE, 'details'), type_id=consts.TABLE_TYPE)
    else:
        # v7 has no detail group: an item with link fields of its own.
        add_item('order_lines', 'Order lines', line_fields + [
            ('master_id', 'Master ID', consts.INTEGER),
            ('master_rec_id', 'Master record ID', consts.INTEGER),
        ], system={'f_master_id': 'master_id', 'f_master_rec_id': 'master_rec_id'})
    links = [[ids['order_lines'][0], None, None]]
    if not V5:
        add_item('payments', 'Payments', [
            ('order_id', 'Order', consts.INTEGER),
            ('amount', 'Amount', consts.CURRENCY),
        ])
        links.append([ids['payments'][0], None, ids['payments'][1]['order_id']])
    builder.server_update_details(admin.sys_items, ids['orders'][0], links)

    # A filter on orders.customer and an index on it.
    filters = admin.sys_filters.copy()
    filters.open(open_empty=True)
    filters.append()
    filters.owner_rec_id.value = ids['orders'][0]
    filters.task_id.value = task_id
    filters.f_field.value = ids['orders'][1]['customer']
    filters.f_filter_name.value = 'customer'
    filters.f_name.value = 'Customer'
    filters.f_type.value = consts.FILTER_EQ
    filters.f_visible.value = True
    filters.post()
    filters.apply(params={})

    indexes = admin.sys_indices.copy()
    indexes.open(open_empty=True)
    indexes.append()
    indexes.f_index_name.value = 'SHOP_ORDERS_TOTAL_IDX'
    indexes.task_id.value = task_id
    indexes.owner_rec_id.value = ids['orders'][0]
    indexes.f_foreign_index.value = False
    indexes.f_fields_list.value = builder.server_dump_index_fields(
        indexes, [[ids['orders'][1]['total'], True]])
    indexes.post()
    on_apply(builder, indexes, 'indices_apply_changes')
    indexes.apply(params={'manual_update': False})

    # Jam.py's history item (Builder: Project parameters → History item), which records the
    # changes of items that keep history.
    builder.create_system_item(admin, 'f_history_item')

    # A report with a lookup param, its template in reports/ and its module.
    reports_group = admin.sys_items.copy(handlers=False)
    reports_group.set_where(type_id=consts.REPORTS_TYPE)
    reports_group.open()
    items = admin.sys_items.copy()
    items.open(open_empty=True)
    items.append()
    items.parent.value = reports_group.id.value
    items.task_id.value = task_id
    items.type_id.value = consts.REPORT_TYPE
    items.table_id.value = 0
    items.f_index.value = 0
    items.f_visible.value = True
    items.f_name.value = 'Customer card'
    items.f_item_name.value = 'customerCard'
    items.f_view_template.value = 'customer_card.ods'
    items.post()
    on_apply(builder, items, 'items_apply_changes')
    items.apply(params={'manual_update': False})
    report_id = items.id.value
    report_params = admin.sys_report_params.copy()
    report_params.open(open_empty=True)
    report_params.append()
    report_params.owner_id.value = admin.sys_items.ID
    report_params.owner_rec_id.value = report_id
    report_params.task_id.value = task_id
    report_params.f_index.value = 0
    report_params.f_name.value = 'Customer'
    report_params.f_param_name.value = 'customer'
    report_params.f_data_type.value = consts.INTEGER
    report_params.f_object.value = ids['customers'][0]
    report_params.f_object_field.value = ids['customers'][1]['name']
    report_params.f_required.value = True
    report_params.f_visible.value = True
    report_params.post()
    report_params.apply(params={})
    res = builder.server_save_edit(admin, report_id, REPORT_MODULE, True)
    assert not res['error'], res
    write_template(os.path.join(project, 'reports', 'customer_card.ods'))

    sys_users = admin.sys_users.copy()
    sys_users.open(open_empty=True)
    sys_users.append()
    sys_users.f_name.value = 'Ann'
    sys_users.f_login.value = 'a'
    sys_users.f_password.value = 'pa-secret-1'
    sys_users.f_role.value = roles.id.value
    sys_users.f_admin.value = False
    sys_users.post()
    sys_users.apply(params={})

    params = admin.sys_params.copy()
    params.open()
    params.edit()
    params.f_safe_mode.value = True
    params.post()
    on_apply(builder, params, 'do_on_apply_param_changes')
    params.apply(params={})


REPORT_MODULE = """def on_generate(report):
    customers = report.task.customers.copy()
    customers.set_where(id=report.customer.value)
    customers.open()
    name = customers.name.value
    credit = customers.credit.value
    report.print_band('title', locals())
"""


def write_template(path):
    """A LibreOffice Calc spreadsheet of one band, `title`: "Customer %(name)s" and the credit."""
    import zipfile
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')

    def cell(text):
        return ('<table:table-cell office:value-type="string"><text:p>%s</text:p>'
                '</table:table-cell>' % text)

    content = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<office:document-content %s office:version="1.2"><office:body>'
               '<office:spreadsheet><table:table table:name="Sheet1">'
               '<table:table-column table:number-columns-repeated="3"/>'
               '<table:table-row>%s%s%s</table:table-row>'
               '</table:table></office:spreadsheet></office:body></office:document-content>'
               % (ns, cell('title'), cell('Customer %(name)s'), cell('%(credit)s')))
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, 'w') as z:
        # ODF: the mimetype first, stored.
        z.writestr(zipfile.ZipInfo('mimetype'), 'application/vnd.oasis.opendocument.spreadsheet',
                   compress_type=zipfile.ZIP_STORED)
        z.writestr('META-INF/manifest.xml', manifest, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr('content.xml', content, compress_type=zipfile.ZIP_DEFLATED)


def task_of(project):
    from jam.wsgi import create_application
    app = create_application(project, testing=True, load_task=True)
    task = app.task
    if task is None:
        task = app.get_task()
    return task


def fill(task):
    countries = task.countries.copy()
    countries.open(open_empty=True)
    for n in ['Norway', 'Peru', 'Chad']:
        countries.append()
        countries.name.value = n
        countries.post()
    countries.apply()
    customers = task.customers.copy()
    customers.open(open_empty=True)
    import datetime
    rows = [('Ann', 1, 1.5, 10.25, datetime.date(1990, 1, 2),
             datetime.datetime(2024, 5, 6, 7, 8, 9), True, 'long\ntext', 'c.pdf', 'p.png'),
            ('Bob', 2, None, 0, None, None, False, None, None, None)]
    for r in rows:
        customers.append()
        for f, v in zip(['name', 'country', 'credit', 'balance', 'born', 'seen', 'vip', 'notes',
                         'contract', 'photo'], r):
            if v is not None:
                customers.field_by_name(f).value = v
        customers.post()
    customers.apply()
    orders = task.orders.copy()
    orders.open(open_empty=True)
    for customer, status, total in [(1, 1, 9.5), (2, 2, 3.0), (1, 2, 1.25)]:
        orders.append()
        orders.customer.value = customer
        orders.customer_country.value = customer
        orders.status.value = status
        orders.total.value = total
        orders.post()
    orders.apply()
    # Detail rows, through the master as Jam.py's forms add them.
    orders.open()
    for order in orders:
        orders.edit()
        orders.order_lines.open()
        for n in range(orders.id.value):
            orders.order_lines.append()
            orders.order_lines.item.value = 'item %d.%d' % (orders.id.value, n)
            orders.order_lines.qty.value = n + 1
            orders.order_lines.price.value = 2.5 * (n + 1)
            orders.order_lines.post()
        if not jampy_v5():
            orders.payments.open()
            orders.payments.append()
            orders.payments.amount.value = orders.total.value
            orders.payments.post()
        orders.post()
    orders.apply()
    # A row deleted through Jam.py: soft delete keeps it in the table, hidden.
    orders.open()
    orders.locate('total', 3.0)
    orders.delete()
    orders.apply()


def plain(v):
    import datetime
    import decimal
    if isinstance(v, datetime.datetime):
        return v.strftime('%Y-%m-%d %H:%M:%S')
    if isinstance(v, datetime.date):
        return v.strftime('%Y-%m-%d')
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v


def read(task):
    out = {}
    for name in ['countries', 'customers', 'orders']:
        item = task.item_by_name(name).copy()
        if name == 'orders':
            # Each order's detail rows, opened through the master as Jam.py's forms do.
            item.set_order_by('id')
            item.open()
            for r in item:
                for detail in item.details:
                    detail.set_order_by('id')
                    detail.open()
                    out.setdefault(detail.item_name, []).extend(
                        {f.field_name: (None if f.data is None else plain(f.value))
                         for f in d.fields if f.field_name not in ('deleted', 'record_version')}
                        for d in detail)
            item = task.item_by_name(name).copy()
        item.set_order_by('id')
        item.open()
        rows = []
        for r in item:
            row = {}
            for f in r.fields:
                if f.field_name in ('deleted', 'record_version'):
                    continue
                # `value` reads NULL as 0 or ''; `data` is what is stored.
                row[f.field_name] = None if f.data is None else plain(f.value)
                if f.lookup_item or f.lookup_values:
                    row[f.field_name + '.text'] = (f.display_text or None) if f.data is not None else None
            rows.append(row)
        out[name] = rows
    return out


def export(project):
    """The Builder's Export (Project → Export): a zip of the metadata, code and templates."""
    from jam.wsgi import create_application
    from jam.admin.export_metadata import export_task
    os.chdir(project)  # Jam.py zips the folders of the working directory
    app = create_application(project, testing=True)
    name = export_task(app.admin, None)
    return os.path.join(project, 'static', 'internal', name)


def main():
    project = os.path.abspath(sys.argv[1])
    if '--export' in sys.argv:
        print(json.dumps(export(project)))
        return
    if '--read' not in sys.argv:
        make(project)
        fill(task_of(project))
    print(json.dumps(read(task_of(project))))


if __name__ == '__main__':
    main()

"""Makes the Jam.py project bench/import imports: 50 items made with Jam.py's own Builder code,
then 100,000 data rows written into Jam.py's data database.

Run with the virtualenv's Python that has Jam.py v7 (jam.py-v7):
`python import_project.py DIR [FACTOR]` makes the project in DIR (a new folder) and prints, as
JSON, each item's table and row count. FACTOR (1 by default) multiplies the rows of every item.

The Builder's server code (jam/admin/builder.py) is driven as its client does, as
crates/jamrs/tests/jampy/make_project.py does: the template (jam-project.py), language, task
name and SQLite database, a role, a lookup list, then the items, each with its group's common
fields plus its own, created with `items_apply_changes` (which creates the table):

- 10 catalogs `cat01`…`cat10`: text, float, boolean and date fields; 100 rows each.
- 30 journals `doc01`…`doc30`: text, integer, currency, float, date, datetime, boolean,
  longtext, a lookup list value, two lookups to catalogs, a file (every third) and an image
  (every fifth); 2,000 rows each.
- 10 details `line01`…`line10` (text, integer, currency, master_id and master_rec_id), each a
  detail of `doc01`…`doc10` (`server_update_details`); 3,900 rows each.

Then one user. The rows are written with sqlite3 straight into the data database's tables that
Jam.py created, in one transaction: going through Jam.py's datasets would take minutes and
measure Jam.py, not the import.
"""

import datetime
import json
import os
import sqlite3
import subprocess
import sys

CATALOGS = 10
DOCS = 30
LINES = 10
CATALOG_ROWS = 100
DOC_ROWS = 2_000
LINE_ROWS = 3_900


def on_apply(builder, item, name):
    handler = getattr(builder, name, None)
    if handler is not None:
        item.on_apply = handler


def make(project):
    os.makedirs(project)
    jam_project = os.path.join(os.path.dirname(sys.executable), 'jam-project.py')
    subprocess.run([sys.executable, jam_project], cwd=project, check=True,
                   stdout=subprocess.DEVNULL)
    from jam.wsgi import create_application
    from jam.common import consts
    from jam.admin import builder

    app = create_application(project, testing=True)
    admin = app.admin

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
    tasks.f_name.value = 'Big'
    tasks.f_item_name.value = 'big'
    builder.server_set_task_name(admin, tasks.f_name.value, tasks.f_item_name.value)
    tasks.f_db_type.value = 1  # SQLite
    tasks.f_alias.value = 'big.sqlite'
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
    lists.f_lookup_values_text.value = json.dumps([[1, 'Open'], [2, 'Paid'], [3, 'Closed']])
    lists.post()
    lists.apply(params={})
    status_list = lists.id.value

    group = admin.sys_items.copy(handlers=False)
    group.set_where(type_id=consts.ITEMS_TYPE, f_item_name='catalogs')
    group.open()
    group_fields = admin.sys_fields.copy(handlers=False)
    group_fields.set_where(owner_rec_id=group.id.value)
    group_fields.set_order_by('id')
    group_fields.open()

    ids = {}

    def add_item(name, caption, fields, system=None):
        table_name, _ = builder.get_new_table_name(admin, name)
        items = admin.sys_items.copy()
        items.open(open_empty=True)
        items.append()
        items.parent.value = group.id.value
        items.task_id.value = task_id
        items.type_id.value = consts.ITEM_TYPE
        items.table_id.value = 0
        items.f_index.value = len(ids)
        items.f_visible.value = True
        items.f_name.value = caption
        items.f_item_name.value = name
        items.f_table_name.value = table_name
        items.sys_fields.open()
        field_ids = {}
        # The group's common fields, copied into the item as the v7 Builder does.
        for gf in group_fields:
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
            if 'values' in opts:
                sf.f_lookup_values.value = status_list
            sf.f_required.value = opts.get('required', False)
            sf.f_alignment.value = builder.get_alignment(data_type)
            sf.post()
            field_ids[fname] = sf.id.value
        for attr, fname in (system or {}).items():
            items.field_by_name(attr).value = field_ids[fname]
        items.post()
        on_apply(builder, items, 'items_apply_changes')
        items.apply(params={'manual_update': False})
        ids[name] = (items.id.value, field_ids)

    for n in range(1, CATALOGS + 1):
        add_item(f'cat{n:02}', f'Catalog {n}', [
            ('name', 'Name', consts.TEXT, {'size': 60, 'required': True}),
            ('code', 'Code', consts.TEXT, {'size': 10}),
            ('rate', 'Rate', consts.FLOAT),
            ('active', 'Active', consts.BOOLEAN),
            ('since', 'Since', consts.DATE),
        ])
    for n in range(1, DOCS + 1):
        fields = [
            ('title', 'Title', consts.TEXT, {'size': 80, 'required': True}),
            ('number', 'Number', consts.INTEGER),
            ('amount', 'Amount', consts.CURRENCY),
            ('price', 'Price', consts.FLOAT),
            ('doc_date', 'Date', consts.DATE),
            ('created_at', 'Created', consts.DATETIME),
            ('paid', 'Paid', consts.BOOLEAN),
            ('notes', 'Notes', consts.LONGTEXT),
            ('status', 'Status', consts.INTEGER, {'values': True}),
            ('customer', 'Customer', consts.INTEGER,
             {'lookup': (f'cat{(n - 1) % CATALOGS + 1:02}', 'name')}),
            ('region', 'Region', consts.INTEGER,
             {'lookup': (f'cat{(n + 2) % CATALOGS + 1:02}', 'name')}),
        ]
        if n % 3 == 0:
            fields.append(('attachment', 'Attachment', consts.FILE))
        if n % 5 == 0:
            fields.append(('photo', 'Photo', consts.IMAGE))
        add_item(f'doc{n:02}', f'Document {n}', fields)
    for n in range(1, LINES + 1):
        add_item(f'line{n:02}', f'Lines {n}', [
            ('item', 'Item', consts.TEXT, {'size': 50}),
            ('qty', 'Quantity', consts.INTEGER),
            ('price', 'Price', consts.CURRENCY),
            ('master_id', 'Master ID', consts.INTEGER),
            ('master_rec_id', 'Master record ID', consts.INTEGER),
        ], system={'f_master_id': 'master_id', 'f_master_rec_id': 'master_rec_id'})
        builder.server_update_details(admin.sys_items, ids[f'doc{n:02}'][0],
                                      [[ids[f'line{n:02}'][0], None, None]])

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
    return {name: item_id for name, (item_id, _) in ids.items()}


def value(column, i, item_ids):
    """The value of `column` (Jam.py's database column name, any case) in row `i`."""
    c = column.lower()
    day = datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 1500)
    return {
        'deleted': 0,
        'name': f'Name {i:05}',
        'code': f'C{i % 997:03}',
        'rate': (i % 100) / 7,
        'active': i % 2,
        'since': day.isoformat(),
        'title': f'Document row {i:06} of the benchmark',
        'number': i,
        'amount': round((i % 10_000) * 1.25, 2),
        'price': round((i % 500) * 0.75, 2),
        'doc_date': day.isoformat(),
        'created_at': f'{day.isoformat()} {i % 24:02}:{i % 60:02}:00',
        'paid': i % 3 == 0,
        'notes': f'Notes of row {i}.\nA second line.' if i % 4 else None,
        'status': 1 + i % 3,
        'customer': 1 + i % CATALOG_ROWS,
        'region': 1 + (i * 7) % CATALOG_ROWS,
        'attachment': f'file{i}.pdf' if i % 10 == 0 else None,
        'photo': f'photo{i}.png' if i % 20 == 0 else None,
        'item': f'Line {i}',
        'qty': 1 + i % 9,
        'master_rec_id': 1 + i % DOC_ROWS,
    }.get(c, item_ids.get(c))


def fill(project, ids, factor):
    admin = sqlite3.connect(os.path.join(project, 'admin.sqlite'))
    tables = dict(admin.execute(
        'SELECT F_ITEM_NAME, F_TABLE_NAME FROM SYS_ITEMS WHERE F_TABLE_NAME IS NOT NULL '
        "AND F_TABLE_NAME <> '' AND DELETED = 0"))
    admin.close()
    data = sqlite3.connect(os.path.join(project, 'big.sqlite'))
    counts = {}
    with data:
        for name in sorted(ids):
            table = tables[name]
            columns = [r[1] for r in data.execute(f'PRAGMA table_info("{table}")')
                       if r[1].lower() != 'id']
            rows = factor * (CATALOG_ROWS if name.startswith('cat') else
                             DOC_ROWS if name.startswith('doc') else LINE_ROWS)
            doc = 'doc' + name[4:] if name.startswith('line') else None
            extra = {'master_id': ids[doc]} if doc else {}
            cols = ', '.join(f'"{c}"' for c in columns)
            marks = ', '.join('?' for _ in columns)
            data.executemany(
                f'INSERT INTO "{table}" ({cols}) VALUES ({marks})',
                ([value(c, i, extra) for c in columns] for i in range(1, rows + 1)))
            counts[name] = {'table': table, 'rows': rows}
    data.close()
    return counts


def main():
    project = os.path.abspath(sys.argv[1])
    factor = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    ids = make(project)
    print(json.dumps(fill(project, ids, factor)))


if __name__ == '__main__':
    main()

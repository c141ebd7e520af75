"""Creates the Jam.py side of the benchmark: a project with a `notes` catalog.

Run with the virtualenv's Python (bench/run does):
`python make_project.py DIR MODULE.py INDEX LOGIN:PASSWORD...` (MODULE.py: the item's server
module; INDEX: the fields of the item's one index, comma-separated, e.g. `user_id,deleted`).

It does what a person does in Jam.py's Application Builder, by calling the builder's own server
code (jam/admin/builder.py) the way its client (jam/js/admin.js) does:

1. `jam-project.py` copies the project template (it also writes a fresh cookie secret);
2. the first-run settings: language English, task name, the SQLite database (sys_tasks), then
   `server_create_task`;
3. a role "users" (`roles_on_apply`), before the item, so that `init_priviliges` gives it every
   right on the new item;
4. the catalog `notes` in the Catalogs group: the group's common fields copied as admin.js's
   `create_common_fields` does (id, deleted, record_version), plus title, body and user_id;
   applied through `items_apply_changes`, which creates the table, the privileges and the
   interface;
5. the index (`indices_apply_changes`);
6. MODULE.py (the seed's multi-tenancy recipe) as the item's server module (`server_save_edit`);
7. the users (sys_users; Jam.py keeps passwords in plain text);
8. safe mode on (sys_params, `do_on_apply_param_changes`).

Then it prints the table name, the IDs and the item's field list as JSON for bench/run.
"""

import json
import os
import subprocess
import sys

def main():
    project = os.path.abspath(sys.argv[1])
    with open(sys.argv[2], encoding='utf-8') as f:
        module_code = f.read()
    index_fields = sys.argv[3].split(',')
    users = [u.split(':', 1) for u in sys.argv[4:]]
    os.makedirs(project, exist_ok=True)
    # 1. The template, with a new secret key.
    jam_project = os.path.join(os.path.dirname(sys.executable), 'jam-project.py')
    subprocess.run([sys.executable, jam_project], cwd=project, check=True,
                   stdout=subprocess.DEVNULL)

    from jam.wsgi import create_application
    from jam.common import consts
    from jam.admin import builder

    # testing=True: the bare App, without the static-file middleware.
    app = create_application(project, testing=True)
    admin = app.admin

    # 2. First-run settings, as the builder's start page sets them.
    params = admin.sys_params.copy()
    params.open()
    params.edit()
    params.f_language.value = 1  # English
    params.post()
    params.on_apply = builder.do_on_apply_param_changes
    params.apply(params={})
    builder.server_set_project_langage(admin, 1)
    tasks = admin.sys_tasks.copy()
    tasks.open()
    tasks.edit()
    tasks.f_name.value = 'Notes benchmark'
    tasks.f_item_name.value = 'bench'
    builder.server_set_task_name(admin, tasks.f_name.value, tasks.f_item_name.value)
    tasks.f_db_type.value = consts.SQLITE
    tasks.f_alias.value = 'bench.sqlite'
    tasks.post()
    tasks.on_apply = builder.do_on_apply_param_changes
    tasks.apply(params={})
    builder.server_create_task(admin)

    task_rec = admin.sys_items.copy(handlers=False)
    task_rec.set_where(type_id=consts.TASK_TYPE)
    task_rec.open()
    task_id = task_rec.id.value

    # 3. The role, before the item (init_priviliges then grants it everything on the item).
    roles = admin.sys_roles.copy()
    roles.open(open_empty=True)
    roles.append()
    roles.f_name.value = 'Users'
    roles.post()
    roles.on_apply = builder.roles_on_apply
    roles.apply(params={})
    role_id = roles.id.value

    # 4. The catalog, in the Catalogs group.
    group = admin.sys_items.copy(handlers=False)
    group.set_where(type_id=consts.ITEMS_TYPE, f_item_name='catalogs')
    group.open()
    assert group.rec_count == 1, 'no Catalogs group in the template'
    group_fields = admin.sys_fields.copy(handlers=False)
    group_fields.set_where(owner_rec_id=group.id.value)
    group_fields.set_order_by('id')
    group_fields.open()

    table_name, gen_name = builder.get_new_table_name(admin, 'notes')
    items = admin.sys_items.copy()
    items.open(open_empty=True)
    items.append()
    items.parent.value = group.id.value
    items.task_id.value = task_id
    items.type_id.value = consts.ITEM_TYPE
    items.table_id.value = 0
    items.f_index.value = 0
    items.f_visible.value = True
    items.f_name.value = 'Notes'
    items.f_item_name.value = 'notes'
    items.f_table_name.value = table_name
    if admin.task_db_module.NEED_GENERATOR:
        items.f_gen_name.value = gen_name
    items.sys_fields.open()
    field_ids = {}
    # admin.js create_common_fields: copy each of the group's fields, with a new ID.
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
    new_fields = [
        ('title', 'Title', consts.TEXT, 200, True),
        ('body', 'Body', consts.LONGTEXT, None, False),
        ('user_id', 'User', consts.INTEGER, None, False),
    ]
    for name, caption, data_type, size, required in new_fields:
        sf = items.sys_fields
        sf.append()
        sf.id.value = builder.get_fields_next_id(admin)
        sf.task_id.value = task_id
        sf.f_name.value = caption
        sf.f_field_name.value = name
        sf.f_db_field_name.value = builder.server_set_literal_case(admin, name)
        sf.f_data_type.value = data_type
        if size:
            sf.f_size.value = size
        sf.f_required.value = required
        sf.f_alignment.value = builder.get_alignment(data_type)
        sf.f_enable_typehead.value = True
        sf.post()
        field_ids[name] = sf.id.value
    items.post()
    items.on_apply = builder.items_apply_changes
    items.apply(params={'manual_update': False})
    item_id = items.id.value

    # 5. The index (jamrs's projects have the same one).
    indexes = admin.sys_indices.copy()
    indexes.open(open_empty=True)
    indexes.append()
    indexes.f_index_name.value = 'BENCH_NOTES_' + '_'.join(index_fields).upper() + '_IDX'
    indexes.task_id.value = task_id
    indexes.owner_rec_id.value = item_id
    indexes.f_foreign_index.value = False
    indexes.f_fields_list.value = builder.server_dump_index_fields(
        indexes, [[field_ids[f], False] for f in index_fields])
    indexes.post()
    indexes.on_apply = builder.indices_apply_changes
    indexes.apply(params={'manual_update': False})

    # 6. The seed recipe as the item's server module.
    res = builder.server_save_edit(admin, item_id, module_code, True)
    assert not res['error'], res

    # 7. Users.
    user_ids = {}
    sys_users = admin.sys_users.copy()
    sys_users.open(open_empty=True)
    for login, password in users:
        sys_users.append()
        sys_users.f_name.value = login
        sys_users.f_login.value = login
        sys_users.f_password.value = password
        sys_users.f_role.value = role_id
        sys_users.f_admin.value = False
        sys_users.post()
    sys_users.apply(params={})
    sys_users.open()
    for u in sys_users:
        user_ids[u.f_login.value] = u.id.value

    # 8. Safe mode.
    params = admin.sys_params.copy()
    params.open()
    params.edit()
    params.f_safe_mode.value = True
    params.post()
    params.on_apply = builder.do_on_apply_param_changes
    params.apply(params={})

    fields = admin.sys_fields.copy(handlers=False)
    fields.set_where(owner_rec_id=item_id)
    fields.set_order_by('id')
    fields.open()
    print(json.dumps({'table': table_name, 'item_id': item_id, 'task_id': task_id,
                      'fields': [f.f_field_name.value for f in fields],
                      'columns': [f.f_db_field_name.value for f in fields],
                      'user_ids': user_ids, 'role_id': role_id}))


if __name__ == '__main__':
    main()

// Record locking (`edit_lock`): an update names the record version its form was opened with;
// when someone else saved the record in between, the server refuses with 409 `conflict` on
// `changes[0].<record_version>` and nothing is saved. The person is told so (Jam.py's "This
// record has been changed by another user since you started editing it") and may reload the
// record (their typing is lost) or keep editing (to copy what they typed).

import { ask } from './dialog.js';

/** Adds the version the form was opened with to an update of an edit-locked item. */
export function nameVersion(item, row, change) {
  if (item.recordVersion && row && row[item.recordVersion] !== undefined) {
    change.values[item.recordVersion] = row[item.recordVersion];
  }
}

/** The apply was refused because the record changed since it was opened. */
export function isVersionConflict(item, err) {
  if (!item.recordVersion || !err || err.status !== 409) return false;
  return (err.fields || []).some((f) => String(f.field || '').endsWith(`.${item.recordVersion}`));
}

/** Tells the person; resolves to true when they chose to reload the record. */
export async function askReload(item) {
  const answer = await ask('Saving is forbidden. This record has been changed by another user since you started editing it.', {
    title: `${item.caption}: changed by someone else`,
    detail: 'Reload it to see the other change (what you typed here is then lost), or keep editing to copy what you typed.',
    buttons: [
      { key: 'reload', label: 'Reload the record', kind: 'primary' },
      { key: 'keep', label: 'Keep editing' },
    ],
  });
  return answer === 'reload';
}

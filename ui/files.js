// File and image fields: a thumbnail (image) or the file's name (file) in grids, and in the edit
// form a preview with Upload and Clear buttons, a file picker limited to what the field accepts,
// and drag-and-drop. A file is uploaded at once (`POST /api/items/{item}/upload/{field}`, with a
// progress bar) and saved with the record: the form sends the upload's value in its apply. As
// in Jam.py, double-clicking an image uploads a new one and Ctrl+double-click clears it. Files
// are fetched from `GET /api/items/{item}/files/{field}/{name}`, which the server answers only
// for records the session can open (and for its own fresh uploads).

import { h, clear, ctrl } from './dom.js';
import { ApiError } from './api.js';

export function isFileField(field) {
  return field.type === 'file' || field.type === 'image';
}

/** The stored name of a value (`name?original.pdf` or `name`). */
function storedName(value) {
  return value ? String(value).split('?')[0] : '';
}

/** The name a person gave the file (`original.pdf`), or the stored name of an image. */
export function originalName(value) {
  if (!value) return '';
  const s = String(value);
  const q = s.indexOf('?');
  return q >= 0 ? s.slice(q + 1) : s;
}

export function fileUrl(field, value) {
  return `/api/items/${encodeURIComponent(field.item.name)}/files/${encodeURIComponent(field.name)}/${encodeURIComponent(storedName(value))}`;
}

function sizes(field, where) {
  const image = (field.file && field.file.image) || {};
  const width = image[`${where}_width`] || (where === 'view' ? 32 : 160);
  const height = image[`${where}_height`] || (where === 'view' ? 32 : 120);
  return { width, height };
}

function thumbnail(field, value, where) {
  const { width, height } = sizes(field, where);
  return h('img', {
    class: `file-thumb file-thumb-${where}`, src: fileUrl(field, value), alt: field.caption,
    width: String(width), height: String(height), loading: 'lazy', decoding: 'async',
  });
}

/** Fills a grid cell of a file or image field. */
export function fileCell(field, row, td) {
  const value = row[field.name];
  if (!value) return td;
  if (field.type === 'image') {
    td.append(thumbnail(field, value, 'view'));
  } else {
    td.append(h('a', {
      href: fileUrl(field, value), download: originalName(value), class: 'file-link',
      onclick: (e) => e.stopPropagation(),
    }, originalName(value)));
    td.title = originalName(value);
  }
  return td;
}

/** Uploads `file` for `field` (of the record `id`, when it exists); resolves to the reply's file. */
export function upload(field, file, id, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const query = id === null || id === undefined ? '' : `?id=${encodeURIComponent(id)}`;
    xhr.open('POST', `/api/items/${encodeURIComponent(field.item.name)}/upload/${encodeURIComponent(field.name)}${query}`);
    xhr.withCredentials = true;
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The server cannot be reached. Check the connection and try again.'));
    xhr.onload = () => {
      const data = xhr.response;
      if (xhr.status === 200 && data && data.file) {
        resolve(data.file);
        return;
      }
      const e = data && data.error ? data.error : { code: 'internal', message: `The server answered ${xhr.status}.` };
      reject(new ApiError(xhr.status, e.code, e.message, e.fields || []));
    };
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

function formatSize(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  if (bytes >= 1 << 10) return `${Math.round(bytes / (1 << 10))} KB`;
  return `${bytes} bytes`;
}

/**
 * The edit form's input of a file or image field: `{el, focusTarget, get, set, wide}` as
 * inputs.js's. `editable` false shows the file (or image) without the buttons.
 */
export function fileInput(field, { id, value, row, editable, describedBy, onChange, report = () => {} }) {
  let current = value || null;
  let busy = false;
  const recordId = () => (row && row[field.item.pk] !== undefined && row[field.item.pk] !== null ? row[field.item.pk] : null);
  const preview = h('div', { class: `file-preview file-preview-${field.type}` });
  const progress = h('progress', { class: 'file-progress', max: '1', value: '0', hidden: true, 'aria-label': `Uploading ${field.caption}` });
  const picker = h('input', {
    type: 'file', class: 'file-picker', tabindex: '-1', 'aria-hidden': 'true',
    accept: field.type === 'image' ? (field.file && field.file.accept) || 'image/*' : (field.file && field.file.accept) || null,
  });
  const uploadButton = h('button', {
    type: 'button', id, class: 'btn btn-small', 'aria-describedby': describedBy,
    onclick: () => picker.click(),
  }, current ? 'Replace…' : 'Upload…');
  const clearButton = h('button', {
    type: 'button', class: 'btn btn-small btn-ghost', onclick: () => setValue(null),
    'aria-label': `Clear ${field.caption}`,
  }, 'Clear');

  const render = () => {
    clear(preview);
    if (current) {
      if (field.type === 'image') {
        preview.append(thumbnail(field, current, 'edit'));
      } else {
        preview.append(h('a', { href: fileUrl(field, current), download: originalName(current), class: 'file-link' }, originalName(current)));
      }
    } else {
      preview.append(h('span', { class: 'file-empty' }, field.type === 'image'
        ? (editable ? 'No image: drop one here' : 'No image')
        : (editable ? 'No file: drop one here' : 'No file')));
    }
    uploadButton.textContent = current ? 'Replace…' : 'Upload…';
    clearButton.hidden = !current;
  };
  const setValue = (v) => {
    current = v || null;
    report(null);
    render();
    if (onChange) onChange();
  };

  const send = async (file) => {
    if (!file || busy) return;
    const max = field.file && field.file.max_size;
    if (max && file.size > max) {
      report(`The file is ${formatSize(file.size)}; ${field.caption} takes at most ${formatSize(max)}`);
      return;
    }
    busy = true;
    wrap.setAttribute('aria-busy', 'true');
    progress.hidden = false;
    progress.value = 0;
    try {
      const uploaded = await upload(field, file, recordId(), (p) => { progress.value = p; });
      setValue(uploaded.value);
    } catch (err) {
      report(err.message);
    } finally {
      busy = false;
      wrap.removeAttribute('aria-busy');
      progress.hidden = true;
      picker.value = '';
    }
  };
  picker.addEventListener('change', () => send(picker.files[0]));

  const wrap = h('div', { class: `file-input file-input-${field.type}${editable ? '' : ' is-readonly'}`, dataset: { field: field.name } },
    preview,
    editable ? h('div', { class: 'file-actions' }, uploadButton, clearButton, picker, progress) : null);
  if (editable) {
    wrap.addEventListener('dragover', (e) => {
      e.preventDefault();
      wrap.classList.add('is-dragging');
    });
    wrap.addEventListener('dragleave', () => wrap.classList.remove('is-dragging'));
    wrap.addEventListener('drop', (e) => {
      e.preventDefault();
      wrap.classList.remove('is-dragging');
      if (e.dataTransfer && e.dataTransfer.files.length) send(e.dataTransfer.files[0]);
    });
    if (field.type === 'image') {
      preview.addEventListener('dblclick', (e) => (ctrl(e) ? setValue(null) : picker.click()));
    }
  }
  render();
  return {
    el: wrap,
    focusTarget: editable ? uploadButton : null,
    readOnly: !editable,
    wide: true,
    get: () => (busy ? { error: 'The file is still uploading' } : { value: current }),
    set: (v) => {
      current = v || null;
      render();
    },
  };
}

// Reports and exports run as jobs on the server: starting one answers at once with the job, and
// this follows it — a dialog with its progress (bands printed, rows written of how many, LibreOffice
// converting) and a Cancel button — then downloads the file it made (GET /api/jobs/{id}/file).

import { h } from './dom.js';
import { Modal, showError, toast } from './dialog.js';
import { formatNumber } from './format.js';
import * as api from './api.js';

const POLL_MS = 250;

/** `POST /api/reports/{report}/print` → the job. */
export function print(report, params, format) {
  return api.call('POST', `/api/reports/${encodeURIComponent(report)}/print`, { params, format });
}

/** `POST /api/items/{item}/export` → the job. */
export function exportRows(item, format, open) {
  return api.call('POST', `/api/items/${encodeURIComponent(item)}/export`, { format, open });
}

function status(job) {
  return api.call('GET', `/api/jobs/${encodeURIComponent(job.id)}`);
}

function cancel(job) {
  return api.call('POST', `/api/jobs/${encodeURIComponent(job.id)}/cancel`);
}

/** Saves the job's file: the browser downloads it with the session's cookie. */
export function download(job) {
  const a = h('a', { href: `/api/jobs/${encodeURIComponent(job.id)}/file`, download: job.file_name || '', class: 'job-download-link' });
  document.body.append(a);
  a.click();
  a.remove();
}

function progressText(job) {
  if (job.state === 'queued') return 'Waiting for the server…';
  if (job.state === 'converting') return 'Converting…';
  if (job.kind === 'export') {
    return job.total === null
      ? 'Counting rows…'
      : `${formatNumber(job.done, 'integer')} of ${formatNumber(job.total, 'integer')} rows`;
  }
  return job.done === 1 ? '1 band printed' : `${formatNumber(job.done, 'integer')} bands printed`;
}

/**
 * Shows `job`'s progress until it ends; downloads its file when it is done. Resolves to the
 * final job (null when it could not be followed).
 */
export function follow(job, { title }) {
  return new Promise((resolve) => {
    let current = job;
    let finished = false;
    let timer = null;
    const text = h('p', { class: 'job-status', role: 'status' }, progressText(job));
    const bar = h('progress', { class: 'job-bar', max: '1', 'aria-label': title });
    const stop = h('button', { type: 'button', class: 'btn', onclick: () => cancelJob() }, 'Cancel');
    const modal = new Modal({
      title,
      className: 'modal-small modal-job',
      beforeClose: async () => {
        if (!finished) await cancelJob();
        return true;
      },
      onClosed: () => {
        clearTimeout(timer);
        resolve(current);
      },
    });
    modal.body.append(text, bar);
    modal.footer.append(stop);
    modal.el.dataset.job = job.id;

    const render = () => {
      text.textContent = progressText(current);
      modal.el.dataset.state = current.state;
      if (current.kind === 'export' && current.total) {
        bar.max = current.total;
        bar.value = current.done;
      } else {
        bar.removeAttribute('value');
      }
    };

    async function cancelJob() {
      if (finished) return;
      stop.disabled = true;
      text.textContent = 'Cancelling…';
      try {
        current = await cancel(current);
      } catch (err) {
        showError(err);
      }
    }

    const poll = async () => {
      try {
        current = await status(current);
      } catch (err) {
        finished = true;
        modal.close();
        showError(err, `${title}: cannot follow the job`);
        return;
      }
      render();
      if (current.state === 'done') {
        finished = true;
        download(current);
        modal.close();
        toast(`${current.file_name} is ready`, { kind: 'success' });
      } else if (current.state === 'failed') {
        finished = true;
        modal.close();
        showError(current.error || { message: 'The job failed.' }, `${title} failed`);
      } else if (current.state === 'cancelled') {
        finished = true;
        modal.close();
        toast(`${title}: cancelled`);
      } else {
        timer = setTimeout(poll, POLL_MS);
      }
    };
    render();
    modal.open();
    stop.focus();
    timer = setTimeout(poll, POLL_MS);
  });
}

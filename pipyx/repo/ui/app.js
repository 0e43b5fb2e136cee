// The pipyx repo admin page: codebases, their draft files, publishing, versions and the instances that run them,
// all through the repo's own API (docs/repo-api.md). Plain DOM code: text is always set with textContent or
// append(string), never as HTML, because file contents, paths and worker errors come from elsewhere.
'use strict';

const TOKEN_KEY = 'pipyx-repo-token';   // sessionStorage: the token goes when the tab closes, not to disk for good
const REFRESH_MS = 2000;                 // how often the instance list is re-read
const STALE_S = 30;                      // workers report every 10 s: three missed reports make one "stale"

const state = {
  codebases: [],     // GET /api/v1/codebases
  cb: null,          // the selected codebase: GET /api/v1/codebases/{name}
  versions: [],      // its versions, oldest first
  open: null,        // the file in the editor: {path, text (as saved), binary}
};

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// -- talking to the API ------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const enc = encodeURIComponent;
const encPath = (path) => path.split('/').map(enc).join('/');
const cbUrl = (name) => '/api/v1/codebases/' + enc(name);
const fileUrl = (name, path) => cbUrl(name) + '/files/' + encPath(path);

function token() { return $('#token').value.trim(); }

// One request. Writes carry the token. Any answer but 2xx throws an ApiError whose message says what failed and
// why, in words a person can act on (a missing or refused token especially).
async function api(method, url, {json, body, raw} = {}) {
  const headers = {};
  if (method !== 'GET' && method !== 'HEAD' && token()) headers['Authorization'] = 'Bearer ' + token();
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/octet-stream';
  }
  let res;
  try {
    res = await fetch(url, {method, headers, body, cache: 'no-store'});
  } catch (e) {
    throw new ApiError(0, `${method} ${url}: the repo server did not answer (${e.message})`);
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let reason = text.trim() || res.statusText;
    try { reason = JSON.parse(text).error || reason; } catch (e) { /* not JSON: keep the text */ }
    const what = `${method} ${url}: ${res.status} ${reason}`;
    if (res.status === 401) throw new ApiError(401, `This needs the repo token: enter it in the Token field. (${what})`);
    if (res.status === 403) throw new ApiError(403, `The repo refused the token: check the Token field. (${what})`);
    throw new ApiError(res.status, what);
  }
  if (res.status === 204) return null;
  return raw ? new Uint8Array(await res.arrayBuffer()) : res.json();
}

// -- messages ----------------------------------------------------------------------------------------------------

function show(text, kind) {
  $('#message-text').textContent = text;
  $('#message').className = kind || 'error';
  $('#message').hidden = false;
}

function clearMessage() { $('#message').hidden = true; }

// Runs a user action: clears the last message, disables the button meanwhile, and shows whatever goes wrong.
async function act(fn, button) {
  clearMessage();
  if (button) button.disabled = true;
  try {
    await fn();
  } catch (e) {
    console.error(e);
    show(e instanceof ApiError ? e.message : 'Error: ' + e.message, 'error');
  } finally {
    if (button) button.disabled = false;
    renderEditorState();      // re-derives which editor buttons apply (a finally must not leave Save enabled)
  }
}

function on(sel, event, fn) {
  $(sel).addEventListener(event, (ev) => {
    if (event === 'submit') ev.preventDefault();
    act(fn, event === 'submit' ? ev.target.querySelector('button[type=submit]') : ev.currentTarget);
  });
}

// -- codebases ---------------------------------------------------------------------------------------------------

async function loadCodebases() {
  state.codebases = await api('GET', '/api/v1/codebases');
  renderCodebases();
}

function renderCodebases() {
  const list = $('#codebases');
  list.replaceChildren();
  for (const c of state.codebases) {
    const selected = state.cb && state.cb.name === c.name;
    list.append(el('li', null, el('button', {
      type: 'button', class: 'codebase' + (selected ? ' selected' : ''), dataset: {name: c.name},
      onclick: () => act(() => selectCodebase(c.name)),
    }, el('span', {class: 'name'}, c.name),
       el('span', {class: 'meta'}, (c.version ? 'v' + c.version : 'unpublished') + (c.base ? ' · ' + c.base : '')))));
  }
  if (!state.codebases.length) list.append(el('li', {class: 'hint'}, 'No codebases yet.'));
  const base = $('#new-base');
  const keep = base.value;
  base.replaceChildren(el('option', {value: ''}, '(none)'),
    ...state.codebases.map((c) => el('option', {value: c.name}, c.name)));
  base.value = state.codebases.some((c) => c.name === keep) ? keep : '';
}

async function createCodebase() {
  const name = $('#new-name').value.trim();
  const base = $('#new-base').value;
  if (!discardOk()) return;
  await api('POST', '/api/v1/codebases', {json: base ? {name, base} : {name}});
  $('#new-name').value = '';
  await selectCodebase(name, true);
  show(`Created codebase ${name}` + (base ? ` derived from ${base}.` : '.'), 'ok');
}

// Shows another codebase (asking first if the editor has unsaved changes).
async function selectCodebase(name, asked) {
  if (!asked && !discardOk()) return;
  closeFile();
  state.cb = null;
  for (const sel of ['#diff-from', '#diff-to']) delete $(sel).dataset.picked;
  $('#diff-result').replaceChildren();
  await loadCodebase(name);
}

// Re-reads the selected codebase, its versions and the list (version numbers and the draft flag change).
async function loadCodebase(name) {
  const [cb, versions] = await Promise.all([api('GET', cbUrl(name)), api('GET', cbUrl(name) + '/versions'),
                                            loadCodebases()]);
  state.cb = cb;
  state.versions = versions;
  renderCodebases();
  renderCodebase();
}

function renderCodebase() {
  const cb = state.cb;
  $('#codebase').hidden = !cb;
  $('#no-codebase').hidden = !!cb;
  if (!cb) return;
  $('#cb-title').textContent = cb.name;
  const facts = [['Derived from', cb.base || '—'], ['Entry', cb.entry || '(none: make a file the entry)'],
                 ['Latest version', cb.version ? String(cb.version) : 'none published'],
                 ['Draft', cb.draft ? 'has unpublished changes' : 'same as the latest version']];
  $('#cb-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
  renderTree();
  renderVersions();
  renderEditorState();
}

async function publish() {
  const cb = state.cb;
  if (isDirty()) throw new Error(`${state.open.path} has unsaved changes: save them first (publishing takes the saved draft).`);
  const {version} = await api('POST', cbUrl(cb.name) + '/publish');
  await loadCodebase(cb.name);
  show(`Published ${cb.name} version ${version}.`, 'ok');
}

// -- the file tree -----------------------------------------------------------------------------------------------

function renderTree() {
  const root = {dirs: new Map(), files: []};
  for (const path of state.cb.files) {
    let node = root;
    for (const dir of path.split('/').slice(0, -1)) {
      if (!node.dirs.has(dir)) node.dirs.set(dir, {dirs: new Map(), files: []});
      node = node.dirs.get(dir);
    }
    node.files.push(path);
  }
  $('#files').replaceChildren(state.cb.files.length ? treeList(root) : el('p', {class: 'hint'}, 'No files yet.'));
}

function treeList(node) {
  const ul = el('ul');
  for (const name of [...node.dirs.keys()].sort()) {
    ul.append(el('li', null, el('details', {open: true}, el('summary', null, name + '/'),
                                treeList(node.dirs.get(name)))));
  }
  for (const path of node.files.sort()) {
    const selected = state.open && state.open.path === path;
    ul.append(el('li', null, el('button', {
      type: 'button', class: 'file' + (selected ? ' selected' : ''), dataset: {path}, title: path,
      onclick: () => act(() => openFile(path)),
    }, path.split('/').pop(), path === state.cb.entry ? el('span', {class: 'badge'}, 'entry') : null)));
  }
  return ul;
}

async function createFile() {
  const path = $('#new-file-path').value.trim();
  if (state.cb.files.includes(path)) throw new Error(`${path} already exists: open it from the tree.`);
  if (!discardOk()) return;
  await api('PUT', fileUrl(state.cb.name, path), {body: new Uint8Array(0)});
  $('#new-file-path').value = '';
  await loadCodebase(state.cb.name);
  await openFile(path, true);
}

// -- the editor --------------------------------------------------------------------------------------------------

function decodeText(bytes) {
  return new TextDecoder('utf-8', {fatal: true}).decode(bytes);
}

async function openFile(path, asked) {
  if (!asked && !discardOk()) return;
  const bytes = await api('GET', fileUrl(state.cb.name, path), {raw: true});
  let text, binary = false;
  try {
    text = decodeText(bytes);
  } catch (e) {
    // Saving a lossy decoding would corrupt the file: show what it is and keep it read-only.
    text = `(${bytes.length} bytes that are not UTF-8 text: not editable here)`;
    binary = true;
  }
  state.open = {path, text, binary};
  $('#editor').value = text;
  renderTree();
  renderEditorState();
  $('#editor').focus();
}

function closeFile() {
  state.open = null;
  $('#editor').value = '';
  renderEditorState();
}

const isDirty = () => !!state.open && !state.open.binary && $('#editor').value !== state.open.text;

function discardOk() {
  return !isDirty() || confirm(`Discard the unsaved changes to ${state.open.path}?`);
}

function renderEditorState() {
  const o = state.open;
  $('#editor-path').textContent = o ? o.path : 'No file open';
  $('#editor').disabled = !o;
  $('#editor').readOnly = !!(o && o.binary);
  $('#dirty').hidden = !isDirty();
  $('#save').disabled = !o || o.binary;
  $('#set-entry').disabled = !o || !state.cb || state.cb.entry === o.path;
  $('#delete-file').disabled = !o;
}

async function saveFile() {
  const o = state.open;
  if (!o || o.binary) return;
  const text = $('#editor').value;
  await api('PUT', fileUrl(state.cb.name, o.path), {body: new TextEncoder().encode(text)});
  o.text = text;
  await loadCodebase(state.cb.name);
  show(`Saved ${o.path} to the draft of ${state.cb.name}; publish to make it a version.`, 'ok');
}

async function setEntry() {
  const path = state.open.path;
  await api('PUT', cbUrl(state.cb.name) + '/entry', {json: {path}});
  await loadCodebase(state.cb.name);
  show(`${path} is now the entry of ${state.cb.name} (in the draft; publish to make it a version).`, 'ok');
}

async function deleteFile() {
  const {path} = state.open;
  if (!confirm(`Delete ${path} from the draft of ${state.cb.name}?`)) return;
  await api('DELETE', fileUrl(state.cb.name, path));
  closeFile();
  await loadCodebase(state.cb.name);
  show(`Deleted ${path} from the draft.`, 'ok');
}

// -- versions and diffs ------------------------------------------------------------------------------------------

function when(seconds) { return new Date(seconds * 1000).toLocaleString(); }

function renderVersions() {
  const rows = [...state.versions].reverse().map((v) => el('tr', {dataset: {version: v.version}},
    el('td', null, String(v.version)), el('td', null, when(v.published)), el('td', {class: 'path'}, v.entry)));
  $('#versions').replaceChildren(...(rows.length ? rows
    : [el('tr', null, el('td', {colspan: 3, class: 'hint'}, 'Nothing published yet.'))]));
  // The choices: 0 (empty), each version, the draft. By default: the previous version against the latest one,
  // or the latest against the draft when the draft has changes.
  const choices = [['0', '0 (empty)'], ...state.versions.map((v) => [String(v.version), 'v' + v.version]),
                   ['draft', 'draft']];
  const latest = String(state.cb.version);
  const prev = String(Math.max(0, state.cb.version - 1));
  fillSelect($('#diff-from'), choices, state.cb.draft ? latest : prev);
  fillSelect($('#diff-to'), choices, state.cb.draft ? 'draft' : latest);
}

// Keeps a version the user picked (if it still exists); otherwise follows the default as new versions come.
function fillSelect(select, choices, fallback) {
  const keep = select.dataset.picked && select.value;
  select.replaceChildren(...choices.map(([value, label]) => el('option', {value}, label)));
  select.value = choices.some(([value]) => value === keep) ? keep : fallback;
}

async function showDiff() {
  const name = state.cb.name, from = $('#diff-from').value, to = $('#diff-to').value;
  const d = await api('GET', `${cbUrl(name)}/diff?from=${enc(from)}&to=${enc(to)}`);
  const label = (v) => v === 'draft' ? 'the draft' : v === '0' ? 'empty' : 'v' + v;
  const out = $('#diff-result');
  out.replaceChildren(el('p', null, `From ${label(from)} to ${label(to)}: ${d.added.length} added, ` +
                                    `${d.removed.length} removed, ${d.changed.length} changed.`));
  for (const [kind, paths] of [['added', d.added], ['removed', d.removed], ['changed', d.changed]]) {
    for (const path of paths) {
      const details = el('details', {dataset: {path, kind}},
        el('summary', null, el('span', {class: 'kind'}, kind), path));
      // The contents are fetched when a file is opened, not for every file of a large diff.
      details.addEventListener('toggle', () => {
        if (details.open && !details.dataset.loaded) {
          details.dataset.loaded = '1';
          act(() => fileDiff(details, name, path, kind === 'added' ? null : from, kind === 'removed' ? null : to));
        }
      });
      out.append(details);
    }
  }
}

// A file's contents at a version (through the worker API), in the draft, or null for "not there".
async function contentAt(name, version, path) {
  if (version === null || version === '0') return null;
  const url = version === 'draft' ? fileUrl(name, path) : `/repo/${enc(name)}/${encPath(path)}?version=${version}`;
  const bytes = await api('GET', url, {raw: true});
  try { return decodeText(bytes); } catch (e) { return `(${bytes.length} bytes, not UTF-8 text)`; }
}

async function fileDiff(details, name, path, from, to) {
  const [a, b] = await Promise.all([contentAt(name, from, path), contentAt(name, to, path)]);
  details.append(renderLines(lineDiff(lines(a), lines(b))));
}

// A text's lines; the newline that ends the last line does not start another one.
function lines(text) {
  if (text === null || text === '') return [];
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

// Line diff: common head and tail trimmed, then a longest common subsequence over what is left (quadratic, so a
// very large middle is shown as all removed then all added instead).
function lineDiff(x, y) {
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const a = x.slice(head, x.length - tail), b = y.slice(head, y.length - tail);
  const out = x.slice(0, head).map((l) => [' ', l]);
  if (a.length * b.length > 4e6) {
    out.push(...a.map((l) => ['-', l]), ...b.map((l) => ['+', l]));
  } else {
    const n = a.length, m = b.length;
    const lcs = Array.from({length: n + 1}, () => new Uint32Array(m + 1));   // lcs[i][j]: of a[i:] and b[j:]
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) { out.push([' ', a[i]]); i++; j++; }
      else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(['-', a[i++]]);
      else out.push(['+', b[j++]]);
    }
    while (i < n) out.push(['-', a[i++]]);
    while (j < m) out.push(['+', b[j++]]);
  }
  out.push(...x.slice(x.length - tail).map((l) => [' ', l]));
  return out;
}

// Changed lines with three lines of context; longer unchanged runs fold into one "… n unchanged lines".
function renderLines(lines) {
  const CONTEXT = 3;
  const near = lines.map(() => false);
  lines.forEach(([op], k) => {
    if (op !== ' ') for (let i = Math.max(0, k - CONTEXT); i <= Math.min(lines.length - 1, k + CONTEXT); i++) near[i] = true;
  });
  const pre = el('pre', {class: 'diff'});
  let skipped = 0;
  const flush = () => {
    if (skipped) pre.append(el('span', {class: 'skip'}, `… ${skipped} unchanged line${skipped > 1 ? 's' : ''}`));
    skipped = 0;
  };
  lines.forEach(([op, text], k) => {
    if (!near[k]) { skipped++; return; }
    flush();
    pre.append(el('span', {class: op === '+' ? 'add' : op === '-' ? 'del' : 'ctx'}, op + ' ' + text));
  });
  flush();
  if (!lines.some(([op]) => op !== ' ')) pre.append(el('span', {class: 'skip'}, '(same text)'));
  return pre;
}

// -- instances ---------------------------------------------------------------------------------------------------

function ago(seconds) {
  // The browser's clock against the repo's: close enough on one network, and only used for display.
  const s = Math.max(0, Math.round(Date.now() / 1000 - seconds));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : when(seconds);
}

function renderInstances(list) {
  const now = Date.now() / 1000;
  const rows = list.map((i) => el('tr', {dataset: {id: i.id}},
    el('td', {class: 'col-id path'}, i.id),
    el('td', {class: 'col-codebase'}, i.codebase ?? ''),
    el('td', {class: 'col-version'}, i.version == null ? '—' : String(i.version)),
    el('td', {class: 'col-address path'}, i.address ?? ''),
    el('td', {class: 'col-status status-' + i.status}, i.status ?? ''),
    el('td', {class: 'col-error error-text'}, i.error ?? ''),
    el('td', {class: 'col-last-seen' + (now - i.last_seen > STALE_S ? ' stale' : ''), title: when(i.last_seen)},
       ago(i.last_seen))));
  $('#instances').replaceChildren(...(rows.length ? rows
    : [el('tr', null, el('td', {colspan: 7, class: 'hint'}, 'No worker has reported yet.'))]));
}

// Polls on its own: a failure is shown next to the list (not in the banner, which belongs to the user's actions)
// and the next round tries again.
async function refreshInstances() {
  const status = $('#instances-status');
  try {
    renderInstances(await api('GET', '/api/v1/instances'));
    status.textContent = 'updated ' + new Date().toLocaleTimeString();
    status.className = 'hint';
  } catch (e) {
    status.textContent = 'Could not refresh: ' + e.message;
    status.className = 'error-text';
  }
  setTimeout(refreshInstances, REFRESH_MS);
}

// -- wiring ------------------------------------------------------------------------------------------------------

function init() {
  const tokenInput = $('#token');
  tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || '';
  tokenInput.addEventListener('input', () => sessionStorage.setItem(TOKEN_KEY, tokenInput.value));
  $('#forget-token').addEventListener('click', () => {
    tokenInput.value = '';
    sessionStorage.removeItem(TOKEN_KEY);
  });
  $('#message-close').addEventListener('click', clearMessage);

  on('#create-codebase', 'submit', createCodebase);
  on('#create-file', 'submit', createFile);
  on('#save', 'click', saveFile);
  on('#set-entry', 'click', setEntry);
  on('#delete-file', 'click', deleteFile);
  on('#publish', 'click', publish);
  on('#diff-form', 'submit', showDiff);
  for (const sel of ['#diff-from', '#diff-to']) $(sel).addEventListener('change', (ev) => { ev.target.dataset.picked = '1'; });
  const editor = $('#editor');
  editor.addEventListener('input', () => { $('#dirty').hidden = !isDirty(); });
  editor.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 's') {
      ev.preventDefault();
      act(saveFile, $('#save'));
    }
  });
  window.addEventListener('beforeunload', (ev) => { if (isDirty()) ev.preventDefault(); });

  act(loadCodebases);
  refreshInstances();
}

init();

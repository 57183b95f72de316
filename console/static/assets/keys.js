'use strict';
// The "API Keys" page. Every value from the server reaches the page through
// textContent or an input's value, never as HTML. A generated key lives only
// in the key window's input and is wiped when the window closes.
(() => {
  const $ = (id) => document.getElementById(id);
  let me = null;
  let panelKind = 'user';

  async function api(method, path, body) {
    const headers = {};
    if (method !== 'GET') headers['X-CSRF-Token'] = me ? me.csrf_token : '';
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    if (response.status === 401 && data.signed_out) {
      window.location.assign('/login');
      throw new Error(data.error);
    }
    if (!response.ok) throw new Error(data.error || 'The request failed.');
    return data;
  }

  function showMessage(text, kind) {
    const m = $('message');
    m.textContent = text;
    m.className = 'message ' + (kind || 'error');
    m.hidden = false;
  }
  function clearMessage() { $('message').hidden = true; }

  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text === null || text === undefined ? '—' : text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function renderTable(tableId, emptyId, keys, ownerOf) {
    const tbody = $(tableId).querySelector('tbody');
    tbody.replaceChildren();
    for (const k of keys) {
      const tr = document.createElement('tr');
      tr.dataset.keyId = k.key_id;
      cell(tr, k.name, 'name');
      cell(tr, k.hint, 'hint');
      cell(tr, k.org_name, 'org');
      cell(tr, ownerOf(k), 'owner');
      cell(tr, k.created_at, 'created');
      cell(tr, k.expires_at || 'Never', 'expires');
      cell(tr, k.last_used_at || 'Never', 'last-used');
      const state = cell(tr, k.disabled_at ? 'Disabled' : 'Active', 'state');
      if (k.disabled_at) state.title = 'Disabled since ' + k.disabled_at;
      const action = cell(tr, '', 'action');
      const rotate = document.createElement('button');
      rotate.type = 'button';
      rotate.className = 'rotate';
      rotate.textContent = 'Rotate';
      rotate.addEventListener('click', () => rotateKey(k));
      const toggle = document.createElement('button');
      toggle.type = 'button';
      toggle.className = 'toggle';
      toggle.textContent = k.disabled_at ? 'Enable' : 'Disable';
      toggle.addEventListener('click', () => setDisabled(k, !k.disabled_at));
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'danger delete';
      del.textContent = 'Delete';
      del.dataset.keyId = k.key_id;
      del.addEventListener('click', () => deleteKey(k));
      action.replaceChildren(rotate, toggle, del);
      tbody.appendChild(tr);
    }
    $(tableId).hidden = keys.length === 0;
    $(emptyId).hidden = keys.length !== 0;
  }

  async function loadKeys() {
    const data = await api('GET', '/app/keys');
    renderTable('user-keys', 'user-keys-empty', data.keys.filter((k) => k.kind === 'user'),
      (k) => k.owner_email || '(deleted user)');
    renderTable('org-keys', 'org-keys-empty', data.keys.filter((k) => k.kind === 'organization'),
      (k) => k.created_by);
  }

  function selectTab(which) {
    const user = which === 'user';
    $('tab-user').setAttribute('aria-selected', String(user));
    $('tab-org').setAttribute('aria-selected', String(!user));
    $('user-keys-panel').hidden = !user;
    $('org-keys-panel').hidden = user;
  }

  function openPanel(kind) {
    clearMessage();
    panelKind = kind;
    const orgs = kind === 'user' ? me.user_key_orgs : me.org_key_orgs;
    $('panel-title').textContent = kind === 'user' ? 'Generate New User Key' : 'Generate New Organization Key';
    const select = $('panel-org');
    select.replaceChildren();
    const prompt = document.createElement('option');
    prompt.value = '';
    prompt.textContent = orgs.length ? 'Select an organization' : 'You belong to no organization';
    select.appendChild(prompt);
    for (const o of orgs) {
      const opt = document.createElement('option');
      opt.value = o.id;
      opt.textContent = o.name;
      select.appendChild(opt);
    }
    if (orgs.length === 1) select.value = orgs[0].id;
    $('panel-name').value = '';
    $('panel-expires').value = '';
    $('panel-error').hidden = true;
    $('panel').hidden = false;
    $('panel-backdrop').hidden = false;
    $('panel-name').focus();
  }

  function closePanel() {
    $('panel').hidden = true;
    $('panel-backdrop').hidden = true;
  }

  async function generate(event) {
    event.preventDefault();
    const error = $('panel-error');
    error.hidden = true;
    if (!$('panel-org').value) { error.textContent = 'Select an organization.'; error.hidden = false; return; }
    if (!$('panel-name').value.trim()) { error.textContent = 'Enter a name for the key.'; error.hidden = false; return; }
    $('panel-generate').disabled = true;
    try {
      const result = await api('POST', '/app/keys', {
        kind: panelKind === 'user' ? 'user' : 'organization',
        org_id: $('panel-org').value,
        name: $('panel-name').value,
        expires_on: $('panel-expires').value,
      });
      const name = $('panel-name').value;
      closePanel();
      showKeyWindow(name, result.api_key);
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    } finally {
      $('panel-generate').disabled = false;
    }
  }

  function showKeyWindow(name, apiKey, kind) {
    const userKey = (kind || panelKind) === 'user';
    $('key-window-title').textContent = userKey ? 'Your new user key' : 'Your new organization key';
    $('key-window-name').textContent = name;
    $('key-value').value = apiKey;
    $('key-copied').hidden = true;
    $('key-window').showModal();
    $('key-value').select();
  }

  async function copyKey() {
    const input = $('key-value');
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (e) {
      input.select();
      document.execCommand('copy');
    }
    $('key-copied').hidden = false;
  }

  function closeKeyWindow() {
    $('key-value').value = '';
    if ($('key-window').open) $('key-window').close();
    loadKeys().catch((e) => showMessage(e.message));
  }

  async function deleteKey(k) {
    clearMessage();
    const ok = window.confirm('Delete the key "' + k.name + '" (' + k.hint + ')?\n\n' +
      'This action is permanent: the key stops working at once and cannot be restored.');
    if (!ok) return;
    try {
      await api('DELETE', '/app/keys/' + encodeURIComponent(k.key_id));
      showMessage('The key "' + k.name + '" was deleted.', 'info');
    } catch (e) {
      showMessage(e.message);
    }
    await loadKeys().catch((e) => showMessage(e.message));
  }

  // Rotation revokes the old key at once (grace 0); the new one is shown once
  // in the same window as a generated key.
  async function rotateKey(k) {
    clearMessage();
    const ok = window.confirm('Rotate the key "' + k.name + '" (' + k.hint + ')?\n\n' +
      'A new key replaces it. The old key stops working at once.');
    if (!ok) return;
    try {
      const result = await api('POST', '/app/keys/' + encodeURIComponent(k.key_id) + '/rotate');
      showKeyWindow(k.name, result.api_key, k.kind);
    } catch (e) {
      showMessage(e.message);
      await loadKeys().catch((e2) => showMessage(e2.message));
    }
  }

  async function setDisabled(k, disable) {
    clearMessage();
    try {
      await api('POST', '/app/keys/' + encodeURIComponent(k.key_id) + (disable ? '/disable' : '/enable'));
      showMessage('The key "' + k.name + '" was ' + (disable ? 'disabled.' : 'enabled.'), 'info');
    } catch (e) {
      showMessage(e.message);
    }
    await loadKeys().catch((e) => showMessage(e.message));
  }

  async function logout() {
    try { await api('POST', '/logout'); } catch (e) { /* signed out either way */ }
    window.location.assign('/login');
  }

  async function start() {
    $('tab-user').addEventListener('click', () => selectTab('user'));
    $('tab-org').addEventListener('click', () => selectTab('org'));
    $('new-user-key').addEventListener('click', () => openPanel('user'));
    $('new-org-key').addEventListener('click', () => openPanel('organization'));
    $('panel-cancel').addEventListener('click', closePanel);
    $('panel-backdrop').addEventListener('click', closePanel);
    $('panel-form').addEventListener('submit', generate);
    $('key-copy').addEventListener('click', copyKey);
    $('key-close').addEventListener('click', closeKeyWindow);
    $('key-window').addEventListener('cancel', (e) => { e.preventDefault(); closeKeyWindow(); });
    $('logout').addEventListener('click', logout);
    try {
      me = await api('GET', '/app/me');
      $('account-email').textContent = me.email;
      $('account-role').textContent = me.account_role;
      // The extension refuses anyone else; the button follows the same rule.
      $('new-org-key').hidden = me.org_key_orgs.length === 0;
      $('org-key-note').hidden = me.org_key_orgs.length !== 0;
      await loadKeys();
      document.body.dataset.ready = 'true';
    } catch (e) {
      showMessage(e.message);
    }
  }
  start();
})();

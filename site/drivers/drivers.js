// Driver browser for driver/site/. Reads index.json (driver versions) and <version>.json, and
// filters in the page. Versions can hold 100,000 drivers, so: one lowercase search string per
// driver computed once per load, debounced typing, and only PAGE rows in the DOM at a time.
// Data from the json files only ever reaches the page through textContent and Option().

(() => {
  const PAGE = 200;
  const DEBOUNCE_MS = 120;
  const FILTERS = ['arch', 'kind', 'target'];

  const el = (id) => document.getElementById(id);
  const ui = {
    app: el('app'),
    lib: el('lib'),
    arch: el('arch'),
    kind: el('kind'),
    target: el('target'),
    search: el('search'),
    status: el('status'),
    rows: el('rows'),
    more: el('more'),
    links: el('links'),
  };

  const state = { lib: '', drivers: [], haystack: [], matches: [], shown: 0, loads: 0 };
  const number = new Intl.NumberFormat('en');

  function setStatus(text, extra) {
    ui.status.textContent = text;
    for (const [k, v] of Object.entries(extra || {})) ui.status.dataset[k] = String(v);
  }

  function jsonUrl(name) {
    return new URL(`${encodeURIComponent(name)}.json`, location.href);
  }

  async function fetchJson(url) {
    const res = await fetch(url, { cache: 'no-cache' });
    if (!res.ok) throw new Error(`${url.pathname}: HTTP ${res.status}`);
    return res.json();
  }

  /** Replaces a select's options (keeping the first, "any", when asked) without any HTML parsing. */
  function fillSelect(select, values, keepFirst, wanted) {
    const first = keepFirst ? select.options[0] : null;
    select.replaceChildren();
    if (first) select.append(first);
    for (const v of values) select.append(new Option(String(v), String(v)));
    if (wanted && !values.includes(wanted)) select.append(new Option(String(wanted), String(wanted)));
    select.value = wanted || (keepFirst ? '' : String(values[0] ?? ''));
  }

  /** Only http(s) links from the data become hrefs: a `javascript:` download would run on click. */
  function safeHref(raw) {
    try {
      const u = new URL(String(raw), location.href);
      return u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'file:' ? u.href : null;
    } catch {
      return null;
    }
  }

  function syncUrl() {
    const p = new URLSearchParams();
    if (state.lib) p.set('lib', state.lib);
    for (const f of FILTERS) if (ui[f].value) p.set(f, ui[f].value);
    if (ui.search.value.trim()) p.set('search', ui.search.value.trim());
    const q = p.toString();
    history.replaceState(null, '', q ? `?${q}` : location.pathname);
  }

  function filter() {
    const started = performance.now();
    const want = {};
    for (const f of FILTERS) want[f] = ui[f].value;
    const terms = ui.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const { drivers, haystack } = state;
    const matches = [];
    for (let i = 0; i < drivers.length; i++) {
      const d = drivers[i];
      if (want.arch && d.arch !== want.arch) continue;
      if (want.kind && d.kind !== want.kind) continue;
      if (want.target && d.target !== want.target) continue;
      const h = haystack[i];
      let ok = true;
      for (const t of terms) {
        if (!h.includes(t)) {
          ok = false;
          break;
        }
      }
      if (ok) matches.push(i);
    }
    state.matches = matches;
    state.shown = 0;
    ui.rows.replaceChildren();
    showMore();
    syncUrl();
    ui.status.dataset.filterMs = (performance.now() - started).toFixed(1);
  }

  function cell(tr, text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    tr.append(td);
    return td;
  }

  function row(d) {
    const tr = document.createElement('tr');
    cell(tr, d.target);
    cell(tr, d.kernelrelease ?? String(d.kernel ?? ''));
    cell(tr, d.kernelversion ?? '');
    cell(tr, d.arch);
    cell(tr, d.kind);
    cell(tr, d.size, 'num').title = `${d.sizebytes} bytes`;
    const file = cell(tr, '');
    const href = safeHref(d.download);
    if (href) {
      const a = document.createElement('a');
      a.href = href;
      a.textContent = d.name;
      file.append(a);
    } else {
      file.textContent = d.name;
    }
    const hash = cell(tr, d.sha256 ?? '', 'hash');
    hash.title = d.sha256 ?? '';
    return tr;
  }

  function showMore() {
    const { matches, drivers } = state;
    const end = Math.min(matches.length, state.shown + PAGE);
    const frag = document.createDocumentFragment();
    for (let i = state.shown; i < end; i++) frag.append(row(drivers[matches[i]]));
    ui.rows.append(frag);
    state.shown = end;
    ui.more.hidden = end >= matches.length;
    ui.more.textContent = `Show ${number.format(Math.min(PAGE, matches.length - end))} more`;
    const total = number.format(drivers.length);
    setStatus(
      matches.length === 0
        ? `No driver matches (${total} in ${state.lib}).`
        : `Showing ${number.format(end)} of ${number.format(matches.length)} matching drivers (${total} in ${state.lib}).`,
      { matches: matches.length, shown: end, total: drivers.length, state: 'ready' },
    );
  }

  function renderLinks(lib) {
    ui.links.replaceChildren();
    const json = document.createElement('a');
    json.href = jsonUrl(lib).href;
    json.textContent = `${lib}.json`;
    const folder = document.createElement('a');
    folder.href = new URL(`../${encodeURIComponent(lib)}/`, location.href).href;
    folder.textContent = 'browse files';
    ui.links.append('Index: ', json, ' · ', folder);
  }

  async function loadVersion(lib, wanted) {
    const token = ++state.loads;
    setStatus(`Loading ${lib}…`, { state: 'loading' });
    let doc;
    try {
      doc = await fetchJson(jsonUrl(lib));
    } catch (err) {
      if (token === state.loads) setStatus(`Could not load ${lib}: ${err.message}`, { state: 'error' });
      return;
    }
    if (token !== state.loads) return;
    const drivers = Array.isArray(doc?.drivers) ? doc.drivers : [];
    state.lib = lib;
    state.drivers = drivers;
    state.haystack = drivers.map((d) =>
      `${d.name} ${d.target} ${d.kernel} ${d.kernelrelease ?? ''} ${d.kernelversion ?? ''}`.toLowerCase(),
    );
    const index = doc?.index ?? {};
    for (const f of FILTERS) {
      const values = Array.isArray(index[f]) ? index[f] : [...new Set(drivers.map((d) => d[f]))].sort();
      fillSelect(ui[f], values, true, wanted[f] ?? ui[f].value);
    }
    renderLinks(lib);
    filter();
  }

  function debounce(fn, ms) {
    let timer;
    return () => {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  async function start() {
    ui.app.hidden = false;
    const params = new URLSearchParams(location.search);
    ui.search.value = params.get('search') ?? '';
    let versions;
    try {
      versions = await fetchJson(new URL('index.json', location.href));
    } catch (err) {
      setStatus(`Could not load the list of driver versions: ${err.message}`, { state: 'error' });
      return;
    }
    if (!Array.isArray(versions) || versions.length === 0) {
      setStatus('No drivers are published yet.', { state: 'ready', matches: 0 });
      return;
    }
    const lib = params.get('lib') || versions[0];
    fillSelect(ui.lib, versions, false, lib);
    const wanted = {};
    for (const f of FILTERS) wanted[f] = params.get(f) ?? '';
    ui.lib.addEventListener('change', () => loadVersion(ui.lib.value, {}));
    for (const f of FILTERS) ui[f].addEventListener('change', filter);
    ui.search.addEventListener('input', debounce(filter, DEBOUNCE_MS));
    ui.more.addEventListener('click', showMore);
    document.getElementById('filters').addEventListener('submit', (e) => {
      e.preventDefault();
      filter();
    });
    await loadVersion(lib, wanted);
  }

  start();
})();

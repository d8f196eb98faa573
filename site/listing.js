// pkgpub listings: progressive enhancement only. The page is complete without this script;
// it adds click-to-sort, a name filter, and the ?prefix= redirect of old bucket-listing links.
(() => {
  // On the root page, ?prefix=packages/deb/ leads to that folder even from a plain bucket.
  // Every segment is percent-encoded and the target stays relative to this page, so the
  // parameter can name a folder of this tree and nothing else.
  if (document.body.dataset.root === '1') {
    const prefix = new URLSearchParams(location.search).get('prefix');
    if (prefix) {
      const parts = prefix.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
      if (parts.length > 0) {
        location.replace(`${parts.map(encodeURIComponent).join('/')}/index.html`);
        return;
      }
    }
  }

  const table = document.getElementById('entries');
  if (!table) return;
  const tbody = table.tBodies[0];
  const rows = Array.from(tbody.querySelectorAll('tr[data-name]'));
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const keyOf = {
    name: (r) => r.dataset.name,
    size: (r) => Number(r.querySelector('td.exact')?.textContent ?? 0),
    mtime: (r) => r.querySelector('time')?.textContent ?? '',
  };
  let state = { by: 'name', dir: 1 };

  const sortRows = (by, dir) => {
    // Keys read once per sort, not once per comparison.
    const keys = new Map(rows.map((r) => [r, keyOf[by](r)]));
    const sorted = rows.slice().sort((a, b) => {
      // Folders stay above files, whatever the column.
      const fa = a.classList.contains('dir') ? 0 : 1;
      const fb = b.classList.contains('dir') ? 0 : 1;
      if (fa !== fb) return fa - fb;
      const x = keys.get(a);
      const y = keys.get(b);
      const c = by === 'size' ? x - y : by === 'name' ? collator.compare(x, y) : x < y ? -1 : x > y ? 1 : 0;
      return c * dir || collator.compare(a.dataset.name, b.dataset.name);
    });
    const frag = document.createDocumentFragment();
    for (const r of sorted) frag.appendChild(r);
    tbody.appendChild(frag);
    for (const th of table.tHead.rows[0].cells) {
      if (!th.dataset.sort) continue;
      const on = th.dataset.sort === by && !th.classList.contains('exact');
      if (on) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
    state = { by, dir };
  };

  for (const th of table.tHead.rows[0].cells) {
    const by = th.dataset.sort;
    if (!by) continue;
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = th.textContent;
    th.textContent = '';
    th.appendChild(b);
    b.addEventListener('click', () => {
      const dir = state.by === by ? -state.dir : by === 'name' ? 1 : -1;
      sortRows(by, dir);
      const u = new URL(location.href);
      u.searchParams.set('sort', by);
      u.searchParams.set('order', dir > 0 ? 'asc' : 'desc');
      history.replaceState(null, '', u);
    });
  }

  // A filter box above the table: hides rows whose name does not contain the text.
  const tools = document.createElement('div');
  tools.className = 'tools';
  const input = document.createElement('input');
  input.type = 'search';
  input.id = 'filter';
  input.placeholder = 'Filter by name';
  input.setAttribute('aria-label', 'Filter by name');
  const count = document.createElement('span');
  count.className = 'summary';
  count.setAttribute('role', 'status');
  tools.append(input, count);
  table.parentNode.insertBefore(tools, table);
  const applyFilter = () => {
    const q = input.value.trim().toLowerCase();
    let shown = 0;
    for (const r of rows) {
      const hit = q === '' || r.dataset.name.toLowerCase().includes(q);
      r.hidden = !hit;
      if (hit) shown++;
    }
    count.textContent = q === '' ? '' : `${shown} of ${rows.length} shown`;
  };
  input.addEventListener('input', applyFilter);

  const params = new URLSearchParams(location.search);
  const by = params.get('sort');
  if (by && keyOf[by]) sortRows(by, params.get('order') === 'desc' ? -1 : 1);
  const q = params.get('filter');
  if (q) {
    input.value = q;
    applyFilter();
  }
})();

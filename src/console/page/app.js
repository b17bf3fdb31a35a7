// ser-ari supervisor console: plain browser JavaScript, no build step.
// State comes from the event stream (/events): a hello snapshot on connect, then events.
// Commands go through the same /api an external system uses.
(() => {
  'use strict';

  const LABELS = ['ANG', 'DIS', 'FEA', 'HAP', 'NEU', 'SAD'];
  // Speech windows before the baseline and familiarity are established (src/emotion/tracker.ts), and the
  // familiarity below which the example rules do not act (config/rules.example.yaml).
  const BASELINE_WINDOWS = 5;
  const LOW_FAMILIARITY = 0.05;
  const WINDOW_SECONDS = 300;
  const TOKEN_KEY = 'ser-ari-token';
  const OUTCOME_ORDER = ['pending', 'failed', 'executed', 'cancelled', 'shadow', 'suppressed', 'proposed'];
  // Within one millisecond, the later step of an action's life: proposed comes first, a final outcome last.
  const OUTCOME_RANK = { proposed: 0, pending: 1, shadow: 2, suppressed: 2, executed: 3, failed: 3, cancelled: 3 };

  const $ = (id) => document.getElementById(id);
  const css = getComputedStyle(document.documentElement);
  const color = (label) => css.getPropertyValue(`--${label}`).trim() || '#888';

  /** callId -> call state */
  const calls = new Map();
  /** Ended calls opened from the history (callId -> call state built from GET /api/calls/:id). */
  const past = new Map();
  /** rule name -> { alert, readable, syntax, severity } from GET /api/rules */
  const rules = new Map();
  let supervisors = [];
  let recent = [];
  let selected = null;
  let ws = null;
  let retryMs = 1000;
  let renderQueued = false;
  let chart = null;
  let chartCallId = null;

  // ---------- token ----------
  function takeTokenFromUrl() {
    const url = new URL(location.href);
    const t = url.searchParams.get('token');
    if (t) {
      sessionStorage.setItem(TOKEN_KEY, t);
      url.searchParams.delete('token');
      history.replaceState(null, '', url.pathname + url.search + url.hash);
    }
  }
  const token = () => sessionStorage.getItem(TOKEN_KEY);
  const authHeaders = () => (token() ? { Authorization: `Bearer ${token()}` } : {});

  function askToken(message) {
    const dlg = $('login');
    $('login-error').hidden = !message;
    $('login-error').textContent = message || '';
    if (!dlg.open) dlg.showModal();
  }
  $('login-form').addEventListener('submit', () => {
    sessionStorage.setItem(TOKEN_KEY, $('login-token').value.trim());
    connect();
  });

  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: { ...authHeaders(), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401 || res.status === 403) {
      askToken(res.status === 403 ? 'That token was refused.' : '');
    }
    return { status: res.status, data };
  }

  // ---------- state ----------
  function callFrom(snapshot) {
    const c = {
      ...snapshot,
      timeline: [],
      actions: new Map(),
      alerts: new Map((snapshot.alerts || []).map((a) => [a.rule, a])),
      ended: false,
    };
    if (snapshot.lastEmotion) pushPoint(c, snapshot.lastEmotion);
    for (const p of snapshot.pending || []) c.actions.set(p.actionId, actionFromPending(p));
    return c;
  }

  function actionFromPending(p) {
    const { kind, ...params } = p.action;
    return { actionId: p.actionId, rule: p.rule, kind, params, outcome: 'pending', reason: null, dueAt: p.dueAt, ts: null };
  }

  /**
   * An action's state is its LATEST event. A pending action from a snapshot has no time (ts null) and
   * gives way to any event; an older event (e.g. the `proposed` in a history fetched after the
   * `executed` arrived live) never replaces a newer one.
   */
  function setAction(c, e) {
    const old = c.actions.get(e.actionId);
    if (old && old.ts && e.ts && Date.parse(old.ts) > Date.parse(e.ts)) return false;
    if (old && old.ts && e.ts && old.ts === e.ts && OUTCOME_RANK[old.outcome] > OUTCOME_RANK[e.outcome]) return false;
    c.actions.set(e.actionId, { actionId: e.actionId, rule: e.rule, kind: e.kind, params: e.params, outcome: e.outcome, reason: e.reason, dueAt: e.dueAt, ts: e.ts, shadow: e.shadow, decidedBy: e.decidedBy });
    c.actionsVersion = (c.actionsVersion || 0) + 1;
    return true;
  }

  function pushPoint(c, e) {
    const t = Date.parse(e.ts) / 1000;
    const last = c.timeline[c.timeline.length - 1];
    if (last && last.t >= t) return;
    c.timeline.push({ t, speech: e.speech, negativity: e.negativity, probs: e.probs });
    const cutoff = t - WINDOW_SECONDS;
    while (c.timeline.length && c.timeline[0].t < cutoff) c.timeline.shift();
  }

  function onHello(msg) {
    const keep = new Map(calls);
    calls.clear();
    for (const s of msg.calls) {
      const c = callFrom(s);
      const old = keep.get(s.callId);
      if (old) {
        c.timeline = old.timeline;
        for (const [id, a] of old.actions) if (!c.actions.has(id) && a.outcome !== 'pending') c.actions.set(id, a);
      }
      calls.set(s.callId, c);
    }
    if (selected && !calls.has(selected)) selected = null;
    if (selected) loadHistory(selected);
    $('gap').hidden = true;
    loadRecentActions();
    loadRules();
    loadRecent();
  }

  /** What happened to each live call's actions before this page connected (executed, suppressed...). */
  async function loadRecentActions() {
    const { status, data } = await api('GET', '/api/actions');
    if (status !== 200) return;
    for (const a of data.actions) {
      const c = calls.get(a.callId);
      if (c) setAction(c, a);
    }
    schedule();
  }

  function onEvent(e) {
    if (e.type === 'hello') return onHello(e);
    if (e.type === 'gap') {
      $('gap').hidden = false;
      $('gap').textContent = `${e.dropped} events were dropped while this page fell behind; reloading the call list.`;
      resync();
      return;
    }
    let c = calls.get(e.callId);
    switch (e.type) {
      case 'call.started':
        calls.set(e.callId, callFrom({ ...e, agent: null, startedAt: e.ts, inStasis: true, tapped: false, priority: null, lastEmotion: null, pending: [], alerts: [] }));
        break;
      case 'call.ended':
        if (!c) break;
        c.ended = true;
        for (const a of c.actions.values()) if (a.outcome === 'pending') a.outcome = 'cancelled';
        // Keep the row a little while so a supervisor sees it go, then forget it.
        // An open detail stays open: the call is then read back from the history.
        setTimeout(() => {
          calls.delete(e.callId);
          if (selected === e.callId) openPast(e.callId);
          schedule();
        }, 8000);
        loadRecent();
        break;
      case 'call.phase':
        if (c) Object.assign(c, { phase: e.phase, queue: e.queue, agent: e.agent });
        break;
      case 'tap':
        if (c) c.tapped = e.state === 'tapped';
        break;
      case 'queue.position':
        if (c) Object.assign(c, { queue: e.queue, position: e.position, priority: e.priority, waiting: e.waiting });
        break;
      case 'emotion':
        if (!c) break;
        c.lastEmotion = e;
        pushPoint(c, e);
        break;
      case 'alert':
        if (!c) break;
        if (e.state === 'raised') c.alerts.set(e.rule, { rule: e.rule, message: e.message, since: e.ts });
        else c.alerts.delete(e.rule);
        (c.alertLog ||= []).push(e);
        break;
      case 'action':
        if (c) setAction(c, e);
        break;
      default:
        break;
    }
    schedule();
  }

  async function resync() {
    const { status, data } = await api('GET', '/api/calls');
    if (status === 200) onHello({ calls: data.calls });
    schedule();
  }

  async function loadHistory(callId) {
    const { status, data } = await api('GET', `/api/calls/${encodeURIComponent(callId)}`);
    const c = calls.get(callId);
    if (status !== 200 || !c) return;
    const merged = new Map();
    for (const p of data.history.timeline) merged.set(Date.parse(p.ts) / 1000, { t: Date.parse(p.ts) / 1000, speech: p.speech, negativity: p.negativity, probs: p.probs });
    for (const p of c.timeline) merged.set(p.t, p);
    c.timeline = [...merged.values()].sort((a, b) => a.t - b.t);
    for (const a of data.history.actions) setAction(c, a); // oldest first: the latest event wins
    c.alertLog = data.history.alerts;
    c.actionsVersion = (c.actionsVersion || 0) + 1;
    schedule();
  }

  // ---------- connection ----------
  function setConn(state, text) {
    const el = $('conn');
    el.dataset.state = state;
    el.textContent = text;
    el.className = `pill ${state === 'live' ? 'pill-ok' : state === 'down' ? 'pill-bad' : 'pill-wait'}`;
  }

  async function connect() {
    if (ws) {
      ws.onclose = null;
      ws.close();
      ws = null;
    }
    setConn('connecting', 'connecting…');
    // A WebSocket handshake refused with 401 looks like any other failure to the page: ask the API first.
    let check;
    try {
      check = await api('GET', '/api/calls');
    } catch {
      return retry();
    }
    if (check.status === 401 || check.status === 403) {
      setConn('down', 'signed out');
      return;
    }
    const q = token() ? `?token=${encodeURIComponent(token())}` : '';
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const sock = new WebSocket(`${proto}://${location.host}/events${q}`);
    ws = sock;
    sock.onopen = () => {
      retryMs = 1000;
      setConn('live', 'live');
    };
    sock.onmessage = (m) => {
      try {
        onEvent(JSON.parse(m.data));
      } catch (err) {
        console.error('bad event', err);
      }
    };
    sock.onclose = () => {
      if (ws === sock) retry();
    };
  }

  function retry() {
    setConn('down', `reconnecting in ${Math.round(retryMs / 1000)} s`);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  }

  async function pollHealth() {
    try {
      const res = await fetch('/healthz');
      const h = await res.json();
      const el = $('health');
      el.textContent = `health: ${h.status}`;
      el.className = `pill ${h.status === 'ok' ? 'pill-ok' : h.status === 'degraded' ? 'pill-wait' : 'pill-bad'}`;
      el.title = `ARI ${h.ari.connected ? 'connected' : 'disconnected'} (${h.ari.reconnects} reconnects) · model ${h.model.loaded ? h.model.name : 'not loaded'} · RTP ports ${h.ports.free}/${h.ports.total} free`;
    } catch {
      $('health').textContent = 'health: unreachable';
      $('health').className = 'pill pill-bad';
    }
  }

  // ---------- rendering ----------
  function schedule() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      render();
    });
  }

  const el = (tag, attrs = {}, ...children) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') n.className = v;
      else if (k === 'style') n.style.cssText = v;
      else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) n.append(c);
    return n;
  };
  const pct = (p) => `${Math.round(p * 100)}%`;
  // One time format everywhere, the chart included: 24-hour HH:MM:SS, local time.
  const two = (n) => String(n).padStart(2, '0');
  const hms = (d) => `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const clock = (iso) => hms(new Date(iso));
  const dayClock = (iso) => {
    const d = new Date(iso);
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${hms(d)}`;
  };
  /** An alert in words (from the rule), with the rule's syntax for a hover. */
  const alertText = (a) => {
    const r = rules.get(a.rule);
    return r ? { text: r.alert.charAt(0).toUpperCase() + r.alert.slice(1), detail: r.readable, title: `${a.rule}: ${r.syntax}` } : { text: a.rule, detail: a.message, title: a.message };
  };
  const severity = (c) => Math.max(0, ...[...c.alerts.keys()].map((rule) => rules.get(rule)?.severity ?? 1));
  /** Needs attention first: pending actions (soonest first), then alerts by severity, then the rest; ended last. */
  const attention = (a, b) => {
    if (a.ended !== b.ended) return a.ended ? 1 : -1;
    const pa = pendingOf(a)[0];
    const pb = pendingOf(b)[0];
    if (!!pa !== !!pb) return pa ? -1 : 1;
    if (pa && pb && dueMs(pa) !== dueMs(pb)) return dueMs(pa) - dueMs(pb);
    const sa = severity(a);
    const sb = severity(b);
    if (sa !== sb) return sb - sa;
    if (a.alerts.size !== b.alerts.size) return b.alerts.size - a.alerts.size;
    return Date.parse(a.startedAt) - Date.parse(b.startedAt);
  };
  const duration = (iso) => {
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  const callerOf = (c) => c.callerName || c.callerNumber || 'unknown caller';
  const negClass = (n) => (n >= 0.7 ? 'neg high' : n >= 0.5 ? 'neg mid' : 'neg');
  // Action events carry the rule engine's flattened params (a transfer's target, setVars' variables);
  // a PendingAction from the hello carries the ActionSpec: both shapes are read here.
  const describeAction = (a) => {
    const p = a.params || {};
    switch (a.kind) {
      case 'hangup': return p.warn ? `hang up after warning (${p.warn.graceSeconds} s)` : 'hang up';
      case 'transfer': {
        const t = p.target || p;
        return `transfer to ${t.queue ?? (t.agent ? `agent ${t.agent}` : `${t.context}/${t.extension}`)}`;
      }
      case 'priority': return p.set !== undefined ? `priority = ${p.set}` : `priority ${p.add >= 0 ? '+' : ''}${p.add}`;
      case 'play': return `play ${p.media}`;
      case 'setVars': return `set ${Object.keys(p.vars || p).join(', ')}`;
      default: return a.kind;
    }
  };

  function vbars(probs, speech) {
    const wrap = el('div', { class: 'vbars-wrap' });
    const bars = el('div', { class: 'vbars' });
    const labels = el('div', { class: 'vlabels' });
    for (const l of LABELS) {
      const p = probs ? probs[l] ?? 0 : 0;
      bars.append(el('span', { class: `vbar${speech ? '' : ' dim'}`, 'data-label': l, 'data-value': p.toFixed(3), title: `${l} ${pct(p)}`, style: `--c:${color(l)}` }, el('i', { style: `height:${Math.max(1, p * 100)}%` })));
      labels.append(el('span', {}, l[0]));
    }
    wrap.append(bars, labels);
    return wrap;
  }

  function renderTable() {
    const tbody = document.querySelector('#calls tbody');
    const rows = [...calls.values()].sort(attention);
    $('no-calls').hidden = rows.length > 0;
    const live = rows.filter((c) => !c.ended).length;
    $('live-count').textContent = `${live} live call${live === 1 ? '' : 's'}`;
    const existing = new Map([...tbody.children].map((tr) => [tr.dataset.callId, tr]));
    for (const c of rows) {
      let tr = existing.get(c.callId);
      existing.delete(c.callId);
      if (!tr) {
        // Reachable by Tab, opened with Enter (or Space), like a button.
        tr = el('tr', { 'data-call-id': c.callId, tabindex: '0', 'aria-label': `Open call ${callerOf(c)}`, onclick: () => select(c.callId) });
        tr.addEventListener('keydown', (ev) => {
          if (ev.target !== tr || (ev.key !== 'Enter' && ev.key !== ' ')) return;
          ev.preventDefault();
          select(c.callId);
        });
        for (let i = 0; i < 8; i++) tr.append(el('td'));
        tr.children[3].className = 'num';
        tr.children[5].className = 'num';
      }
      tbody.append(tr); // keeps the sorted order
      tr.classList.toggle('selected', c.callId === selected);
      tr.setAttribute('aria-current', c.callId === selected ? 'true' : 'false');
      tr.classList.toggle('ended', c.ended);
      const [caller, phase, where, time, emo, neg, alerts, actions] = tr.children;
      caller.replaceChildren(el('div', { class: 'caller' }, callerOf(c), el('small', {}, c.callerName && c.callerNumber ? c.callerNumber : c.channelName)));
      phase.textContent = c.ended ? 'ended' : c.phase;
      where.textContent = c.agent ? `agent ${c.agent}` : c.queue ? `${c.queue}${c.position ? ` #${c.position}` : ''}` : '—';
      time.textContent = duration(c.startedAt);
      const e = c.lastEmotion;
      const emoKey = e ? `${e.seq}` : '';
      if (emo.dataset.key !== emoKey) {
        emo.dataset.key = emoKey;
        emo.replaceChildren(e ? vbars(e.probs, e.speech) : el('span', { class: 'empty-row' }, c.tapped ? 'listening…' : '—'));
        emo.title = e ? `${e.dominant} ${pct(e.confidence)}` : '';
      }
      neg.replaceChildren(e ? el('span', { class: negClass(e.negativity) }, pct(e.negativity)) : '');
      const alertKey = [...c.alerts.keys()].join(',') + `:${rules.size}`;
      if (alerts.dataset.key !== alertKey) {
        alerts.dataset.key = alertKey;
        alerts.replaceChildren(
          ...[...c.alerts.values()].map((a) => {
            const t = alertText(a);
            return el('span', { class: `badge badge-alert sev-${rules.get(a.rule)?.severity ?? 1}`, title: `${t.detail}\n${t.title}`, 'data-rule': a.rule }, t.text);
          }),
        );
      }
      renderRowActions(c, actions);
    }
    for (const tr of existing.values()) tr.remove();
  }

  /**
   * The row's Actions cell: each pending action with its live countdown and a Cancel button, then the
   * last executed one. Rebuilt only when the actions change (a Cancel button is not replaced under the
   * pointer); the countdowns are updated in place every second.
   */
  function renderRowActions(c, cell) {
    const pending = pendingOf(c);
    const lastExec = [...c.actions.values()].filter((a) => a.outcome === 'executed').sort((a, b) => String(a.ts).localeCompare(String(b.ts))).pop();
    const key = `${c.actionsVersion || 0}:${c.actions.size}:${c.ended}`;
    if (cell.dataset.key !== key) {
      cell.dataset.key = key;
      cell.replaceChildren(
        ...pending.map((a) =>
          el('div', { class: 'pending-row', 'data-pending': a.actionId },
            el('span', { class: 'badge badge-pending' }, describeAction(a), ' ', el('b', { class: 'countdown', 'data-due': a.dueAt || '' })),
            c.ended ? null : cancelButton(a, cell)),
        ),
        ...(lastExec ? [el('span', { class: 'badge badge-executed', title: `executed ${clock(lastExec.ts)} · ${lastExec.rule}` }, describeAction(lastExec))] : []),
      );
    }
    for (const cd of cell.querySelectorAll('.countdown')) cd.textContent = countdown(cd.dataset.due);
  }

  const pendingOf = (c) => [...c.actions.values()].filter((a) => a.outcome === 'pending').sort((a, b) => dueMs(a) - dueMs(b));
  // A pending action without a due time is still playing its warning: it comes after those counting down.
  const dueMs = (a) => (a.dueAt ? Date.parse(a.dueAt) : Number.MAX_SAFE_INTEGER);
  const countdown = (due) => {
    if (!due) return 'warning…';
    const s = Math.max(0, Math.ceil((Date.parse(due) - Date.now()) / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };

  /** Cancel for a pending action; `where` receives the refusal, if any. The row's click is not triggered. */
  function cancelButton(a, where) {
    const btn = el('button', { type: 'button', class: 'secondary', 'aria-label': `Cancel ${describeAction(a)}` }, 'Cancel');
    btn.addEventListener('click', async (ev) => {
      ev.stopPropagation();
      btn.disabled = true;
      btn.textContent = 'Cancelling…';
      const { status, data } = await api('POST', `/api/actions/${encodeURIComponent(a.actionId)}/cancel`, { by: 'console' });
      if (status !== 200) {
        btn.disabled = false;
        btn.textContent = 'Cancel';
        where.append(el('span', { class: 'why error' }, data.error?.message || `refused (${status})`));
      }
    });
    btn.addEventListener('keydown', (ev) => ev.stopPropagation());
    return btn;
  }

  function select(callId) {
    selected = callId;
    chartCallId = null;
    renderedActions = null;
    loadHistory(callId);
    schedule();
  }
  $('d-close').addEventListener('click', () => {
    selected = null;
    schedule();
  });

  let renderedActions = null;

  // The caller's own baseline: their mean negativity over their speech so far, and how far they are from it now.
  function baselineText(e) {
    if (!e || e.baselineWindows == null) return '—';
    if (e.baselineWindows < BASELINE_WINDOWS || e.baselineNegativity == null) return `forming (${e.baselineWindows} of ${BASELINE_WINDOWS} speech windows)`;
    const points = Math.round((e.negativity - e.baselineNegativity) * 100);
    return `usual negativity ${pct(e.baselineNegativity)}, now ${points >= 0 ? '+' : '−'}${Math.abs(points)} points`;
  }

  // Low familiarity: a voice or line unlike those the model was measured on, where its scores are less reliable.
  function familiarityText(e) {
    if (!e) return '—';
    if (e.familiarity == null) return (e.baselineWindows ?? 0) < BASELINE_WINDOWS ? `not yet (${BASELINE_WINDOWS} speech windows)` : 'not measured for this model';
    return e.familiarity < LOW_FAMILIARITY ? `low (${pct(e.familiarity)}): scores less reliable` : pct(e.familiarity);
  }

  function renderDetail() {
    const c = selected ? calls.get(selected) ?? past.get(selected) : null;
    $('detail').hidden = !c;
    if (!c) {
      if (chart) {
        chart.destroy();
        chart = null;
      }
      return;
    }
    $('d-title').textContent = callerOf(c);
    $('d-ended').hidden = !c.ended;
    const meta = [
      ['Number', c.callerNumber || '—'], ['Phase', c.phase],
      ['Queue', c.queue || '—'], ['Agent', c.agent || '—'],
      ['Priority', c.priority ?? '—'], ['Mode', c.mode],
      ['Started', dayClock(c.startedAt)], c.endedAt ? ['Ended', `${clock(c.endedAt)} · ${c.endReason || ''}`] : ['Tap', c.tapped ? 'listening' : 'not tapped'],
      ['Baseline', baselineText(c.lastEmotion)], ['Voice familiarity', familiarityText(c.lastEmotion)],
    ];
    $('d-chart-title').textContent = c.ended && c.endedAt ? 'Whole call' : 'Last 5 minutes';
    $('listen').hidden = c.ended || supervisors.length === 0;
    $('force').hidden = c.ended;
    $('force-title').hidden = c.ended;
    $('d-meta').replaceChildren(...meta.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))]));

    const e = c.lastEmotion;
    $('d-bars').replaceChildren(
      ...LABELS.flatMap((l) => {
        const p = e ? e.probs[l] ?? 0 : 0;
        return [
          el('span', { class: 'lab' }, l),
          el('div', { class: 'track', style: `--c:${color(l)}`, 'data-label': l, 'data-value': p.toFixed(3) }, el('i', { style: `width:${p * 100}%` })),
          el('span', { class: 'val' }, e ? pct(p) : '—'),
        ];
      }),
    );

    renderChart(c);

    const alertLog = (c.alertLog || []).slice(-20).reverse();
    $('d-alerts').replaceChildren(
      ...(alertLog.length
        ? alertLog.map((a) => {
            const t = alertText(a);
            return el('li', { title: t.title }, el('span', { class: 'when' }, clock(a.ts)), el('span', { class: `badge ${a.state === 'raised' ? 'badge-alert' : ''}` }, a.state), el('b', {}, t.text), el('span', {}, a.state === 'raised' ? t.detail : a.message));
          })
        : [el('li', { class: 'empty-row' }, 'No alerts.')]),
    );

    // Rebuilt only when an action changes, so a Cancel button is not replaced under the pointer.
    const version = `${c.callId}:${c.actionsVersion || 0}:${c.actions.size}:${c.ended}`;
    if (renderedActions !== version) {
      renderedActions = version;
      const list = [...c.actions.values()].sort((a, b) => OUTCOME_ORDER.indexOf(a.outcome) - OUTCOME_ORDER.indexOf(b.outcome) || String(b.ts).localeCompare(String(a.ts)));
      $('d-actions').replaceChildren(
        ...(list.length ? list.map((a) => actionItem(c, a)) : [el('li', { class: 'empty-row' }, 'No actions.')]),
      );
    }
    for (const due of document.querySelectorAll('#d-actions [data-due]')) {
      const s = Math.max(0, Math.ceil((Date.parse(due.dataset.due) - Date.now()) / 1000));
      due.textContent = `in ${s} s`;
    }
  }

  function actionItem(c, a) {
    const li = el(
      'li',
      { 'data-action-id': a.actionId, 'data-outcome': a.outcome },
      el('span', { class: `badge badge-${a.outcome}` }, a.outcome),
      el('b', {}, describeAction(a)),
      el('span', { class: 'when' }, a.rule),
      a.outcome === 'pending' && a.dueAt ? el('span', { class: 'when', 'data-due': a.dueAt }) : null,
      a.ts ? el('span', { class: 'when' }, clock(a.ts)) : null,
      a.decidedBy ? el('span', { class: 'when', title: 'who decided' }, a.decidedBy) : null,
    );
    if (a.outcome === 'pending' && !c.ended) li.append(cancelButton(a, li));
    if (a.reason) li.append(el('span', { class: 'why' }, a.reason));
    return li;
  }

  function chartData(c) {
    const xs = [];
    const neg = [];
    const per = LABELS.map(() => []);
    for (const p of c.timeline) {
      xs.push(p.t);
      neg.push(p.negativity);
      LABELS.forEach((l, i) => per[i].push(p.probs[l] ?? null));
    }
    return [xs, neg, ...per];
  }

  function renderChart(c) {
    const box = $('d-chart');
    const width = Math.max(300, box.clientWidth || 400);
    if (!chart || chartCallId !== c.callId) {
      if (chart) chart.destroy();
      chartCallId = c.callId;
      chart = new uPlot(
        {
          width,
          height: 220,
          scales: { x: { time: true }, y: { range: [0, 1] } },
          axes: [
            { stroke: '#6b7785', values: (u, v) => v.map((t) => hms(new Date(t * 1000))) },
            { stroke: '#6b7785', values: (u, v) => v.map((x) => `${Math.round(x * 100)}%`) },
          ],
          series: [
            { value: (u, t) => (t == null ? '—' : hms(new Date(t * 1000))) },
            { label: 'negativity', stroke: '#1f2933', width: 2.5, points: { show: false } },
            ...LABELS.map((l) => ({ label: l, stroke: color(l), width: 1.2, points: { show: false } })),
          ],
          legend: { live: false },
          cursor: { drag: { x: false, y: false } },
        },
        chartData(c),
        box,
      );
      return;
    }
    if (chart.width !== width) chart.setSize({ width, height: 220 });
    const data = chartData(c);
    if (c.ended) {
      if (data[0].length !== chart.data[0].length) chart.setData(data, true);
      return;
    }
    if (data[0].length !== chart.data[0].length || data[0][data[0].length - 1] !== chart.data[0][chart.data[0].length - 1]) {
      const now = Date.now() / 1000;
      chart.setData(data, false);
      chart.setScale('x', { min: Math.max(now - WINDOW_SECONDS, data[0][0] ?? now - 60), max: now });
    }
  }

  function render() {
    renderTable();
    renderDetail();
  }

  // ---------- history: ended calls ----------
  async function loadRecent() {
    const { status, data } = await api('GET', '/api/calls?state=ended&limit=15');
    if (status !== 200) return;
    recent = data.calls;
    renderRecent();
  }

  function renderRecent() {
    $('recent-section').hidden = recent.length === 0;
    $('recent').replaceChildren(
      ...recent.map((r) => {
        const li = el(
          'li',
          { tabindex: '0', 'data-call-id': r.callId, class: r.callId === selected ? 'selected' : '', onclick: () => openPast(r.callId) },
          el('span', { class: 'when' }, dayClock(r.startedAt)),
          el('b', {}, r.callerName || r.callerNumber || r.channelName),
          el('span', {}, `${Math.round(r.durationSeconds ?? 0)} s`),
          r.dominant ? el('span', { class: 'badge', style: `color:${color(r.dominant)}` }, r.dominant) : null,
          r.peakNegativity != null ? el('span', { class: negClass(r.peakNegativity) }, `peak ${pct(r.peakNegativity)}`) : null,
          el('span', { class: 'when' }, r.endReason || ''),
        );
        li.addEventListener('keydown', (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') (ev.preventDefault(), openPast(r.callId));
        });
        return li;
      }),
    );
  }

  /** Opens an ended call from the history database (GET /api/calls/:id answers it after the end). */
  async function openPast(callId) {
    const { status, data } = await api('GET', `/api/calls/${encodeURIComponent(callId)}`);
    if (status !== 200) {
      if (selected === callId) selected = null;
      schedule();
      return;
    }
    const r = data.call;
    const c = {
      ...r,
      ended: r.state === 'ended',
      tapped: false,
      alerts: new Map(),
      actions: new Map(),
      timeline: data.history.timeline.map((p) => ({ t: Date.parse(p.ts) / 1000, speech: p.speech, negativity: p.negativity, probs: p.probs })),
      alertLog: data.history.alerts,
      lastEmotion: null,
    };
    const lastPoint = data.history.timeline[data.history.timeline.length - 1];
    if (lastPoint) c.lastEmotion = { ...lastPoint, seq: 0, dominant: r.dominant, confidence: 0 };
    for (const a of data.history.actions) setAction(c, a);
    if (!c.ended && calls.has(callId)) return select(callId);
    past.set(callId, c);
    selected = callId;
    chartCallId = null;
    renderedActions = null;
    renderRecent();
    schedule();
  }

  async function loadRules() {
    const [r, s] = await Promise.all([api('GET', '/api/rules'), api('GET', '/api/supervisors')]);
    if (r.status === 200) for (const rule of r.data.rules) rules.set(rule.name, rule);
    if (s.status === 200) {
      supervisors = s.data.supervisors;
      $('listen-to').replaceChildren(...supervisors.map((sup) => el('option', { value: sup }, sup)));
    }
    schedule();
  }

  // The export needs the token header: fetched, then saved from a blob.
  for (const a of document.querySelectorAll('[data-export]')) {
    a.addEventListener('click', async (ev) => {
      ev.preventDefault();
      const res = await fetch(`/api/export/calls?format=${a.dataset.export}`, { headers: authHeaders() });
      if (!res.ok) return;
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '')?.[1] || `ser-calls.${a.dataset.export}`;
      const link = el('a', { href: URL.createObjectURL(await res.blob()), download: name });
      link.click();
      URL.revokeObjectURL(link.href);
    });
  }

  // ---------- listen in ----------
  $('listen').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!selected || !calls.has(selected)) return;
    const out = $('listen-result');
    out.className = 'result';
    out.textContent = `ringing ${$('listen-to').value}…`;
    const body = { supervisor: $('listen-to').value, spy: $('listen-spy').value, by: 'console' };
    const { status, data } = await api('POST', `/api/calls/${encodeURIComponent(selected)}/listen`, body);
    out.className = status === 200 ? 'result' : 'result error';
    out.textContent = status === 200 ? `listening on ${body.supervisor}` : data.error?.message || `refused (${status})`;
  });

  // ---------- force form ----------
  const form = $('force');
  const showFields = () => {
    for (const l of form.querySelectorAll('label[data-for]')) l.hidden = l.dataset.for !== form.kind.value;
  };
  form.kind.addEventListener('change', showFields);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!selected) return;
    const kind = form.kind.value;
    let action;
    if (kind === 'priority') action = { kind, add: Number(form.add.value) };
    else if (kind === 'transfer') action = { kind, target: { queue: form.queue.value.trim() } };
    else action = { kind, cause: 'normal', ...(form.warn.checked ? { warn: { media: 'sound:ser-warning', graceSeconds: Number(form.grace.value) } } : {}) };
    if (kind === 'hangup' && !form.warn.checked && !confirm(`Hang up ${callerOf(calls.get(selected))} now?`)) return;
    const out = $('force-result');
    out.className = 'result';
    out.textContent = 'sending…';
    const { status, data } = await api('POST', `/api/calls/${encodeURIComponent(selected)}/actions`, { ...action, by: 'console' });
    out.className = status === 200 ? 'result' : 'result error';
    out.textContent = status === 200 ? 'done' : data.error?.message || `refused (${status})`;
  });

  // ---------- start ----------
  takeTokenFromUrl();
  showFields();
  connect();
  pollHealth();
  setInterval(pollHealth, 10000);
  setInterval(schedule, 1000); // durations and countdowns
  window.addEventListener('resize', schedule);
})();

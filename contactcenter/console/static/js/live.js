// The live feed (GET /api/stream/live): server-sent events read with fetch, so a pasted token
// travels in the Authorization header (EventSource cannot send one and a token in a URL
// ends up in logs); the session cookie goes by itself. Reconnects by itself with Last-Event-ID; on `ready` and `resync` the
// screens refetch from the API, so nothing missed while disconnected stays missing.

import {authHeaders} from './api.js';

export function connectLive({onEvent, onSync, onState}) {
  let lastId = null;
  let stopped = false;
  let controller = null;
  let retryMs = 3000;
  let attempt = 0;
  let lastByteAt = Date.now();

  // A connection that went silent (no heartbeat for 40 s) or a browser that went offline is
  // dropped at once, so the console says "Reconectando…" instead of looking live.
  const SILENCE_MS = 40000;
  const watchdog = setInterval(() => {
    if (Date.now() - lastByteAt > SILENCE_MS) controller?.abort();
  }, 5000);
  const goneOffline = () => controller?.abort();
  window.addEventListener('offline', goneOffline);

  async function run() {
    while (!stopped) {
      controller = new AbortController();
      lastByteAt = Date.now();
      try {
        const headers = {...authHeaders('GET'), Accept: 'text/event-stream'};
        if (lastId) headers['Last-Event-ID'] = lastId;
        const response = await fetch('/api/stream/live', {headers, signal: controller.signal, cache: 'no-store'});
        if (response.status === 401) {
          window.dispatchEvent(new CustomEvent('consola:unauthorized'));
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        await read(response.body);
      } catch (error) {
        if (stopped) return;
      }
      if (stopped) return;
      attempt += 1;
      // Until the platform answers again, screens keep what they show (and say so).
      onState('reconnecting');
      // The server's `retry`, growing while the platform stays away (at most 30 s).
      await new Promise((resolve) => setTimeout(resolve, Math.min(retryMs * attempt, 30000)));
    }
  }

  async function read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      lastByteAt = Date.now();
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        dispatch(frame);
      }
    }
  }

  function dispatch(frame) {
    let event = 'message';
    let id = null;
    const data = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue; // heartbeat
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
    }
    if (id) lastId = id;
    if (event === 'ready') {
      attempt = 0;
      onState('live');
      onSync();
    } else if (event === 'resync') {
      onSync();
    } else if (event === 'conversation' && data.length) {
      try { onEvent(JSON.parse(data.join('\n'))); } catch { /* ignore a bad frame */ }
    }
  }

  run();
  return {
    stop() {
      stopped = true;
      clearInterval(watchdog);
      window.removeEventListener('offline', goneOffline);
      controller?.abort();
    },
  };
}

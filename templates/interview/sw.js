// Minyi interviewer service worker ({{ version }}): keeps the interviewer's
// page and its files so the page opens and works without a network. The page
// comes from the network when it can (fresh quotas) and from the cache when
// it cannot; the questionnaires themselves wait in IndexedDB (interview.js).
"use strict";
const CACHE = "minyi-interview-{{ version }}";
const SHELL = {{ shell | tojson }};
const ASSETS = {{ assets | tojson }};
const NETWORK_WAIT_MS = 5000;

// The page itself is kept at install too: the page that registered the
// worker was not served through it, and a volunteer may go offline at once.
async function install() {
  const cache = await caches.open(CACHE);
  await cache.addAll(ASSETS);
  try {
    const page = await fetch(SHELL, { credentials: "same-origin" });
    if (page.ok) await cache.put(SHELL, page);
  } catch (e) { /* kept on the next visit */ }
}

self.addEventListener("install", (event) => {
  event.waitUntil(install().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("minyi-interview-") && k !== CACHE)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function fetchWithin(request, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    fetch(request).then((r) => { clearTimeout(timer); resolve(r); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetchWithin(request, NETWORK_WAIT_MS);
    if (response.ok) {
      await cache.put(SHELL, response.clone());
      return response;
    }
    if (response.status < 500) return response;  // signed out: say so
  } catch (e) { /* offline or too slow: the kept page */ }
  const kept = await cache.match(SHELL);
  return kept || Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === SHELL) {
    event.respondWith(page(request));
  } else if (ASSETS.indexOf(url.pathname + url.search) >= 0) {
    event.respondWith(caches.match(request).then((kept) => kept || fetch(request)));
  }
});

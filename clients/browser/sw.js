// The demo page's service worker: keeps the page's own files (the app shell under /client/) so the
// page opens and reloads with the network cut; its queued edits come from localStorage. Requests to
// the API (/models, /feeds, /search) are never answered from here: they reach the server or fail,
// and the replica queues. Network first, so a page online always gets the server's current files.

const SHELL = 'unbundled-shell-v1';
const FILES = ['app.js', 'app.css', 'unbundled-client.js', 'commands.js', 'problems.js', 'retry.js', 'model-api.js', 'feed.js', 'lists.js', 'todo-view.js', 'search.js'];

// The page loaded before this worker ran, so its files are fetched once more into the cache here.
self.addEventListener('install', (event) => {
  // API requests bypass this worker altogether where the browser can route them (Static Routing API):
  // a fetch event per flush and feed request is a round trip to another process, paid on every edit.
  event.addRoutes?.(['/models/*', '/feeds/*', '/search/*', '/views/*', '/auth/*'].map((pathname) =>
    ({ condition: { urlPattern: new URLPattern({ pathname }) }, source: 'network' })))?.catch?.(() => {});
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    await cache.addAll(['/client/', ...FILES.map((file) => `/client/${file}`)]);
    await self.skipWaiting();
  })());
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || !url.pathname.startsWith('/client/')) return;
  event.respondWith((async () => {
    const cache = await caches.open(SHELL);
    try {
      const response = await fetch(event.request);
      if (response.ok) await cache.put(event.request, response.clone());
      return response;
    } catch (error) {
      return (await cache.match(event.request, { ignoreSearch: true })) ?? Promise.reject(error);
    }
  })());
});

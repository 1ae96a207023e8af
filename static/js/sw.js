// Arigato Board's service worker (served at /sw.js so that its scope is the whole site).
// - Pages always come from the network; none is stored (the board's pages are personal, and
//   a phone may be shared). Without a network a page asked for gets the offline page, kept
//   with its stylesheets and icon when the worker is installed.
// - Web Push: a push carries a title and a link only (never a customer's words); a click on
//   the notification opens the link in a window of the board (an open one if there is one).
"use strict";

var CACHE = "arigato-offline-v1";
var OFFLINE_URL = "/offline";
var OFFLINE_ASSETS = [
  OFFLINE_URL,
  "/static/vendor/pico/pico.min.css",
  "/static/css/app.css",
  "/static/favicon.svg",
  "/static/icons/icon-192.png",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      // The offline page in the language of the person installing (their cookie goes along).
      return cache.addAll(OFFLINE_ASSETS.map(function (url) {
        return new Request(url, { credentials: "same-origin", cache: "reload" });
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name !== CACHE; })
        .map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.match(OFFLINE_URL);
    }));
    return;
  }
  if (OFFLINE_ASSETS.indexOf(url.pathname) !== -1) {
    // Network first (a deploy's new stylesheet wins); the kept copy when offline.
    event.respondWith(fetch(request).catch(function () {
      return caches.match(url.pathname);
    }));
  }
});

// A push's data: {"title": "...", "url": "/posts/12", "tag": "..."} (app/services/push).
function pushData(event) {
  if (!event.data) return {};
  try {
    return event.data.json();
  } catch (e) {
    return { title: event.data.text() };
  }
}

function sameOriginPath(link) {
  try {
    var url = new URL(link || "/", self.location.origin);
    return url.origin === self.location.origin ? url.pathname + url.search + url.hash : "/";
  } catch (e) {
    return "/";
  }
}

self.addEventListener("push", function (event) {
  var data = pushData(event);
  var title = data.title || "Arigato Board";
  event.waitUntil(self.registration.showNotification(title, {
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-maskable-192.png",
    tag: data.tag || undefined,
    data: { url: sameOriginPath(data.url) },
  }));
});

// A click opens the notification's link: in a window of the board if one is open (it is
// navigated there, then focused), else in a new one. Only the board's own addresses.
function onNotificationClick(event) {
  event.notification.close();
  var path = (event.notification.data && event.notification.data.url) || "/";
  var target = new URL(sameOriginPath(path), self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window" }).then(function (list) {  // pages it controls
      var client = list.filter(function (c) { return "navigate" in c; })[0];
      if (!client) return self.clients.openWindow(target);
      return client.navigate(target).then(function (navigated) {
        var shown = navigated || client;
        return shown.focus ? shown.focus().catch(function () { return shown; }) : shown;
      });
    })
  );
}
self.addEventListener("notificationclick", onNotificationClick);
